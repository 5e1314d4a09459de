/** `scnym evaluate`: score an annotated file's predictions against known labels. */
import { parseArgs } from 'node:util';
import type { EvaluationReport } from '@scnym/core';
import { evaluateFile } from '@scnym/core/node';
import { DEFAULT_KEY_ADDED } from '@scnym/core/vocabulary';
import { parseOrExplain, UsageError } from './args.js';
import { createProgress, reportEvents } from './progress.js';

const HELP = `usage: scnym evaluate --data FILE --truth-key KEY [--pred-key NAME] [--json]

Scores the predictions scNym wrote into FILE against the labels in obs column KEY: accuracy,
balanced accuracy, per-class precision / recall / F1, the confusion matrix (rows = truth,
columns = predicted), expected calibration error with its reliability diagram (10 bins), and
accuracy vs coverage at confidence thresholds 0, 0.5, 0.7, 0.9, 0.95.

Cells labelled 'Unknown' count as wrong for accuracy and are reported as abstentions
(coverage). Truth classes the model does not know (novel cell types) are reported with the
AUROC of confidence for telling them from known cells.

  --data FILE        annotated file (.h5ad or .zarr), e.g. written by scnym annotate / predict
  --truth-key KEY    obs column with the true cell types
  --pred-key NAME    prefix the predictions were written under (default scNym: obs scNym,
                     scNym_confidence, obsm scNym_probabilities)
  --json             print the full report as JSON on stdout`;

export async function runEvaluate(argv: string[]): Promise<number> {
  const { values } = parseOrExplain(HELP, () =>
    parseArgs({
      args: argv,
      options: {
        data: { type: 'string' },
        'truth-key': { type: 'string' },
        'pred-key': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.data || !values['truth-key']) {
    throw new UsageError(`--data and --truth-key are required\n\n${HELP}`);
  }
  // No progress bar for scoring (there never was one); warnings and notices are shown.
  const report = await evaluateFile(
    values.data,
    { truthKey: values['truth-key'], predKey: values['pred-key'] },
    { onEvent: reportEvents(createProgress(process.stderr, true)) },
  );
  if (values.json) {
    console.log(
      JSON.stringify(
        {
          schema: 'scnym.evaluate/1',
          data: values.data,
          truthKey: values['truth-key'],
          predKey: values['pred-key'] ?? DEFAULT_KEY_ADDED,
          ...report,
        },
        (_key, value) => (typeof value === 'number' && !Number.isFinite(value) ? null : value),
        2,
      ),
    );
  } else {
    console.log(formatEvaluation(report));
  }
  return 0;
}

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : 'n/a');
const num = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');

export function formatEvaluation(r: EvaluationReport): string {
  const lines = [
    `${r.nCells} cells${r.nUnlabeled ? ` (${r.nUnlabeled} without a truth label left out)` : ''}`,
    `  accuracy ${pct(r.accuracy)}, balanced accuracy ${pct(r.balancedAccuracy)}, macro F1 ${num(r.macroF1)}`,
    `  'Unknown' ${r.nUnknown} cells: coverage ${pct(r.coverage)}, accuracy on covered cells ${pct(r.accuracyCovered)}`,
    `  ECE ${num(r.calibration.ece)} (10 bins, ${r.calibration.nCells} cells, ${r.calibration.scored === 'best-class' ? "the model's best class" : 'the written label'})`,
    '',
  ];
  const w = Math.max(5, ...r.classes.map((c) => c.name.length));
  lines.push(`  ${'class'.padEnd(w)}  support  predicted  precision  recall     F1`);
  for (const c of r.classes) {
    lines.push(
      `  ${c.name.padEnd(w)}  ${String(c.support).padStart(7)}  ${String(c.predicted).padStart(9)}  ${num(c.precision).padStart(9)}  ${num(c.recall).padStart(6)}  ${num(c.f1).padStart(5)}`,
    );
  }
  lines.push('', '  confusion (rows = truth, columns = predicted):');
  const cw = Math.max(5, ...r.confusion.columns.map((c) => c.length));
  const rw = Math.max(5, ...r.confusion.rows.map((c) => c.length));
  lines.push(`  ${''.padEnd(rw)}  ${r.confusion.columns.map((c) => c.padStart(cw)).join(' ')}`);
  r.confusion.rows.forEach((row, i) => {
    lines.push(
      `  ${row.padEnd(rw)}  ${r.confusion.counts[i].map((n) => String(n).padStart(cw)).join(' ')}`,
    );
  });
  lines.push('', '  reliability (confidence bin: cells, mean confidence, accuracy):');
  for (const b of r.calibration.bins) {
    if (b.count === 0) continue;
    lines.push(
      `  ${b.lower.toFixed(1)}–${b.upper.toFixed(1)}  ${String(b.count).padStart(6)}  ${num(b.meanConfidence)}  ${num(b.accuracy)}`,
    );
  }
  lines.push('', '  accuracy vs coverage (confidence ≥ threshold, labelled cells):');
  for (const p of r.coverageCurve) {
    lines.push(
      `  ≥ ${p.threshold.toFixed(2)}  coverage ${pct(p.coverage).padStart(6)}  accuracy ${pct(p.accuracy).padStart(6)}`,
    );
  }
  if (r.novelty) {
    const v = r.novelty;
    lines.push(
      '',
      `  novel cell types (not among the model's classes): ${v.classes.join(', ')} (${v.nNovel} cells)`,
      `    AUROC of low confidence for novel vs known cells ${num(v.auroc)} (0.5 = chance)`,
      `    mean confidence novel ${num(v.meanConfidenceNovel)}, known ${num(v.meanConfidenceKnown)}; ` +
        `labelled Unknown: novel ${pct(v.unknownRateNovel)}, known ${pct(v.unknownRateKnown)}`,
    );
    if (v.noveltyAuroc !== null) {
      lines.push(
        `    AUROC of the novelty score ${num(v.noveltyAuroc)}; mean novelty novel ` +
          `${num(v.meanNoveltyNovel)}, known ${num(v.meanNoveltyKnown)} (1 = a typical reference cell)`,
      );
    }
  }
  return lines.join('\n');
}
