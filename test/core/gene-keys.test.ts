// Genes matched by a chosen var column: a CELLxGENE-like reference (Ensembl IDs as var_names,
// symbols in var['feature_name']) against the demo's symbol-indexed query, written by real
// anndata. Automatic and explicit (--gene-key) matching say which names were matched; Ensembl IDs
// against symbols and case-only differences (Cd4 vs CD4) are explained in one error that names
// both files; a saved model predicts a CELLxGENE query by its feature_name.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openAnnDataFile } from '@scnym/core/node';
import {
  datasetGenes,
  describeNames,
  GENE_NAME_COLUMNS,
  matchGenes,
  mismatchReasons,
  modelGenes,
  type GeneNames,
} from '../../core/src/genes.js';
import { runScnym } from '../helpers/cli.js';
import { makeGeneFixtures } from '../helpers/gene-fixtures.js';
import { readBack } from '../helpers/python.js';
import { tempDir } from '../helpers/tmp.js';

const scnym = (...args: string[]) => runScnym(args, 300_000);
const dir = tempDir();
const f = makeGeneFixtures(dir);
const model = join(dir, 'model');
const N_GENES = 6998;

test('matchGenes: a CELLxGENE reference against a symbol query is matched by feature_name', async () => {
  const ref = await openAnnDataFile(f.cellxgeneReference);
  const qry = await openAnnDataFile(f.symbolQuery);
  try {
    const notes: string[] = [];
    const m = await matchGenes(
      datasetGenes('reference', ref, 'X'),
      datasetGenes('query', qry, 'X'),
      { minShared: 100 },
      { onWarning: (w) => notes.push(w) },
    );
    assert.equal(m.a.key, 'feature_name');
    assert.equal(m.b.key, 'var_names');
    // One symbol is repeated in feature_name: its second column is left out, deterministically.
    assert.equal(m.nShared, N_GENES - 1);
    assert.equal(m.a.nDuplicates, 1);
    assert.equal(m.a.names[0], f.duplicatedSymbol);
    assert.equal(m.a.names[1], null);
    assert.ok(m.automatic);
    assert.ok(
      notes.some((n) =>
        n.includes(
          "matched genes by reference var['feature_name'] ↔ query var_names: 6,997 shared",
        ),
      ),
      notes.join('\n'),
    );
    assert.ok(notes.some((n) => /feature_name'\] repeats 1 name .*AL627309\.1/.test(n)));

    // var_names alone share nothing; forcing them is refused with the reason.
    await assert.rejects(
      matchGenes(
        datasetGenes('reference', ref, 'X'),
        datasetGenes('query', qry, 'X'),
        { minShared: 100, geneKey: 'var_names' },
        {},
      ),
      /share 0 genes[^]*Ensembl IDs[^]*gene symbols/,
    );
    // A key neither file has is named in the error with the columns they do have.
    await assert.rejects(
      matchGenes(
        datasetGenes('reference', ref, 'X'),
        datasetGenes('query', qry, 'X'),
        { minShared: 100, geneKey: 'gene_symbols' },
        {},
      ),
      /neither .*cxg_reference\.h5ad.* nor .*target\.zarr.* has a var column 'gene_symbols'[^]*feature_name/,
    );
  } finally {
    await ref.close();
    await qry.close();
  }
});

test('matchGenes: a model trained on symbols against an Ensembl-indexed query with symbols', async () => {
  const qry = await openAnnDataFile(f.cellxgeneQuery);
  try {
    const genes = (await qry.varColumn('feature_name')) as { categories: string[] };
    const m = await matchGenes(
      modelGenes(genes.categories.slice(0, 500), "reference var['feature_name']"),
      datasetGenes('query', qry, 'X'),
      { minShared: 250 },
      {},
    );
    assert.equal(m.b.key, 'feature_name');
    assert.equal(m.nShared, 500);
  } finally {
    await qry.close();
  }
});

test('describeNames and the mismatch reasons on plain name lists', () => {
  assert.equal(describeNames(['ENSG00000141510', 'ENSMUSG00000000001.4', 'CD4']).kind, 'ensembl');
  assert.equal(describeNames(['CD4', 'CD8A', 'ENSG00000141510']).kind, 'symbols');
  assert.ok(GENE_NAME_COLUMNS.includes('feature_name') && GENE_NAME_COLUMNS.includes('gene_ids'));
  const list = (label: string, names: string[]): GeneNames => ({
    key: 'var_names',
    where: 'var_names',
    label,
    names,
    nDuplicates: 0,
    duplicateExamples: [],
  });
  const ids = ['ENSG00000141510', 'ENSG00000010610', 'ENSG00000153563'];
  const versioned = list('query var_names', ['ENSG00000141510.16', 'ENSG00000010610.9', 'CD4']);
  const [version] = mismatchReasons(list('reference var_names', ids), versioned);
  assert.match(version.text, /^2 Ensembl IDs differ only in their version suffix/);
  assert.match(version.text, /ENSG00000141510 ↔ ENSG00000141510\.16/);
  assert.ok(version.refuse);
  // Both lists are symbols: the case difference is the only reason.
  const [letterCase, more] = mismatchReasons(
    list('reference var_names', ['CD4', 'CD8A', 'MS4A1']),
    list('query var_names', ['Cd4', 'Cd8a', 'Ptprc']),
  );
  assert.match(
    letterCase.text,
    /^2 genes differ only in letter case \(e\.g\. CD4 ↔ Cd4, CD8A ↔ Cd8a\)/,
  );
  assert.equal(more, undefined);
  const [bridge] = mismatchReasons(
    list('reference var_names', ids),
    list('query var_names', ['TP53', 'CD4', 'MS4A1']),
  );
  assert.match(
    bridge.text,
    /reference var_names are Ensembl IDs and query var_names are gene symbols/,
  );
  assert.ok(!bridge.refuse);
});

test('annotate: a CELLxGENE reference and a symbol query are matched automatically', () => {
  const out = join(dir, 'auto.zarr');
  const r = scnym(
    'annotate',
    '--reference',
    f.cellxgeneReference,
    '--label-key',
    'cell_type',
    '--query',
    f.symbolQuery,
    '--out',
    out,
    '--model-out',
    model,
    '--epochs',
    '1',
    '--json',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stderr,
    /matched genes by reference var\['feature_name'\] ↔ query var_names: 6,997 shared/,
  );
  assert.match(r.stderr, /repeats 1 name/);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.training.nGenes, N_GENES - 1);
  assert.deepEqual(summary.training.geneKeys, { reference: 'feature_name', query: 'var_names' });
  // The model is trained on the symbols and remembers which names they were.
  const card = JSON.parse(readFileSync(join(model, 'scnym.json'), 'utf8'));
  assert.equal(card.genes[0], f.duplicatedSymbol);
  assert.ok(card.genes.includes('CD79A'));
  assert.equal(card.provenance.reference.geneKey, 'feature_name');
  assert.equal(card.provenance.query.geneKey, 'var_names');
  assert.equal(readBack(out).obs.scNym.values.length, 1039);
});

test('annotate --gene-key feature_name: the column is used where a file has it', () => {
  const r = scnym(
    'annotate',
    '--reference',
    f.cellxgeneReference,
    '--label-key',
    'cell_type',
    '--query',
    f.symbolQuery,
    '--out',
    join(dir, 'explicit.h5ad'),
    '--gene-key',
    'feature_name',
    '--epochs',
    '1',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stderr,
    /matched genes by reference var\['feature_name'\] ↔ query var_names: 6,997 shared/,
  );
  assert.match(r.stdout, /trained on 6997 genes/);
});

test('annotate: counts in raw/X are matched by raw.var feature_name', () => {
  const r = scnym(
    'annotate',
    '--reference',
    f.rawReference,
    '--label-key',
    'cell_type',
    '--query',
    f.symbolQuery,
    '--out',
    join(dir, 'raw.zarr'),
    '--epochs',
    '1',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /using raw\/X \(X holds negative values/);
  assert.match(
    r.stderr,
    /matched genes by reference raw\.var\['feature_name'\] ↔ query var_names: 6,998 shared/,
  );
});

test('annotate: Ensembl IDs against symbols with no bridging column is one clear error', () => {
  const r = scnym(
    'annotate',
    '--reference',
    f.ensemblReference,
    '--label-key',
    'cell_type',
    '--query',
    f.symbolQuery,
    '--out',
    join(dir, 'never.zarr'),
    '--epochs',
    '1',
  );
  assert.equal(r.status, 1, r.stderr);
  const e = r.stderr;
  assert.match(e, /reference and query share 0 genes \(need ≥ 100\)/);
  assert.match(e, /ensembl_reference\.h5ad/);
  assert.match(e, /target\.zarr/);
  assert.match(e, /var_names: 6,998 Ensembl IDs \(ENSG00000000001, ENSG00000000002/);
  assert.match(e, /var_names: 6,998 gene symbols \(AL627309\.1, RP11-206L10\.9/);
  assert.match(e, /Ensembl ID[^]*symbol[^]*no var column/);
  assert.match(e, /→ .*feature_name.*--gene-key/);
  assert.doesNotMatch(e, /at \w+ \(/); // no stack trace
});

test('annotate: mouse-case symbols against human symbols name the case difference', () => {
  const r = scnym(
    'annotate',
    '--reference',
    join(f.symbolQuery, '..', 'reference.zarr'),
    '--label-key',
    'cell_type',
    '--query',
    f.mouseCaseQuery,
    '--out',
    join(dir, 'never.h5ad'),
    '--epochs',
    '1',
  );
  assert.equal(r.status, 1, r.stderr);
  const e = r.stderr;
  assert.match(e, /reference\.zarr/);
  assert.match(e, /mouse_case_query\.h5ad/);
  assert.match(e, /reference and query share only 171 genes \(of 6,998 and 6,998\)/);
  assert.match(e, /\d[\d,]* genes differ only in (letter )?case \(e\.g\. [^)]*↔/);
  assert.match(e, /Cd4|Al627309\.1/);
  assert.match(e, /orthologue/);
  assert.match(e, /str\.upper\(\)/);
});

test('predict: a saved model labels an Ensembl-indexed query by its feature_name, as it labels the symbols', () => {
  const bySymbol = scnym(
    'predict',
    '--model',
    model,
    '--query',
    f.symbolQuery,
    '--out',
    join(dir, 'by-symbol.zarr'),
  );
  assert.equal(bySymbol.status, 0, bySymbol.stderr);
  const byId = scnym(
    'predict',
    '--model',
    model,
    '--query',
    f.cellxgeneQuery,
    '--out',
    join(dir, 'by-id.zarr'),
  );
  assert.equal(byId.status, 0, byId.stderr);
  assert.match(
    byId.stderr,
    /matched the model's genes \(reference var\['feature_name'\] at training\) to query var\['feature_name'\]: 6,997 of 6,997/,
  );
  const a = readBack(join(dir, 'by-symbol.zarr')).obs;
  const b = readBack(join(dir, 'by-id.zarr')).obs;
  assert.deepEqual(b.scNym.values, a.scNym.values);
  assert.deepEqual(b.scNym_confidence.values, a.scNym_confidence.values);
});

test('saliency: the model explains an Ensembl-indexed dataset through its feature_name', () => {
  const r = scnym(
    'saliency',
    '--model',
    model,
    '--data',
    f.cellxgeneQuery,
    '--class',
    'B',
    '--method',
    'gradient',
    '--max-cells',
    '50',
    '--top',
    '5',
    '--json',
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /to data var\['feature_name'\]: 6,997 of 6,997/);
  const out = JSON.parse(r.stdout);
  assert.equal(out.nMissingGenes, 0);
  assert.equal(out.top.length, 5);
});
