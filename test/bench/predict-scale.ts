/**
 * `npm run bench -- --sections predict-scale [--large]`: prediction spread over cores, on a
 * synthetic query written to a .zarr (test/bench/synthetic.ts: 100k × 2k, and 1M × 20k with
 * --large) with a model of the `original` network (random weights: speed does not depend on
 * them). Every run is a process of its own, on the built packages (`npm run build` first):
 * - `predict` on 1 thread, then on 2 (worker threads over row ranges), reading one shared copy
 *   of the input layer's weights and then each its own: cells/s of the prediction itself
 *   (predictFileRows: open query → outputs in memory; workers' start included);
 * - `scnym predict --shard i/N` (the whole command, writing its shard file): 1 shard against 2
 *   shards at once, each on one thread, as plain processes and, where a local Slurm cluster can
 *   be started (root, slurm-wlm and munge), as a Slurm job array (`sbatch --array`, -c 1).
 * Ratios compare runs of one section run. The machine's load is printed before and after: on a
 * shared machine two processes do not get two whole cores.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initBackend, modelToFiles, resolveOptions, type ModelCard } from '@scnym/core';
import { saveModelDir } from '@scnym/core/node';
// Not in core's entry points: a random-weight network of a given shape (speed does not depend
// on the weights) and the card's format fields, as speed.ts and baseline.ts build theirs.
import { MODEL_FORMAT, MODEL_FORMAT_VERSION } from '../../core/src/model/io.js';
import { createNetwork } from '../../core/src/model/network.js';
import { CLI, CLI_NODE_FLAGS, REPO } from '../helpers/paths.js';
import { slurmMissing, startSlurm, until } from '../helpers/slurm.js';
import { SyntheticCounts, writeSyntheticZarr } from './synthetic.js';

/** One prediction in a child on the built packages (core/dist): seconds and peak RSS. */
const PREDICT_CHILD = `
const [dist, args] = [process.argv[2], JSON.parse(process.argv[3])];
const { initBackend } = await import(dist + '/index.js');
const { loadModelDir, openAnnDataFile, predictFileRows } = await import(dist + '/node/index.js');
await initBackend('auto');
const m = await loadModelDir(args.model);
const ad = await openAnnDataFile(args.query);
const started = performance.now();
const r = await predictFileRows(m, ad, args.query, { threads: args.threads, shareInputLayer: args.share });
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ seconds, nCells: r.prediction.nCells, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
`;

interface Size {
  nCells: number;
  nGenes: number;
  libraryMedian: number;
}

const label = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);
const load = () =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(', ');

export async function benchPredictScale(options: { large?: boolean } = {}): Promise<void> {
  if (!existsSync(CLI) || !existsSync(join(REPO, 'core', 'dist', 'node', 'predict-worker.js'))) {
    throw new Error('predict-scale runs the built packages: run `npm run build` first');
  }
  const sizes: Size[] = [{ nCells: 100_000, nGenes: 2_000, libraryMedian: 500 }];
  if (options.large) sizes.push({ nCells: 1_000_000, nGenes: 20_000, libraryMedian: 2_000 });
  console.log('## Prediction over cores: worker threads and shards\n');
  console.log(
    `${availableParallelism()} cores; load average (1, 5, 15 min) at the start: ${load()}.\n`,
  );
  console.log('| data | run | wall s | cells/s | cells/s per core | × one | peak RSS MB |');
  console.log('|---|---|---|---|---|---|---|');
  for (const size of sizes) await benchSize(size);
  console.log(`\nLoad average at the end: ${load()}.\n`);
}

async function benchSize(size: Size): Promise<void> {
  const name = `synthetic ${label(size.nCells)}×${label(size.nGenes)}`;
  const dir = await mkdtemp(join(tmpdir(), 'scnym-bench-scale-'));
  try {
    const counts = new SyntheticCounts({ ...size, seed: 1 });
    const query = join(dir, 'query.zarr');
    const made = await writeSyntheticZarr(counts, query);
    const model = join(dir, 'model');
    await saveModel(model, counts);
    const row = (run: string, seconds: number, cores: number, base: number, rss?: number) => {
      const rate = size.nCells / seconds;
      console.log(
        `| ${name} | ${run} | ${seconds.toFixed(1)} | ${Math.round(rate)} | ` +
          `${Math.round(rate / cores)} | ×${(base / seconds).toFixed(2)} | ${rss ? Math.round(rss) : ''} |`,
      );
    };
    console.log(
      `| ${name} | (query written: ${(made.nnz / size.nCells).toFixed(0)} non-zeros/cell, ` +
        `${made.seconds.toFixed(0)} s) | | | | | |`,
    );

    const threaded = [
      { run: 'predict, 1 thread', threads: 1, share: true },
      { run: 'predict, 2 threads (one shared copy of the input layer)', threads: 2, share: true },
      { run: 'predict, 2 threads (each its own copy)', threads: 2, share: false },
    ].map((c) => ({ ...c, ...predictChild(dir, model, query, c.threads, c.share) }));
    for (const r of threaded) {
      row(r.run, r.seconds, r.threads, threaded[0].seconds, r.peakRssMb);
    }

    const one = await shardsAsProcesses(dir, model, query, 1);
    const two = await shardsAsProcesses(dir, model, query, 2);
    row('scnym predict --shard, 1 process', one, 1, one);
    row('scnym predict --shard, 2 processes at once', two, 2, one);

    const missing = slurmMissing();
    if (missing) {
      console.log(`| ${name} | Slurm: not run (${missing}) | | | | | |`);
    } else {
      const cluster = await startSlurm();
      try {
        const runArray = async (count: number) => {
          const out = join(dir, `slurm-${count}`);
          const script = join(dir, `job-${count}.sh`);
          writeFileSync(
            script,
            `#!/bin/bash\n"${process.execPath}" ${CLI_NODE_FLAGS.join(' ')} "${CLI}" predict --model "${model}" --query "${query}" ` +
              `--shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" --threads 1 --out "${out}" --quiet\n` +
              `echo $? > "${out}.rc_$SLURM_ARRAY_TASK_ID"\n`,
          );
          const started = performance.now();
          cluster.run('sbatch', [
            `--array=0-${count - 1}`,
            '--cpus-per-task=1',
            `--output=${out}.log_%a`,
            `--chdir=${REPO}`,
            script,
          ]);
          const rcs = Array.from({ length: count }, (_, i) => `${out}.rc_${i}`);
          await until(() => rcs.every((f) => existsSync(f)), 'the array', 3 * 3600_000);
          const seconds = (performance.now() - started) / 1000;
          for (const f of rcs) {
            if (readFileSync(f, 'utf8').trim() !== '0') throw new Error(`${f}: task failed`);
          }
          rmSync(out, { recursive: true, force: true });
          return seconds;
        };
        const s1 = await runArray(1);
        const s2 = await runArray(2);
        row('Slurm job array, 1 task (-c 1)', s1, 1, s1);
        row('Slurm job array, 2 tasks (-c 1)', s2, 2, s1);
      } finally {
        await cluster.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A model of the `original` network over the synthetic genes (weights from a seed). */
async function saveModel(dir: string, counts: SyntheticCounts): Promise<void> {
  await initBackend('auto');
  const config = {
    ...resolveOptions('original').network,
    nGenes: counts.nGenes,
    nClasses: counts.classNames.length,
    nDomains: 1,
  };
  const network = createNetwork(config, 0);
  const card: ModelCard = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    genes: counts.genes,
    classNames: counts.classNames,
    domainNames: ['reference'],
    preprocessing: { input: 'log1p-cpm', targetSum: 1e6, log: 'natural' },
    network: config,
    training: { preset: 'original', config: 'no_new_identity' },
    provenance: { tool: 'scnym-js', toolVersion: '0.1.0', created: new Date().toISOString() },
  };
  await saveModelDir(dir, await modelToFiles(network, card));
  network.dispose();
}

function predictChild(dir: string, model: string, query: string, threads: number, share: boolean) {
  const script = join(dir, 'predict-child.mjs');
  writeFileSync(script, PREDICT_CHILD);
  const dist = pathToFileURL(join(REPO, 'core', 'dist')).href;
  const r = spawnSync(
    process.execPath,
    [...CLI_NODE_FLAGS, script, dist, JSON.stringify({ model, query, threads, share })],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    },
  );
  if (r.status !== 0) throw new Error(`predict child (${threads} threads) failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; peakRssMb: number };
}

/** `count` shard processes at once (one thread each); seconds until the last one is done. */
async function shardsAsProcesses(dir: string, model: string, query: string, count: number) {
  const out = join(dir, `shards-${count}`);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const args = [CLI, 'predict', '--model', model, '--query', query, '--quiet'];
      args.push('--shard', `${i}/${count}`, '--threads', '1', '--out', out);
      const child = spawn(process.execPath, [...CLI_NODE_FLAGS, ...args], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      return new Promise<void>((resolve, reject) =>
        child.on('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`shard ${i}/${count} failed:\n${stderr}`)),
        ),
      );
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  rmSync(out, { recursive: true, force: true });
  return seconds;
}
