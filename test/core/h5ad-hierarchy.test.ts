// What only the h5ad Hierarchy over h5wasm has: what h5py writes besides anndata's elements,
// damaged HDF5 files, writing a block of rows at a time, the atomic update through a temporary
// copy, and a file opened without file access. What both formats share is in hierarchy.test.ts.
import assert from 'node:assert/strict';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import h5wasm from 'h5wasm/node';
import { openH5adWritable, prepareH5wasm } from '../../core/src/anndata/h5ad.js';
import { openH5adFile, updateH5adAtomically } from '../../core/src/node/h5ad-file.js';
import { enc, needsPython, py, rejectsWith, rng } from '../helpers/hierarchy.js';
import { sharedFile } from '../helpers/paths.js';

const TINY_REF = sharedFile('tiny', 'reference.h5ad');
const TINY_TARGET = sharedFile('tiny', 'target.h5ad');
const KANG_REF = sharedFile('kang_ifnb', 'reference.h5ad');

const work = mkdtempSync(join(tmpdir(), 'scnym-h5ad-'));
after(() => rmSync(work, { recursive: true, force: true }));
let copies = 0;

/** A private, writable copy of a file (never write into ../shared). */
function copyOf(src: string): string {
  const dir = join(work, `c${copies++}`);
  mkdirSync(dir);
  const dest = join(dir, 'file.h5ad');
  copyFileSync(src, dest);
  chmodSync(dest, 0o644);
  return dest;
}

/** An HDF5 file with what h5py writes besides plain anndata 0.8 elements. */
function oddFile(): string {
  const path = join(work, `odd${copies++}.h5`);
  py(
    `with h5py.File(sys.argv[1], "w") as f:
    f.create_dataset("lzf", data=np.arange(100, dtype="f4"), compression="lzf")
    f.create_dataset("shuffled", data=np.arange(100, dtype="f4"), compression="gzip", shuffle=True)
    f.create_dataset("fletcher", data=np.arange(100, dtype="f4"), fletcher32=True, chunks=(10,))
    f.create_dataset("flags", data=np.array([True, False, True]))
    f.create_dataset("fixed", data=np.array([b"ab", b"cde"], dtype="S3"))
    f.create_dataset("scalar_s", data="h\u00e9llo", dtype=h5py.string_dtype())
    f.create_dataset("scalar_f", data=3.5)
    f.create_dataset("u32", data=np.arange(5, dtype="u4"))
    f.create_dataset("grid", data=np.arange(12, dtype="f8").reshape(3, 4), chunks=(2, 2))
    f.create_dataset("records", data=np.zeros(2, dtype=[("a", "i4"), ("b", "f4")]))
    obs = f.create_group("obs")
    cats = obs.create_group("__categories")
    cats.create_dataset("leiden", data=np.array(["a", "b"], dtype=object), dtype=h5py.string_dtype())
    codes = obs.create_dataset("leiden", data=np.array([0, 1, 1], dtype="i1"))
    codes.attrs["categories"] = cats["leiden"].ref
    f.attrs["flag"] = np.bool_(True)
    f.attrs["flags"] = np.array([True, False])
    f.attrs["i64"] = np.int64(7)
    f.attrs["f"] = 1.5
    f.attrs["fixed_attr"] = np.bytes_(b"xyz")
print("{}")`,
    path,
  );
  return path;
}

test(
  'h5py oddities: bool enums, fixed strings, scalars, legacy object references',
  needsPython,
  async () => {
    const h = await openH5adFile(oddFile());
    try {
      assert.deepEqual(await h.attrs(''), {
        f: 1.5,
        fixed_attr: 'xyz',
        flag: true,
        flags: [true, false],
        i64: 7,
      });
      // anndata 0.7 stored categories as an object reference; it resolves to an absolute path
      assert.deepEqual(await h.attrs('obs/leiden'), { categories: '/obs/__categories/leiden' });
      assert.deepEqual(await h.meta('flags'), { shape: [3], dtype: 'bool', codecs: [] });
      assert.deepEqual(await h.read('flags'), { data: Uint8Array.of(1, 0, 1), shape: [3] });
      assert.deepEqual((await h.read('fixed')).data, ['ab', 'cde']);
      assert.deepEqual(await h.read('scalar_s'), { data: ['héllo'], shape: [] });
      assert.deepEqual(await h.read('scalar_f'), { data: Float64Array.of(3.5), shape: [] });
      assert.deepEqual(await h.read('u32'), { data: Uint32Array.of(0, 1, 2, 3, 4), shape: [5] });
      assert.deepEqual(await h.read('grid', [rng(1, 3), rng(1, 3)]), {
        data: Float64Array.of(5, 6, 9, 10),
        shape: [2, 2],
      });
      assert.deepEqual((await h.meta('shuffled')).codecs, ['shuffle', 'deflate']);
      assert.equal((await h.read('shuffled', [rng(98, 100)])).data[1], 99);
      assert.deepEqual((await h.meta('fletcher')).codecs, ['fletcher32']);
      assert.equal((await h.read('fletcher')).data[42], 42);
      assert.deepEqual(await h.meta('lzf'), {
        shape: [100],
        dtype: 'float32',
        chunks: [100],
        codecs: ['lzf'],
      });
      assert.equal((await h.read('lzf', [rng(98, 100)])).data[1], 99); // core/h5plugins' lzf
      await rejectsWith(h.meta('records'), /compound/);
    } finally {
      await h.close();
    }
  },
);

test('damaged files: truncated, a corrupt chunk', needsPython, async () => {
  const bytes = readFileSync(TINY_REF);
  const truncated = join(work, 'truncated.h5ad');
  writeFileSync(truncated, bytes.subarray(0, bytes.length / 2));
  const err = await rejectsWith(openH5adFile(truncated), /truncated/);
  assert.equal(err.file, truncated);
  assert.match(err.hint ?? '', /incomplete/);

  const corrupt = copyOf(TINY_REF);
  const chunk = py(
    `f = h5py.File(sys.argv[1], "r")
info = f["X/data"].id.get_chunk_info(3)
print(json.dumps([info.byte_offset, info.size]))`,
    corrupt,
  );
  const damaged = readFileSync(corrupt);
  for (let i = 16; i < 48; i++) damaged[chunk[0] + i] ^= 0x5a;
  writeFileSync(corrupt, damaged);
  const h = await openH5adFile(corrupt);
  try {
    assert.equal((await h.read('X/data', [rng(0, 10)])).data.length, 10); // other chunks are fine
    const e = await rejectsWith(h.read('X/data'), /cannot read the HDF5 data/);
    assert.equal(e.element, 'X/data');
  } finally {
    await h.close();
  }
});

test('a closed file says so', async () => {
  const h = await openH5adFile(TINY_REF);
  await h.close();
  await rejectsWith(h.kind('X'), /already closed/);
});

test(
  'large arrays are written a block of rows at a time and read back whole',
  needsPython,
  async () => {
    for (const source of [TINY_TARGET, KANG_REF]) {
      const file = copyOf(source);
      const before = await openH5adFile(file);
      const index = String((await before.attrs('obs'))._index);
      const n = (await before.meta(`obs/${index}`)).shape[0];
      await before.close();
      const embedding = Float32Array.from({ length: n * 7 }, (_, i) => Math.sin(i) * 100);
      const column = Float64Array.from({ length: n }, (_, i) => i / 3);
      // 30-row blocks of the embedding (7 float32 per row), 64-row blocks of the column.
      await updateH5adAtomically(
        file,
        async (w) => {
          await w.createArray('obsm/X_blocks', {
            data: embedding,
            shape: [n, 7],
            dtype: 'float32',
            attrs: enc('array', '0.2.0'),
          });
          await w.createArray('uns/blocks_col', {
            data: column,
            shape: [n],
            dtype: 'float64',
            attrs: enc('array', '0.2.0'),
          });
        },
        { writeBlockBytes: 30 * 7 * 4 },
      );
      const h = await openH5adFile(file);
      try {
        assert.deepEqual((await h.read('obsm/X_blocks')).data, embedding);
        assert.deepEqual((await h.read('uns/blocks_col')).data, column);
      } finally {
        await h.close();
      }
      const back = py(
        `import anndata
f = h5py.File(sys.argv[1], "r")
x = f["obsm/X_blocks"]
a = anndata.read_h5ad(sys.argv[1])
print(json.dumps([list(x.shape), x.chunks is not None, float(x[n - 1, 6]), float(f["uns/blocks_col"][n - 1]),
  list(a.obsm["X_blocks"].shape)]))`.replace(/\bn\b/g, String(n)),
        file,
      );
      assert.deepEqual(back, [[n, 7], true, embedding[n * 7 - 1], column[n - 1], [n, 7]]);
    }
  },
);

test('atomic update: a failed edit leaves the file byte-identical and no temporary file', async () => {
  const file = copyOf(TINY_TARGET);
  const original = readFileSync(file);
  const boom = new Error('edit failed');
  await assert.rejects(
    updateH5adAtomically(file, async (w) => {
      await w.createGroup('uns/half', enc('dict', '0.1.0'));
      await w.remove('obs/cell_type');
      await w.flush(); // even after writing into the copy
      throw boom;
    }),
    (err) => err === boom,
  );
  await rejectsWith(
    updateH5adAtomically(file, (w) =>
      w.createArray('obsm/bad', { data: new Float32Array(5), shape: [2, 2], dtype: 'float32' }),
    ),
    /has 5 values, but shape \[2, 2\] needs 4/,
  );
  assert.deepEqual(readFileSync(file), original);
  assert.deepEqual(readdirSync(join(file, '..')), ['file.h5ad']);
});

test('atomic update: outPath writes a new file and leaves the input alone', async () => {
  const file = copyOf(TINY_TARGET);
  const original = readFileSync(file);
  const out = join(file, '..', 'out.h5ad');
  await updateH5adAtomically(
    file,
    (w) => w.createArray('uns/x', { data: Int32Array.of(3), shape: [], dtype: 'int32' }),
    { outPath: out },
  );
  assert.deepEqual(readFileSync(file), original);
  const h = await openH5adFile(out);
  try {
    assert.deepEqual(await h.read('uns/x'), { data: Int32Array.of(3), shape: [] });
  } finally {
    await h.close();
  }
});

test(
  'without file access: bools are int8 and elements on disk cannot be removed',
  needsPython,
  async () => {
    const path = copyOf(TINY_TARGET);
    const m = await h5wasm.ready;
    prepareH5wasm(m);
    const w = openH5adWritable(new h5wasm.File(path, 'a'), path, m);
    try {
      await w.createGroup('uns/flags', { ...enc('dict', '0.1.0'), ordered: true, done: false });
      const err = await rejectsWith(
        w.remove('obs/cell_type'),
        /cannot delete an element already in the file/,
      );
      assert.match(err.hint ?? '', /h5py/);
      await rejectsWith(w.move('obs/cell_type', 'obs/ct'), /cannot rename/);
      await w.createGroup('uns/tmp');
      await w.remove('uns/tmp'); // not flushed yet: fine
      await w.flush();
      assert.deepEqual(await w.attrs('uns/flags'), {
        ...enc('dict', '0.1.0'),
        ordered: true,
        done: 0,
      });
    } finally {
      await w.close();
    }
    const back = py(
      `f = h5py.File(sys.argv[1], "r")
a = f["uns/flags"].attrs
print(json.dumps([str(a["ordered"].dtype), int(a["ordered"]), "tmp" in f["uns"]]))`,
      path,
    );
    assert.deepEqual(back, ['int8', 1, false]);
  },
);
