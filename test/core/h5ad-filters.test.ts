// .h5ad files compressed with HDF5 plugin filters: lzf (anndata's own write_h5ad option, decoded
// by core/h5plugins/libH5Zlzf.so) and blosc, lz4, bzip2, zstd, bitshuffle (h5wasm-plugins) read
// exactly like the gzip copy of the same AnnData; predictions written into lzf and blosc files
// load in anndata; filters that cannot be decoded are refused by name, with the fix, and leave
// the reader working. Fixtures: test/fixtures/filtered_h5ad.py on the tiny target.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { AnnDataError } from '../../core/src/errors.js';
import type { AnnData } from '../../core/src/anndata/types.js';
import { openH5adFile } from '../../core/src/node/h5ad-file.js';
import { saveModelDir } from '../../core/src/node/model-dir.js';
import { openAnnDataFile } from '../../core/src/node/open.js';
import { initBackend } from '../../core/src/backend.js';
import { runScnym } from '../helpers/cli.js';
import { untrainedModelFiles } from '../helpers/model.js';
import { PYTHON } from '../helpers/paths.js';
import { makeFilteredH5ads, readBack } from '../helpers/python.js';
import { tempDir } from '../helpers/tmp.js';

const hasPython =
  existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import anndata, h5py']).status === 0;
// Outside CI a machine without Debian's anndata skips these; in CI (CI=true) they must run.
const needsPython = {
  skip: hasPython || process.env.CI ? false : `needs ${PYTHON} with anndata and h5py`,
};

/** The plugin-filtered copies and the filter each one's X/data must carry. */
const FILTERED: Record<string, string> = {
  lzf: 'lzf',
  blosc: 'blosc',
  lz4: 'lz4',
  bzip2: 'bzip2',
  zstd: 'zstd',
  bitshuffle: 'bitshuffle',
  bitshuffle_zstd: 'bitshuffle',
};

const dir = tempDir();
let skipped: Record<string, string> = {};
const fixture = (name: string) => join(dir, `${name}.h5ad`);

before(() => {
  if (!hasPython) return;
  skipped = makeFilteredH5ads(dir);
  // Debian's python3-hdf5plugin, python3-zstandard and python3-lz4 write them; CI has all three.
  if (process.env.CI) assert.deepEqual(skipped, {});
});

/** Everything a reader of the AnnData sees, X read in row blocks. */
async function contents(ad: AnnData) {
  const x = await ad.matrix();
  const blocks: unknown[] = [];
  for (let start = 0; start < ad.nObs; start += 64) {
    const b = await x.rows(start, Math.min(ad.nObs, start + 64));
    blocks.push([Array.from(b.indptr), Array.from(b.indices), Array.from(b.data)]);
  }
  const columns: Record<string, unknown> = {};
  for (const name of await ad.obsColumnNames()) columns[name] = await ad.obsColumn(name);
  return {
    obsNames: await ad.obsNames(),
    varNames: await ad.varNames(),
    columns,
    tsne: Array.from((await ad.obsm('X_tsne')).data),
    blocks,
  };
}

async function read(file: string) {
  const ad = await openAnnDataFile(file);
  try {
    return await contents(ad);
  } finally {
    await ad.close();
  }
}

/** The filter names on a dataset, as the reader reports them. */
async function codecs(file: string, element: string): Promise<string[]> {
  const h = await openH5adFile(file);
  try {
    return (await h.meta(element)).codecs;
  } finally {
    await h.close();
  }
}

test(
  'lzf, blosc, lz4, bzip2, zstd, bitshuffle copies read exactly like the gzip copy',
  needsPython,
  async () => {
    const want = await read(fixture('gzip'));
    assert.equal(want.obsNames.length, 200);
    for (const [name, filter] of Object.entries(FILTERED)) {
      if (skipped[name] && !process.env.CI) continue;
      assert.deepEqual(await codecs(fixture(name), 'X/data'), [filter], name);
      assert.deepEqual(await read(fixture(name)), want, name);
    }
    // anndata's lzf compresses every dataset, strings too (which carry no size hint for lzf)
    assert.deepEqual(await codecs(fixture('lzf'), 'var/_index'), ['lzf']);
    assert.deepEqual(await codecs(fixture('lzf'), 'obs/cell_type/categories'), ['lzf']);
  },
);

test("scnym inspect reads anndata's lzf file", needsPython, () => {
  const r = runScnym(['inspect', fixture('lzf')], 60_000);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /cells\s+200/);
  assert.match(r.stdout, /csr float32 200×300, nnz 33,643/);
  assert.match(r.stdout, /cell_type: categorical, 5 categories \(B cells 41/);
});

test(
  'the lzf decoder on what h5py writes: raw (incompressible) chunks, long runs, shuffle, strings',
  needsPython,
  async () => {
    const file = join(dir, 'lzf-cases.h5');
    const code = `
import hashlib, json, sys
import numpy as np, h5py
rng = np.random.default_rng(0)
words = ["", "a", "x" * 3000, "héllo wörld", "CD14+ Monocytes"]
cases = {
    "random": rng.integers(0, 256, 50_000, dtype="u1"),
    "runs": np.repeat(rng.random(40, dtype="f4"), 2_500),
    "pattern": np.tile(np.arange(7, dtype="u1"), 30_000),
    "shuffled": rng.normal(size=(1_000, 37)),
    "one": np.array([42], dtype="i8"),
    "strings": np.array([words[i % 5] + str(i) for i in range(5_000)], dtype=object),
}
sums = {}
with h5py.File(sys.argv[1], "w") as f:
    for name, a in cases.items():
        kw = {"shuffle": True, "chunks": (128, 37)} if name == "shuffled" else {}
        if name == "strings":
            f.create_dataset(name, data=a, dtype=h5py.string_dtype(), chunks=(1_000,), compression="lzf")
            raw = "\\n".join(a).encode()
        else:
            f.create_dataset(name, data=a, compression="lzf", **kw)
            raw = a.tobytes()
        sums[name] = hashlib.sha256(raw).hexdigest()
print(json.dumps(sums))`;
    const r = spawnSync(PYTHON, ['-c', code, file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const sums = JSON.parse(r.stdout) as Record<string, string>;
    const h = await openH5adFile(file);
    try {
      for (const [name, sum] of Object.entries(sums)) {
        assert.deepEqual(
          (await h.meta(name)).codecs,
          name === 'shuffled' ? ['shuffle', 'lzf'] : ['lzf'],
        );
        const { data } = await h.read(name);
        const bytes = Array.isArray(data)
          ? Buffer.from(data.join('\n'))
          : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        assert.equal(createHash('sha256').update(bytes).digest('hex'), sum, name);
      }
    } finally {
      await h.close();
    }
  },
);

test(
  'predict into lzf and blosc files: anndata reads them, the same as into the gzip copy',
  needsPython,
  async () => {
    await initBackend('auto');
    const genes = (await read(fixture('gzip'))).varNames;
    const modelDir = join(dir, 'model');
    const classes = ['B', 'CD14', 'CD4', 'CD8', 'FCGR3A'];
    await saveModelDir(modelDir, await untrainedModelFiles(genes, classes, 7));

    const predicted: Record<string, ReturnType<typeof readBack>> = {};
    const probabilities: Record<string, number[]> = {};
    for (const name of ['gzip', 'lzf', 'blosc']) {
      if (skipped[name] && !process.env.CI) continue;
      const query = join(dir, `predicted-${name}.h5ad`);
      copyFileSync(fixture(name), query);
      const r = runScnym(['predict', '--model', modelDir, '--query', query, '--quiet'], 120_000);
      assert.equal(r.status, 0, r.stderr);
      predicted[name] = readBack(query);
      const ad = await openAnnDataFile(query);
      try {
        probabilities[name] = Array.from((await ad.obsm('scNym_probabilities')).data);
      } finally {
        await ad.close();
      }
      // the old datasets keep their filter; the new ones get gzip, which every reader has
      assert.deepEqual(await codecs(query, 'X/data'), [FILTERED[name] ?? 'deflate'], name);
      assert.deepEqual(await codecs(query, 'obs/scNym_confidence'), ['deflate'], name);
    }
    for (const name of Object.keys(predicted)) {
      const { warnings: _w, ...got } = predicted[name];
      const { warnings: _g, ...want } = predicted.gzip;
      assert.deepEqual(got, want, name);
      assert.deepEqual(probabilities[name], probabilities.gzip, name);
    }
    assert.equal(predicted.gzip.obs.scNym.values.length, 200);
  },
);

test(
  'filters that cannot be decoded are refused by name and id, with the fix; reading goes on',
  needsPython,
  async () => {
    for (const [name, reason] of [
      [
        'sz3',
        /'sz3' HDF5 filter \(id 32024\), which cannot be decoded here: there is no h5wasm plugin for it/,
      ],
      [
        'blosc_zlib',
        /'blosc' HDF5 filter \(id 32001\), which cannot be decoded here: its 'zlib' codec is not supported here/,
      ],
    ] as const) {
      if (skipped[name] && !process.env.CI) continue;
      const ad = await openAnnDataFile(fixture(name));
      try {
        const x = await ad.matrix();
        let caught: unknown;
        await x.rows(0, 10).catch((err: unknown) => (caught = err));
        assert.ok(caught instanceof AnnDataError, `${name}: ${String(caught)}`);
        assert.match(caught.message, reason);
        assert.equal(caught.file, fixture(name));
        assert.equal(caught.element, 'X/data');
        assert.equal(
          caught.hint,
          "re-save it with gzip: adata.write_h5ad(path, compression='gzip')",
        );
      } finally {
        await ad.close();
      }
      // the refusal came before HDF5 tried: the module still reads
      assert.equal((await read(fixture('lzf'))).obsNames.length, 200);
    }
    const r = runScnym(['inspect', fixture('sz3')], 60_000);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /X\/data: is compressed with the 'sz3' HDF5 filter \(id 32024\)/);
    assert.match(r.stderr, /adata\.write_h5ad\(path, compression='gzip'\)/);

    // A damaged bzip2 chunk: the plugin's error path calls fprintf, which h5wasm does not
    // export, and that aborts h5wasm (in the CLI's own process here): the message says so.
    if (skipped.bzip2 && !process.env.CI) return;
    const damaged = join(dir, 'damaged-bzip2.h5ad');
    copyFileSync(fixture('bzip2'), damaged);
    const code = `import h5py, sys
with h5py.File(sys.argv[1], "r") as f:
    info = f["X/data"].id.get_chunk_info(0)
with open(sys.argv[1], "r+b") as fh:
    fh.seek(info.byte_offset + info.size // 2)
    fh.write(bytes(16))`;
    const hit = spawnSync(PYTHON, ['-c', code, damaged], { encoding: 'utf8' });
    assert.equal(hit.status, 0, hit.stderr);
    const d = runScnym(['inspect', damaged], 60_000);
    assert.notEqual(d.status, 0);
    assert.match(
      d.stderr,
      /X\/data: cannot read the HDF5 data \(a filter plugin failed on a chunk/,
    );
    assert.match(d.stderr, /the file may be damaged/);
  },
);
