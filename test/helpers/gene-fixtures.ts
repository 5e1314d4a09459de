/**
 * Datasets whose genes are named differently, written by real anndata from the demo pair:
 * CELLxGENE-like files (var indexed by Ensembl IDs, symbols in a categorical var['feature_name'])
 * and a query whose symbols are in mouse case (Cd4 for CD4). The Ensembl IDs are made up but
 * well formed (ENSG + 11 digits, one per demo symbol, the same in every file).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PYTHON, REPO } from './paths.js';

export interface GeneFixtures {
  /** Ensembl IDs as var_names, var['feature_name'] the symbols; one symbol repeated (a duplicate). */
  cellxgeneReference: string;
  /** The same reference without feature_name: Ensembl IDs only. */
  ensemblReference: string;
  /** As CELLxGENE often is: X scaled (unusable), counts in raw/X, symbols in raw.var['feature_name']. */
  rawReference: string;
  /** The demo query as CELLxGENE would publish it (zarr; Ensembl var_names + feature_name). */
  cellxgeneQuery: string;
  /** The demo query with mouse-case symbols (str.capitalize(): Cd4, Al627309.1, …). */
  mouseCaseQuery: string;
  /** The demo query as it is: symbols as var_names. */
  symbolQuery: string;
  /** feature_name of the reference's second gene is set to the first's (a duplicate symbol). */
  duplicatedSymbol: string;
}

export function makeGeneFixtures(dir: string): GeneFixtures {
  const demo = join(REPO, 'core', 'demo');
  const out: GeneFixtures = {
    cellxgeneReference: join(dir, 'cxg_reference.h5ad'),
    ensemblReference: join(dir, 'ensembl_reference.h5ad'),
    rawReference: join(dir, 'raw_reference.h5ad'),
    cellxgeneQuery: join(dir, 'cxg_query.zarr'),
    mouseCaseQuery: join(dir, 'mouse_case_query.h5ad'),
    symbolQuery: join(demo, 'target.zarr'),
    duplicatedSymbol: 'AL627309.1',
  };
  const code = `
import anndata, pandas as pd, json, sys
o = json.loads(sys.argv[1])
ref = anndata.read_zarr(o['demo'] + '/reference.zarr')
tgt = anndata.read_zarr(o['demo'] + '/target.zarr')
ids = {s: 'ENSG%011d' % (i + 1) for i, s in enumerate(ref.var_names)}

def cellxgene(a, symbols):
    b = a.copy()
    b.var['feature_name'] = pd.Categorical(symbols)
    b.var_names = [ids[s] for s in a.var_names]
    return b

symbols = list(ref.var_names)
symbols[1] = symbols[0]  # CELLxGENE symbols are not always unique
cellxgene(ref, symbols).write_h5ad(o['cellxgeneReference'])
e = ref.copy()
e.var_names = [ids[s] for s in ref.var_names]
e.write_h5ad(o['ensemblReference'])
cellxgene(tgt, list(tgt.var_names)).write_zarr(o['cellxgeneQuery'])
r = cellxgene(ref, list(ref.var_names))
r.raw = r
x = r.X.toarray()
r.X = (x - x.mean(0)) / (x.std(0) + 1)  # scaled: scNym falls back to raw/X
del r.var['feature_name']  # only raw.var names the symbols
r.write_h5ad(o['rawReference'])
m = tgt.copy()
m.var_names = [s.capitalize() for s in tgt.var_names]
m.write_h5ad(o['mouseCaseQuery'])
`;
  const r = spawnSync(PYTHON, ['-c', code, JSON.stringify({ ...out, demo })], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`making the gene fixtures failed:\n${r.stderr}`);
  return out;
}
