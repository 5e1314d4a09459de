// The h5ad Hierarchy over h5wasm: values as h5py reads them, clear AnnDataErrors for bad files,
// and edits (through a temporary copy) that h5py and Debian's anndata 0.8 read back.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import h5wasm from 'h5wasm/node';
import { AnnDataError, WriteConflictError } from '../../core/src/errors.js';
import { openH5adWritable, prepareH5wasm } from '../../core/src/anndata/h5ad.js';
import type { Attrs, WritableHierarchy } from '../../core/src/anndata/hierarchy.js';
import { openH5adFile, updateH5adAtomically } from '../../core/src/node/h5ad-file.js';

const shared = (p: string): string =>
  fileURLToPath(new URL(`../../../shared/data/${p}`, import.meta.url));
const TINY_REF = shared('tiny/reference.h5ad');
const TINY_TARGET = shared('tiny/target.h5ad');
const KANG_REF = shared('kang_ifnb/reference.h5ad');

const PYTHON = '/usr/bin/python3';
const hasPython =
  existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import anndata, h5py']).status === 0;
// Outside CI a machine without Debian's anndata skips these; in CI (CI=true) they must run.
const needsPython = {
  skip: hasPython || process.env.CI ? false : 'needs /usr/bin/python3 with anndata and h5py',
};

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

/** Runs python code (with h5py/anndata imported) and parses the JSON it prints. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function py(code: string, ...args: string[]): any {
  const prelude =
    'import json, sys, warnings\nwarnings.filterwarnings("ignore")\nimport numpy as np, h5py\n';
  const r = spawnSync(PYTHON, ['-c', prelude + code, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

const floats = (a: ArrayLike<number>): number[] => Array.from(a);
const rng = (start: number, end: number) => ({ start, end });
const enc = (type: string, version: string): Attrs => ({
  'encoding-type': type,
  'encoding-version': version,
});

async function rejectsWith(p: Promise<unknown>, ...patterns: RegExp[]): Promise<AnnDataError> {
  let caught: unknown;
  await p.then(
    () => assert.fail('expected an AnnDataError'),
    (err) => (caught = err),
  );
  assert.ok(caught instanceof AnnDataError, `not an AnnDataError: ${String(caught)}`);
  for (const re of patterns) assert.match(caught.message, re);
  return caught;
}

test('tiny reference: structure, attributes and metadata', async () => {
  const h = await openH5adFile(TINY_REF);
  try {
    assert.equal(h.format, 'h5ad');
    assert.equal(await h.kind(''), 'group');
    assert.equal(await h.kind('X'), 'group');
    assert.equal(await h.kind('X/data'), 'array');
    assert.equal(await h.kind('nope'), 'missing');
    assert.equal(await h.kind('obs/_index/below-an-array'), 'missing');
    assert.deepEqual(await h.attrs(''), enc('anndata', '0.1.0'));
    assert.deepEqual(await h.attrs('X'), { ...enc('csr_matrix', '0.1.0'), shape: [200, 300] });
    assert.deepEqual(await h.attrs('obs'), {
      _index: '_index',
      'column-order': ['cluster_id', 'sample_id', 'group_id', 'cell_type', 'domain'],
      ...enc('dataframe', '0.2.0'),
    });
    assert.deepEqual((await h.attrs('var'))['column-order'], []);
    // h5py's bool enum comes back as a boolean
    assert.deepEqual(await h.attrs('obs/cell_type'), {
      ...enc('categorical', '0.2.0'),
      ordered: false,
    });
    assert.deepEqual(await h.children('obs'), [
      '_index',
      'cell_type',
      'cluster_id',
      'domain',
      'group_id',
      'sample_id',
    ]);
    assert.deepEqual(await h.meta('X/data'), {
      shape: [29738],
      dtype: 'float32',
      chunks: [1859],
      codecs: ['deflate'],
    });
    assert.deepEqual(await h.meta('obs/_index'), {
      shape: [200],
      dtype: 'string',
      chunks: [200],
      codecs: ['deflate'],
    });
    assert.equal((await h.meta('obs/cell_type/codes')).dtype, 'int8');
  } finally {
    await h.close();
  }
});

test('tiny reference: array values and slices match h5py', needsPython, async () => {
  const want = py(
    `f = h5py.File(sys.argv[1], "r")
print(json.dumps({
  "indptr": f["X/indptr"][:].tolist(),
  "data": f["X/data"][100:110].tolist(),
  "index": f["obs/_index"].asstr()[3:6].tolist(),
  "codes": f["obs/cell_type/codes"][:].tolist(),
  "cats": f["obs/cell_type/categories"].asstr()[:].tolist(),
  "tsne": f["obsm/X_tsne"][5:8, 1:2].tolist(),
}))`,
    TINY_REF,
  );
  const h = await openH5adFile(TINY_REF);
  try {
    const indptr = await h.read('X/indptr');
    assert.ok(indptr.data instanceof Int32Array);
    assert.deepEqual(indptr.shape, [201]);
    assert.deepEqual(floats(indptr.data), want.indptr);
    const data = await h.read('X/data', [rng(100, 110)]);
    assert.ok(data.data instanceof Float32Array);
    assert.deepEqual(floats(data.data), want.data);
    assert.deepEqual((await h.read('obs/_index', [rng(3, 6)])).data, want.index);
    const codes = await h.read('obs/cell_type/codes');
    assert.ok(codes.data instanceof Int8Array);
    assert.deepEqual(floats(codes.data), want.codes);
    assert.deepEqual((await h.read('obs/cell_type/categories')).data, want.cats);
    const tsne = await h.read('obsm/X_tsne', [rng(5, 8), rng(1, 2)]);
    assert.deepEqual(tsne.shape, [3, 1]);
    assert.deepEqual(floats(tsne.data as Float32Array), want.tsne.flat());
    assert.deepEqual(await h.read('X/indptr', [rng(7, 7)]), {
      data: new Int32Array(0),
      shape: [0],
    });
  } finally {
    await h.close();
  }
});

test('kang reference: int64 and float32 columns, long string index', needsPython, async () => {
  const want = py(
    `f = h5py.File(sys.argv[1], "r")
print(json.dumps({
  "n_genes": f["obs/n_genes"][:20].tolist(),
  "counts": f["obs/n_counts_allgenes"][900:936].tolist(),
  "genes": f["var/_index"].asstr()[-5:].tolist(),
  "nnz": int(f["X/indptr"][-1]),
}))`,
    KANG_REF,
  );
  const h = await openH5adFile(KANG_REF);
  try {
    const n = await h.read('obs/n_genes', [rng(0, 20)]);
    assert.ok(n.data instanceof BigInt64Array);
    assert.deepEqual(Array.from(n.data, Number), want.n_genes);
    assert.equal((await h.meta('obs/n_genes')).dtype, 'int64');
    assert.deepEqual(
      floats((await h.read('obs/n_counts_allgenes', [rng(900, 936)])).data as Float32Array),
      want.counts,
    );
    assert.deepEqual((await h.read('var/_index', [rng(6993, 6998)])).data, want.genes);
    const last = await h.read('X/indptr', [rng(936, 937)]);
    assert.equal(Number(last.data[0]), want.nnz);
  } finally {
    await h.close();
  }
});

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

test(
  'bad files: not HDF5, missing, a folder, truncated, a corrupt chunk',
  needsPython,
  async () => {
    const notes = join(work, 'notes.h5ad');
    writeFileSync(notes, 'cell_type,domain\nB,ctrl\n');
    await rejectsWith(openH5adFile(notes), /not an HDF5\/h5ad file/);
    await rejectsWith(openH5adFile(join(work, 'missing.h5ad')), /no such file/);
    await rejectsWith(openH5adFile(work), /folder/);

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
  },
);

test('missing elements and bad selections name the element', async () => {
  const h = await openH5adFile(TINY_REF);
  try {
    const e = await rejectsWith(h.attrs('obs/nope'), /obs\/nope: is not in the file/);
    assert.match(e.hint ?? '', /'obs' holds: _index, cell_type/);
    await rejectsWith(h.read('obs'), /is a group, not an array/);
    await rejectsWith(h.children('X/data'), /is an array, not a group/);
    await rejectsWith(h.meta('uns/nope/deeper'), /is not in the file/);
    await rejectsWith(h.read('X/indptr', [rng(0, 500)]), /outside dimension 0 \(size 201\)/);
  } finally {
    await h.close();
  }
  await rejectsWith(h.kind('X'), /already closed/);
});

/** Writes a categorical the way write.ts does: under a temporary name, then moved into place. */
async function writeCategorical(
  w: WritableHierarchy,
  path: string,
  codes: Int8Array,
  categories: string[],
  ordered = false,
): Promise<void> {
  const tmp = path.replace(/[^/]+$/, (n) => `.scnym-tmp-${n}`);
  await w.remove(tmp);
  await w.createGroup(tmp, { ...enc('categorical', '0.2.0'), ordered });
  await w.createArray(`${tmp}/codes`, {
    data: codes,
    shape: [codes.length],
    dtype: 'int8',
    attrs: enc('array', '0.2.0'),
  });
  await w.createArray(`${tmp}/categories`, {
    data: categories,
    shape: [categories.length],
    dtype: 'string',
    attrs: enc('string-array', '0.2.0'),
  });
  await w.remove(path);
  await w.move(tmp, path);
}

async function addColumn(w: WritableHierarchy, name: string): Promise<void> {
  const attrs = await w.attrs('obs');
  const order = attrs['column-order'] as string[];
  if (!order.includes(name))
    await w.setAttrs('obs', { ...attrs, 'column-order': [...order, name] });
}

const N = 200;
const codes = Int8Array.from({ length: N }, (_, i) => (i % 7 === 6 ? -1 : i % 3));
const confidence = Float32Array.from({ length: N }, (_, i) => i / N);
const embedding = Float32Array.from({ length: N * 2 }, (_, i) => i / 4 - 7);

test(
  'round trip: new elements read back here, in h5py and in anndata 0.8',
  needsPython,
  async () => {
    const file = copyOf(TINY_TARGET);
    await updateH5adAtomically(file, async (w) => {
      await writeCategorical(w, 'obs/pred', codes, ['T cell', 'B cell', 'Monocyte é']);
      // elements not yet flushed read like the others
      assert.deepEqual(await w.children('obs/pred'), ['categories', 'codes']);
      assert.deepEqual(await w.read('obs/pred/codes', [rng(4, 8)]), {
        data: Int8Array.of(1, 2, -1, 1),
        shape: [4],
      });
      await w.createArray('obs/pred_conf', {
        data: confidence,
        shape: [N],
        dtype: 'float32',
        attrs: { ...enc('array', '0.2.0'), calibrated: true },
      });
      await writeCategorical(w, 'obs/pred_rank', codes, ['low', 'mid', 'high'], true);
      await addColumn(w, 'pred');
      await addColumn(w, 'pred_conf');
      await addColumn(w, 'pred_rank');
      await w.createArray('obsm/X_pred', {
        data: embedding,
        shape: [N, 2],
        dtype: 'float32',
        attrs: enc('array', '0.2.0'),
      });
      assert.deepEqual(
        (await w.read('obsm/X_pred', [rng(1, 2), rng(1, 2)])).data,
        Float32Array.of(-6.25),
      );
      await w.createArray('uns/pred_note', {
        data: ['ok ✓'],
        shape: [],
        dtype: 'string',
        attrs: enc('string', '0.2.0'),
      });
      await w.createArray('uns/pred_acc', {
        data: Float64Array.of(0.875),
        shape: [],
        dtype: 'float64',
        attrs: enc('numeric-scalar', '0.2.0'),
      });
      await assert.rejects(w.createGroup('obs/pred'), WriteConflictError);
    });

    const h = await openH5adFile(file);
    try {
      assert.deepEqual(await h.attrs('obs/pred'), {
        ...enc('categorical', '0.2.0'),
        ordered: false,
      });
      assert.equal((await h.attrs('obs/pred_rank')).ordered, true);
      assert.equal((await h.attrs('obs/pred_conf')).calibrated, true);
      assert.deepEqual((await h.read('obs/pred/categories')).data, [
        'T cell',
        'B cell',
        'Monocyte é',
      ]);
      assert.deepEqual((await h.read('obs/pred/codes')).data, codes);
      assert.deepEqual((await h.read('obs/pred_conf')).data, confidence);
      assert.deepEqual(await h.read('uns/pred_note'), { data: ['ok ✓'], shape: [] });
      assert.deepEqual(await h.read('uns/pred_acc'), { data: Float64Array.of(0.875), shape: [] });
      // the file's X is gzip-compressed, so new numeric arrays are too
      assert.deepEqual(await h.meta('obsm/X_pred'), {
        shape: [N, 2],
        dtype: 'float32',
        chunks: [N, 2],
        codecs: ['deflate'],
      });
      assert.deepEqual((await h.attrs('obs'))['column-order'], [
        'cluster_id',
        'sample_id',
        'group_id',
        'cell_type',
        'domain',
        'pred',
        'pred_conf',
        'pred_rank',
      ]);
    } finally {
      await h.close();
    }

    const back = py(
      `import anndata
f = h5py.File(sys.argv[1], "r")
ordered = f["obs/pred"].attrs["ordered"]
h5 = {
  "ordered_type": type(ordered).__name__, "ordered": bool(ordered),
  "rank_ordered": repr(f["obs/pred_rank"].attrs["ordered"]),
  "calibrated": repr(f["obs/pred_conf"].attrs["calibrated"]),
  "codes": f["obs/pred/codes"][:].tolist(), "cats": f["obs/pred/categories"].asstr()[:].tolist(),
  "conf": f["obs/pred_conf"][:].tolist(), "emb": f["obsm/X_pred"][:].tolist(),
  "emb_compression": f["obsm/X_pred"].compression, "note": f["uns/pred_note"].asstr()[()],
  "acc": float(f["uns/pred_acc"][()]), "order": [str(c) for c in f["obs"].attrs["column-order"]],
}
f.close()
ad = anndata.read_h5ad(sys.argv[1])
h5["anndata"] = {
  "dtype": str(ad.obs["pred"].dtype), "ordered": bool(ad.obs["pred"].cat.ordered),
  "rank_ordered": bool(ad.obs["pred_rank"].cat.ordered),
  "first": [None if v != v else v for v in ad.obs["pred"][:7].tolist()],
  "conf": ad.obs["pred_conf"].tolist()[:3], "emb": ad.obsm["X_pred"][1].tolist(),
  "note": ad.uns["pred_note"], "acc": ad.uns["pred_acc"], "cell_type": ad.obs["cell_type"][:2].tolist(),
}
print(json.dumps(h5))`,
      file,
    );
    assert.equal(back.ordered_type, 'bool_'); // a real bool enum, as h5py writes it
    assert.equal(back.ordered, false);
    assert.equal(back.rank_ordered, 'True'); // np.bool_ reprs as True, an int8 as 1
    assert.equal(back.calibrated, 'True');
    assert.deepEqual(back.codes, Array.from(codes));
    assert.deepEqual(back.cats, ['T cell', 'B cell', 'Monocyte é']);
    assert.deepEqual(back.conf, floats(confidence));
    assert.deepEqual(back.emb.flat(), floats(embedding));
    assert.equal(back.emb_compression, 'gzip');
    assert.equal(back.note, 'ok ✓');
    assert.equal(back.acc, 0.875);
    assert.deepEqual(back.order.slice(-3), ['pred', 'pred_conf', 'pred_rank']);
    assert.deepEqual(back.anndata, {
      dtype: 'category',
      ordered: false,
      rank_ordered: true,
      first: ['T cell', 'B cell', 'Monocyte é', 'T cell', 'B cell', 'Monocyte é', null],
      conf: floats(confidence.subarray(0, 3)),
      emb: floats(embedding.subarray(2, 4)),
      note: 'ok ✓',
      acc: 0.875,
      cell_type: back.anndata.cell_type, // an old column, still readable
    });
    assert.equal(back.anndata.cell_type.length, 2);
  },
);

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

test('overwrite: elements already in the file are removed and replaced', needsPython, async () => {
  const file = copyOf(TINY_TARGET);
  await updateH5adAtomically(file, async (w) => {
    await writeCategorical(w, 'obs/pred', codes, ['a', 'b', 'c']);
    await addColumn(w, 'pred');
  });
  await updateH5adAtomically(file, async (w) => {
    await writeCategorical(
      w,
      'obs/pred',
      codes.map((c) => (c < 0 ? c : c + 1)),
      ['w', 'x', 'y', 'z'],
    );
    // an h5py-written column goes, with its column-order entry
    await w.remove('obs/cluster_id');
    const attrs = await w.attrs('obs');
    const order = (attrs['column-order'] as string[]).filter((c) => c !== 'cluster_id');
    await w.setAttrs('obs', { ...attrs, 'column-order': order });
    assert.equal(await w.kind('obs/cluster_id'), 'missing');
    // obsm's only child goes, which empties its symbol table node, then a new one comes
    await w.remove('obsm/X_tsne');
    assert.deepEqual(await w.children('obsm'), []);
    await w.createArray('obsm/X_new', {
      data: embedding,
      shape: [N, 2],
      dtype: 'float32',
      attrs: enc('array', '0.2.0'),
    });
  });
  const h = await openH5adFile(file);
  try {
    assert.deepEqual(await h.children('obs'), [
      '_index',
      'cell_type',
      'domain',
      'group_id',
      'pred',
      'sample_id',
    ]);
    assert.deepEqual(await h.children('obsm'), ['X_new']);
    assert.deepEqual((await h.read('obs/pred/categories')).data, ['w', 'x', 'y', 'z']);
  } finally {
    await h.close();
  }
  const back = py(
    `import anndata
f = h5py.File(sys.argv[1], "r")
names = []
f.visit(names.append)
for n in names:
    if isinstance(f[n], h5py.Dataset): f[n][()]  # every dataset still reads
keys = {"obs": sorted(f["obs"].keys()), "obsm": sorted(f["obsm"].keys())}
f.close()
ad = anndata.read_h5ad(sys.argv[1])
print(json.dumps({**keys, "columns": list(ad.obs.columns), "cats": ad.obs["pred"].cat.categories.tolist(),
  "first": ad.obs["pred"][:3].tolist(), "obsm": list(ad.obsm.keys())}))`,
    file,
  );
  assert.deepEqual(back.obs, ['_index', 'cell_type', 'domain', 'group_id', 'pred', 'sample_id']);
  assert.deepEqual(back.obsm, ['X_new']);
  assert.deepEqual(back.columns, ['sample_id', 'group_id', 'cell_type', 'domain', 'pred']);
  assert.deepEqual(back.cats, ['w', 'x', 'y', 'z']);
  assert.deepEqual(back.first, ['x', 'y', 'z']);
  assert.deepEqual(back.obsm, ['X_new']);
});

test(
  'overwrite: removing links from a group with many symbol table nodes',
  needsPython,
  async () => {
    const file = copyOf(TINY_TARGET);
    const names = Array.from({ length: 40 }, (_, i) => `key${String(i).padStart(2, '0')}`);
    await updateH5adAtomically(file, async (w) => {
      for (const [i, n] of names.entries()) {
        await w.createArray(`uns/${n}`, {
          data: Float64Array.of(i),
          shape: [],
          dtype: 'float64',
          attrs: enc('numeric-scalar', '0.2.0'),
        });
      }
    });
    const gone = names.filter((_, i) => i % 3 === 0 || i === 39);
    await updateH5adAtomically(file, async (w) => {
      for (const n of gone) await w.remove(`uns/${n}`);
      await w.move('uns/key01', 'uns/renamed');
    });
    const kept = names.filter((n) => !gone.includes(n) && n !== 'key01');
    const back = py(
      `import anndata
f = h5py.File(sys.argv[1], "r")
keys = sorted(f["uns"].keys())
values = [float(f["uns"][k][()]) for k in keys]
f.close()
ad = anndata.read_h5ad(sys.argv[1])
print(json.dumps({"keys": keys, "values": values, "anndata": sorted(ad.uns.keys())}))`,
      file,
    );
    assert.deepEqual(back.keys, [...kept, 'renamed'].sort());
    assert.deepEqual(back.anndata, [...kept, 'renamed'].sort());
    assert.equal(back.values[back.keys.indexOf('renamed')], 1);
    const h = await openH5adFile(file);
    try {
      assert.deepEqual(await h.children('uns'), [...kept, 'renamed'].sort());
    } finally {
      await h.close();
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
