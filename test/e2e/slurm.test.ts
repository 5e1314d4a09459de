// Sharded prediction on a real scheduler: a one-node Slurm cluster of the test's own (munged,
// slurmctld, slurmd; test/helpers/slurm.ts) runs `scnym predict --shard
// $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT` as a job array over a copy of core/demo's query
// with a model trained on its reference; `scnym merge` then writes the shards into the query,
// which must hold exactly what one `scnym predict` writes, as anndata reads it. Needs Debian's
// slurm-wlm and munge (npm test installs them) and root; elsewhere it is skipped, saying why.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runScnym } from '../helpers/cli.js';
import { CLI, REPO } from '../helpers/paths.js';
import { readBack } from '../helpers/python.js';
import { slurmMissing, startSlurm, until, type SlurmCluster } from '../helpers/slurm.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';

const missing = slurmMissing();
if (missing) console.log(`# slurm e2e skipped: ${missing}`);

let cluster: SlurmCluster | undefined;
const dir = tempDir();
const model = join(dir, 'model');

before(async () => {
  if (missing) return;
  const trained = runScnym([
    'train',
    '--reference',
    join(REPO, 'core', 'demo', 'reference.zarr'),
    '--label-key',
    'cell_type',
    '--epochs',
    '2',
    '--model-out',
    model,
    '--quiet',
  ]);
  assert.equal(trained.status, 0, trained.stderr);
  cluster = await startSlurm();
});

after(async () => {
  await cluster?.stop();
});

test(
  'a Slurm job array predicts the shards; merged they equal one predict',
  { skip: missing ?? false },
  async () => {
    const c = cluster!;
    const query = tempCopy(join(REPO, 'core', 'demo', 'target.zarr'));
    const shards = join(dir, 'shards');
    const script = join(dir, 'predict.sbatch');
    writeFileSync(
      script,
      [
        '#!/bin/bash',
        `"${process.execPath}" "${CLI}" predict --model "${model}" --query "${query}" \\`,
        '  --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" --out "' +
          shards +
          '" --json --quiet \\',
        `  > "${dir}/task_$SLURM_ARRAY_TASK_ID.json"`,
        // Waited for by this file rather than squeue/sacct (no accounting daemon here).
        `echo $? > "${dir}/rc_$SLURM_ARRAY_TASK_ID"`,
        '',
      ].join('\n'),
    );
    const job = c
      .run('sbatch', [
        '--parsable',
        '--array=0-1',
        '--cpus-per-task=1',
        `--output=${dir}/slurm_%a.out`,
        `--chdir=${REPO}`,
        script,
      ])
      .trim();
    assert.match(job, /^\d+/);
    const rcs = [0, 1].map((i) => join(dir, `rc_${i}`));
    try {
      await until(
        () => rcs.every((f) => existsSync(f) && readFileSync(f, 'utf8').endsWith('\n')),
        'the array tasks',
        240_000,
      );
    } catch (err) {
      const out = [0, 1]
        .map((i) => join(dir, `slurm_${i}.out`))
        .filter(existsSync)
        .map((f) => readFileSync(f, 'utf8'))
        .join('\n');
      throw new Error(`${(err as Error).message}\n${out}\n${c.logs()}`);
    }
    for (const [i, rc] of rcs.entries()) {
      assert.equal(
        readFileSync(rc, 'utf8').trim(),
        '0',
        readFileSync(join(dir, `slurm_${i}.out`), 'utf8'),
      );
    }
    const tasks = [0, 1].map((i) => JSON.parse(readFileSync(join(dir, `task_${i}.json`), 'utf8')));
    assert.deepEqual(
      tasks.map((t) => t.shard),
      [
        { index: 0, count: 2 },
        { index: 1, count: 2 },
      ],
    );
    assert.equal(tasks[0].rows.end, tasks[1].rows.start);
    assert.equal(tasks[0].nCells + tasks[1].nCells, 1039);

    const merged = runScnym(['merge', '--query', query, shards, '--json']);
    assert.equal(merged.status, 0, merged.stderr);
    assert.equal(JSON.parse(merged.stdout).nCells, 1039);

    const single = tempCopy(join(REPO, 'core', 'demo', 'target.zarr'), 'single.zarr');
    const one = runScnym([
      'predict',
      '--model',
      model,
      '--query',
      single,
      '--threads',
      '1',
      '--quiet',
    ]);
    assert.equal(one.status, 0, one.stderr);
    const [a, b] = [readBack(query), readBack(single)];
    for (const key of ['scNym', 'scNym_confidence']) assert.deepEqual(a.obs[key], b.obs[key], key);
    assert.deepEqual(a.obsm, b.obsm);
    assert.deepEqual(a.uns.scNym_classes, b.uns.scNym_classes);
    assert.deepEqual(a.uns.scNym_train_results, b.uns.scNym_train_results);
  },
);
