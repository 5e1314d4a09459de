/** `scnym inspect FILE [--json]`: what an AnnData file holds, for people or scripts. */
import { parseArgs } from 'node:util';
import { inspect, type InspectReport, type MatrixSummary } from '@scnym/core';
import { openAnnDataFile } from '@scnym/core/node';
import { parseOrExplain, UsageError } from './args.js';
import { createProgress } from './progress.js';

const HELP = `usage: scnym inspect FILE [--json] [--quiet]

Describes an AnnData file (.h5ad, or a .zarr folder): cells, genes, how X is stored and
whether it holds raw counts, obs columns, obsm embeddings, layers and uns keys.

  --json    print the report as JSON (schema scnym.inspect/1; stable, for scripts)
  --quiet   no progress output`;

export async function runInspect(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrExplain(HELP, () =>
    parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    }),
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`inspect takes one FILE\n\n${HELP}`);
  const ad = await openAnnDataFile(positionals[0]);
  const progress = createProgress(process.stderr, values.quiet || values.json);
  try {
    const report = await inspect(ad, {
      onProgress: (stage, done, total) => progress.update(`reading ${stage}`, done, total),
    });
    progress.done();
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else console.log(formatReport(report));
    for (const w of report.warnings) console.error(`warning: ${w}`);
    return 0;
  } finally {
    progress.done();
    await ad.close();
  }
}

const CONTENT_TEXT: Record<string, string> = {
  counts: 'raw counts (integers)',
  log1p: 'log1p-normalised',
  unknown: 'not recognised',
  scaled: 'scaled (has negative values)',
  empty: 'all zeros',
};

function describeMatrix(m: MatrixSummary): string {
  const density =
    m.encoding === 'dense'
      ? ''
      : `, nnz ${m.nnz.toLocaleString('en-US')} (${(100 * m.density).toFixed(2)}% dense)`;
  const content =
    m.content === 'unknown' || m.content === 'log'
      ? m.contentReason
      : (CONTENT_TEXT[m.content] ?? m.contentReason);
  return `${m.encoding} ${m.dtype} ${m.shape[0]}×${m.shape[1]}${density}; values ${fmt(m.min)}…${fmt(m.max)}: ${content}`;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}

export function formatReport(r: InspectReport): string {
  const out: string[] = [];
  const fmtName = r.format === 'zarr' ? `zarr v${r.zarrFormat}` : 'h5ad (HDF5)';
  out.push(`${r.file}`);
  out.push(`  format     ${fmtName}, anndata encoding ${r.encodingVersion ?? 'legacy (none)'}`);
  out.push(`  cells      ${r.nObs.toLocaleString('en-US')}`);
  out.push(`  genes      ${r.nVars.toLocaleString('en-US')}`);
  out.push(`  X          ${r.X ? describeMatrix(r.X) : 'none'}`);
  for (const l of r.layers)
    out.push(`  layers/${l.name.replace(/^layers\//, '')}  ${describeMatrix(l)}`);
  if (r.raw) out.push(`  raw/X      ${describeMatrix(r.raw)}`);
  out.push(`  obs        ${r.obs.length} column${r.obs.length === 1 ? '' : 's'}`);
  for (const c of r.obs) {
    const missing = c.missing ? `, ${c.missing} missing` : '';
    if (c.categories) {
      const cats = Object.entries(c.categories);
      const shown = cats
        .slice(0, 8)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      out.push(
        `    ${c.name}: categorical, ${cats.length} categories (${shown}${cats.length > 8 ? ', …' : ''})${missing}`,
      );
    } else {
      out.push(`    ${c.name}: ${c.kind} (${c.dtype})${missing}`);
    }
  }
  out.push(
    `  obsm       ${r.obsm.map((o) => `${o.key} [${o.shape.join('×')}]`).join(', ') || 'none'}`,
  );
  out.push(`  uns        ${r.uns.join(', ') || 'none'}`);
  return out.join('\n');
}
