/** `scnym saliency`: the genes that drive a model's calls for one class (marker genes). */
import { parseArgs } from 'node:util';
import {
  rankGenes,
  SALIENCY_LIMITS,
  SALIENCY_METHODS,
  type SaliencyMethod,
  type SaliencyResult,
} from '@scnym/core';
import { explainFile, openAnnDataFile } from '@scnym/core/node';
import {
  COMMON_OPTIONS,
  inputHelp,
  inputOption,
  integer,
  parseOrExplain,
  UsageError,
} from './args.js';
import { startSession } from './session.js';

const HELP = `usage: scnym saliency --model DIR --data FILE --class NAME [options]

Ranks genes by how much they push the model's calls toward class NAME (scNym's
interpretation): the mean attribution over the cells the model predicts as NAME (or, with
--groupby, the cells whose obs column equals NAME or --group).

  --model DIR          model folder written by scnym train / annotate --model-out
  --data FILE          cells to explain (.h5ad or .zarr): raw counts or log1p values
  --class NAME         the class explained (one of the model's classes)
  --contrast NAME      explain NAME rather than this class: the gradient of
                       logit(NAME) − logit(contrast); the bottom list then favours the contrast
  --method M           gradient   the gradient of the class logit (vanilla saliency)
                       integrated integrated gradients of the class probability from a
                                  zero baseline (--steps path points)
                       expected   expected gradients of the class logit against random
                                  reference cells, α ~ U(0,1) (default; --samples draws per cell)
  --reference FILE     reference cells for --method expected: the training reference
                       (cells labelled NAME under the model's label key are left out).
                       Default: the --data file itself, minus the explained cells
  --groupby KEY        choose the cells by obs column KEY instead of the prediction
  --group VALUE        value of KEY to explain (default NAME)
  --top N              genes listed (default 20)
  --per-cell           also list each explained cell's own top genes (by obs name)
  --steps M            integrated-gradients steps (default 50, at most 10000; the
                       original uses 300)
  --samples K          expected-gradients draws per cell (default 100, at most 10000)
  --max-cells N        explain at most N cells, a seeded random subset (default 1000,
                       at most 1000000)
  --seed N             seed of the subset and the draws (default 0)
  --matrix NAME        X, raw/X or layers/NAME (default: chosen automatically)
${inputHelp()}
  --gene-key KEY       var column holding the model's kind of gene names, or var_names
                       (default auto, as in scnym predict)
  --backend NAME       auto (default), wasm or cpu
  --json               print the result as JSON on stdout
  --quiet              no progress output

example:
  scnym saliency --model model/ --data query.h5ad --class B --top 10
  scnym saliency --model model/ --data query.h5ad --class CD4T --contrast CD8T \\
      --groupby cell_type --group CD8T --method integrated`;

export async function runSaliency(argv: string[]): Promise<number> {
  const { values } = parseOrExplain(HELP, () =>
    parseArgs({
      args: argv,
      options: {
        model: { type: 'string' },
        data: { type: 'string' },
        class: { type: 'string' },
        contrast: { type: 'string' },
        method: { type: 'string' },
        reference: { type: 'string' },
        groupby: { type: 'string' },
        group: { type: 'string' },
        top: { type: 'string' },
        steps: { type: 'string' },
        samples: { type: 'string' },
        'max-cells': { type: 'string' },
        seed: { type: 'string' },
        matrix: { type: 'string' },
        input: { type: 'string' },
        'gene-key': { type: 'string' },
        'per-cell': { type: 'boolean' },
        ...COMMON_OPTIONS,
      },
    }),
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.model || !values.data || !values.class) {
    throw new UsageError(`--model, --data and --class are required\n\n${HELP}`);
  }
  const method = (values.method ?? 'expected') as SaliencyMethod;
  if (!SALIENCY_METHODS.includes(method)) {
    throw new UsageError(`--method must be one of ${SALIENCY_METHODS.join(', ')}`);
  }
  if (values.group && !values.groupby) throw new UsageError('--group needs --groupby');
  if (values.reference && method !== 'expected') {
    throw new UsageError('--reference is only used by --method expected');
  }
  const request = {
    className: values.class,
    contrast: values.contrast,
    method,
    groupby: values.groupby,
    group: values.group,
    matrix: values.matrix,
    input: inputOption(values.input),
    geneKey: values['gene-key'],
    top: integer(values.top, '--top', 1, SALIENCY_LIMITS.top) ?? 20,
    steps: integer(values.steps, '--steps', 1, SALIENCY_LIMITS.steps),
    samples: integer(values.samples, '--samples', 1, SALIENCY_LIMITS.samples),
    maxCells: integer(values['max-cells'], '--max-cells', 1, SALIENCY_LIMITS.maxCells),
    seed: integer(values.seed, '--seed', 0) ?? 0,
    perCell: values['per-cell'],
  };
  const session = await startSession({ quiet: values.quiet, backend: values.backend });
  try {
    const result = await explainFile(
      { model: values.model, data: values.data, reference: values.reference },
      request,
      session.control,
    );
    // Per-cell rankings are named by obs name: read once the work is done.
    const cellNames = result.perCell ? await obsNames(values.data) : [];
    session.progress.done();
    const cells = result.perCell ? perCellTop(result, cellNames, request.top) : undefined;
    if (values.json) {
      console.log(
        JSON.stringify({ ...saliencyJson(result, values.data), perCell: cells }, null, 2),
      );
    } else {
      console.log(formatSaliency(result));
      if (cells) {
        console.log('\nper cell (strongest genes toward the class):');
        for (const c of cells) {
          console.log(
            `  ${c.cell}: ${c.top
              .slice(0, 5)
              .map((g) => g.gene)
              .join(', ')}`,
          );
        }
      }
    }
    return 0;
  } finally {
    session.close();
  }
}

async function obsNames(path: string): Promise<string[]> {
  const data = await openAnnDataFile(path);
  try {
    return await data.obsNames();
  } finally {
    await data.close();
  }
}

/** Each explained cell's own ranking (top N genes), named by obs name. */
export function perCellTop(r: SaliencyResult, cellNames: string[], top: number) {
  const g = r.genes.length;
  const { rows, attributions } = r.perCell!;
  return Array.from(rows, (row, i) => ({
    cell: cellNames[row] ?? String(row),
    row,
    top: rankGenes(attributions.subarray(i * g, (i + 1) * g), r.genes, top),
  }));
}

export function saliencyJson(r: SaliencyResult, data: string) {
  return {
    schema: 'scnym.saliency/1',
    data,
    method: r.method,
    class: r.className,
    contrast: r.contrast,
    cells: r.cells,
    parameters: r.parameters,
    reference: r.reference,
    nMissingGenes: r.nMissingGenes,
    top: r.top,
    bottom: r.bottom,
  };
}

export function formatSaliency(r: SaliencyResult): string {
  const what = r.contrast ? `'${r.className}' rather than '${r.contrast}'` : `'${r.className}'`;
  const cells =
    r.cells.by === 'obs'
      ? `${r.cells.nExplained} cells with ${r.cells.key} = ${r.cells.group}`
      : `${r.cells.nExplained} cells predicted as ${r.cells.group}`;
  const subset =
    r.cells.nExplained < r.cells.nMatching
      ? ` (a random ${r.cells.nExplained} of ${r.cells.nMatching})`
      : '';
  const width = Math.max(
    4,
    ...r.top.map((g) => g.gene.length),
    ...r.bottom.map((g) => g.gene.length),
  );
  const table = (list: SaliencyResult['top']) =>
    list.map(
      (g) =>
        `  ${String(g.rank).padStart(3)}  ${g.gene.padEnd(width)}  ${g.score.toExponential(3)}`,
    );
  const parameter =
    r.method === 'integrated'
      ? `, ${r.parameters.steps} steps`
      : r.method === 'expected'
        ? `, ${r.parameters.samples} draws per cell from ${r.reference?.nCells} reference cells of ${r.reference?.source}`
        : '';
  return [
    `${r.method} saliency of ${what} (${r.parameters.output}${parameter})`,
    `over ${cells}${subset}`,
    '',
    `genes pushing toward ${r.className}${r.contrast ? ` over ${r.contrast}` : ''}:`,
    ...table(r.top),
    '',
    `genes pushing ${r.contrast ? `toward ${r.contrast}` : `away from ${r.className}`}:`,
    ...table(r.bottom),
  ].join('\n');
}
