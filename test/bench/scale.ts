/**
 * `npm run bench -- --sections scale`: the built `scnym` command (cli/dist: `npm run build`
 * first) at atlas sizes, on pairs made from the demo's real cells by test/fixtures/
 * generate_scale.py (control cells resampled into the reference, IFN-β-stimulated ones into the
 * query, counts thinned; cached under $TMPDIR/scnym-scale-cache).
 *
 * For 10k × 10k and 100k × 100k cells at the real 6,998 genes (and 1M × 1M at 20,000 genes with
 * `--large`: ~714 non-zeros per cell, generated once in ~3 min, 2.9 GB): `scnym annotate`
 * (default preset, or SCNYM_BENCH_SCALE_EPOCHS=N epochs; seed 0; `--out` a copy, `--model-out`),
 * then `scnym predict` with that model (`--out` another copy of the query). Each command is a
 * process of its own; the table gives its wall time, training steps (its --json), peak RSS (process.resourceUsage().maxRSS at exit, recorded by
 * peak-rss.mjs), query cells per second of wall time, and the accuracy of the labels it wrote
 * against the generator's truth (read back with core's reader). The baseline is the pair at
 * 1k × 1k cells with the same genes, run first in the same run on five pairs (generator seeds
 * 0–4: one 1k pair's accuracy varies by ±5 points with the cells drawn, 0.68–0.79), its mean
 * ± SD; the target is accuracy within 2 points of that mean.
 *
 *   SCNYM_BENCH_SCALE_SIZES=1000,2000@20000 npm run bench -- --sections scale   other sizes
 *   (cells a side, @genes; default genes 6998)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, CLI_NODE_FLAGS, REPO } from '../helpers/paths.js';
import { checkLabels, scalePair, type ScalePair } from '../helpers/scale-data.js';

interface Size {
  cells: number;
  genes: number;
}

interface Run {
  wallSeconds: number;
  peakRssMb: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

const PEAK_RSS = join(REPO, 'test', 'bench', 'peak-rss.mjs');

/** One `scnym` command in a process of its own: wall time, peak RSS, its --json summary. */
function scnym(args: string[], dir: string): Run {
  const rssFile = join(dir, `rss-${Date.now()}`);
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [...CLI_NODE_FLAGS, '--import', PEAK_RSS, CLI, ...args, '--json', '--quiet'],
    {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, SCNYM_PEAK_RSS_FILE: rssFile },
      maxBuffer: 64 << 20,
    },
  );
  const wallSeconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`scnym ${args[0]} failed (${r.status}):\n${r.stderr}`);
  const peakRssMb = Number(readFileSync(rssFile, 'utf8')) / 1024;
  return { wallSeconds, peakRssMb, json: JSON.parse(r.stdout) };
}

function bytesUnder(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.size;
  let n = 0;
  for (const name of readdirSync(path)) n += bytesUnder(join(path, name));
  return n;
}

const label = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** The baseline's size, and the generator seeds of its pairs. */
const BASELINE_CELLS = 1_000;
const BASELINE_SEEDS = [0, 1, 2, 3, 4];

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

interface Measured {
  run: Run;
  accuracy: number;
  steps?: number;
}

/** `scnym annotate` on a pair (saving the model), then `scnym predict` with that model. */
async function annotateThenPredict(
  pair: ScalePair,
  epochs: string | undefined,
): Promise<Record<string, Measured>> {
  const dir = mkdtempSync(join(tmpdir(), 'scnym-bench-scale-'));
  try {
    const model = join(dir, 'model');
    const annotated = join(dir, 'annotated.zarr');
    const predicted = join(dir, 'predicted.zarr');
    const annotate = scnym(
      [
        'annotate',
        ...['--reference', pair.reference, '--label-key', 'cell_type', '--query', pair.query],
        ...['--out', annotated, '--model-out', model, '--seed', '0'],
        ...(epochs ? ['--epochs', epochs] : []),
      ],
      dir,
    );
    const annotateAcc = (await checkLabels(annotated)).accuracy;
    rmSync(annotated, { recursive: true, force: true });
    const predict = scnym(
      ['predict', '--model', model, '--query', pair.query, '--out', predicted],
      dir,
    );
    return {
      annotate: {
        run: annotate,
        accuracy: annotateAcc,
        steps: Number(annotate.json.training.steps),
      },
      'predict (saved model)': { run: predict, accuracy: (await checkLabels(predicted)).accuracy },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchScale(options: { large?: boolean } = {}): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const sizes: Size[] = process.env.SCNYM_BENCH_SCALE_SIZES
    ? process.env.SCNYM_BENCH_SCALE_SIZES.split(',').map((s) => {
        const [cells, genes = '6998'] = s.split('@');
        return { cells: Number(cells), genes: Number(genes) };
      })
    : [
        { cells: 1_000, genes: 6998 },
        { cells: 10_000, genes: 6998 },
        { cells: 100_000, genes: 6998 },
        ...(options.large
          ? [
              { cells: 1_000, genes: 20_000 },
              { cells: 1_000_000, genes: 20_000 },
            ]
          : []),
      ];
  const epochs = process.env.SCNYM_BENCH_SCALE_EPOCHS;

  console.log(
    `## Atlas scale: scnym annotate (${epochs ? `${epochs} epochs` : 'default preset'}) ` +
      'and predict on generated pairs\n',
  );
  console.log(`Load average at the start: ${load()}.\n`);
  const pairs = new Map<Size, ScalePair[]>();
  console.log(
    '| pair (ref × query) | genes | pairs | non-zeros / cell | generated (s) | on disk (MB) |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const size of sizes) {
    const seeds = size.cells === BASELINE_CELLS ? BASELINE_SEEDS : [0];
    const made = seeds.map((seed) =>
      scalePair({ referenceCells: size.cells, queryCells: size.cells, genes: size.genes, seed }),
    );
    pairs.set(size, made);
    const [pair] = made;
    const seconds = made.reduce((t, p) => t + p.generatedSeconds, 0);
    const mb = (bytesUnder(pair.reference) + bytesUnder(pair.query)) / 1e6;
    const nnz = `${pair.summary.reference.nnz_per_cell.toFixed(0)} / ${pair.summary.query.nnz_per_cell.toFixed(0)}`;
    console.log(
      `| ${label(size.cells)} × ${label(size.cells)} | ${size.genes} | ${made.length} | ${nnz} | ` +
        `${seconds ? seconds.toFixed(1) : 'cached'} | ${mb.toFixed(0)} |`,
    );
  }

  console.log(
    '\n| command | cells (ref × query) | genes | wall (s) | steps | peak RSS (MB) | query cells/s | accuracy | vs 1k |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  // The mean accuracy of each command on the 1k pairs with the same genes.
  const baseline = new Map<string, number>();
  for (const size of sizes) {
    const results = new Map<
      string,
      { wall: number[]; rss: number[]; acc: number[]; steps: number[] }
    >();
    for (const pair of pairs.get(size) as ScalePair[]) {
      for (const [command, r] of Object.entries(await annotateThenPredict(pair, epochs))) {
        const into = results.get(command) ?? { wall: [], rss: [], acc: [], steps: [] };
        into.wall.push(r.run.wallSeconds);
        into.rss.push(r.run.peakRssMb);
        into.acc.push(r.accuracy);
        if (r.steps !== undefined) into.steps.push(r.steps);
        results.set(command, into);
      }
    }
    for (const [command, r] of results) {
      const key = `${command} ${size.genes}`;
      const acc = mean(r.acc);
      const isBase = size.cells === BASELINE_CELLS;
      if (isBase) baseline.set(key, acc);
      const base = baseline.get(key);
      const vsBase =
        base === undefined || isBase
          ? '–'
          : `${acc >= base ? '+' : ''}${(100 * (acc - base)).toFixed(1)} pt`;
      const accText =
        r.acc.length > 1
          ? `${acc.toFixed(3)} ± ${sd(r.acc).toFixed(3)} (${r.acc.map((a) => a.toFixed(3)).join(', ')})`
          : acc.toFixed(3);
      const wall = mean(r.wall);
      console.log(
        `| ${command} | ${label(size.cells)} × ${label(size.cells)} | ${size.genes} | ` +
          `${wall.toFixed(1)} | ${r.steps.length ? mean(r.steps).toFixed(0) : '–'} | ` +
          `${r.rss.reduce((a, b) => Math.max(a, b)).toFixed(0)} | ${Math.round(size.cells / wall)} | ${accText} | ${vsBase} |`,
      );
    }
  }
  console.log(
    `\nLoad average at the end: ${load()} (the machine's cores: other work shares them).\n`,
  );
}
