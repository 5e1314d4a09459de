// The Hierarchy contract (core/src/anndata/hierarchy.ts), run over both formats: the shared .zarr
// and .h5ad files read as Python reads them, clear AnnDataErrors, and edits that Python's zarr or
// h5py and Debian's anndata 0.8 read back. What only one format has (Zarr v3, consolidated
// metadata, HTTP; h5py's oddities, the atomic copy) is in zarr-hierarchy and h5ad-hierarchy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AnnDataError, WriteConflictError } from '../../core/src/errors.js';
import type { ArrayMeta, Hierarchy, WritableHierarchy } from '../../core/src/anndata/hierarchy.js';
import { openH5adFile, updateH5adAtomically } from '../../core/src/node/h5ad-file.js';
import { openZarrFile } from '../../core/src/node/zarr-store.js';
import { enc, needsPython, py, rejectsNaming, rejectsWith, rng } from '../helpers/hierarchy.js';
import { sharedFile } from '../helpers/paths.js';
import { tempCopy, tempDir } from '../helpers/tmp.js';

interface Format {
  name: 'zarr' | 'h5ad';
  ext: '.zarr' | '.h5ad';
  /** The Python library that reads the format without anndata. */
  library: 'zarr' | 'h5py';
  open(path: string): Promise<Hierarchy>;
  /** Edits a private copy: a zarr store in place, then flushed; an .h5ad through a temporary copy. */
  edit(path: string, change: (w: WritableHierarchy) => Promise<void>): Promise<void>;
  zarrFormat?: 2;
  /** The tiny reference's X/data and obs/_index, and the codecs of new numeric arrays. */
  xData: ArrayMeta;
  obsIndex: ArrayMeta;
  newCodecs: string[];
  /** What a missing element and a selection past the end are called; the hint that lists siblings. */
  missing: RegExp;
  outsideIndptr: RegExp;
  missingHint?: RegExp;
  /** What creating an element under a missing group is called. */
  noParent: RegExp;
  /** Data in another typed array than its dtype's is refused (zarr) or converted (h5ad). */
  convertsData?: boolean;
  /** Something at a path of the other kind (a folder for .h5ad, a file for .zarr), and not this format. */
  otherKind(dir: string): string;
  notThisFormat(dir: string): { path: string; message: RegExp };
  /** The library's type for a boolean attribute, and the compression of a new numeric array. */
  pyBoolType: string;
  pyCompression: string;
  compression: string;
  /** Bool arrays read back as 0/1 Uint8Array and as Python booleans (not yet for .h5ad). */
  boolArraysTodo?: string;
}

const FORMATS: Format[] = [
  {
    name: 'zarr',
    ext: '.zarr',
    library: 'zarr',
    open: (path) => openZarrFile(path),
    async edit(path, change) {
      const w = await openZarrFile(path, { writable: true });
      await change(w);
      await w.flush();
      await w.close();
    },
    zarrFormat: 2,
    xData: { shape: [29738], dtype: 'float32', chunks: [29738], codecs: ['blosc:lz4'] },
    obsIndex: { shape: [200], dtype: 'string', chunks: [200], codecs: ['vlen-utf8', 'blosc:lz4'] },
    newCodecs: ['blosc:lz4'],
    missing: /no such element/,
    outsideIndptr: /outside 0\.\.201/,
    noParent: /parent group/,
    otherKind(dir) {
      const file = join(dir, 'data.h5ad');
      writeFileSync(file, 'not hdf5');
      return file;
    },
    notThisFormat: (dir) => ({ path: dir, message: /not a Zarr store/ }),
    pyBoolType: 'bool',
    pyCompression: 'ds.compressor.codec_id',
    compression: 'blosc',
  },
  {
    name: 'h5ad',
    ext: '.h5ad',
    library: 'h5py',
    open: (path) => openH5adFile(path),
    edit: (path, change) => updateH5adAtomically(path, change),
    xData: { shape: [29738], dtype: 'float32', chunks: [1859], codecs: ['deflate'] },
    obsIndex: { shape: [200], dtype: 'string', chunks: [200], codecs: ['deflate'] },
    newCodecs: ['deflate'],
    missing: /is not in the file/,
    outsideIndptr: /outside dimension 0 \(size 201\)/,
    missingHint: /'obs' holds: _index, cell_type/,
    noParent: /its parent 'nope' is not a group/,
    convertsData: true,
    otherKind(dir) {
      const folder = join(dir, 'folder.h5ad');
      mkdirSync(folder);
      return folder;
    },
    notThisFormat(dir) {
      const notes = join(dir, 'notes.h5ad');
      writeFileSync(notes, 'cell_type,domain\nB,ctrl\n');
      return { path: notes, message: /not an HDF5\/h5ad file/ };
    },
    pyBoolType: 'bool_', // a real HDF5 bool enum, as h5py writes it
    pyCompression: 'ds.compression',
    compression: 'gzip',
    boolArraysTodo: 'the h5ad writer stores bool arrays as int8: an Int8Array here, ints in h5py',
  },
];

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

const floats = (a: ArrayLike<number>): number[] => Array.from(a);

const N = 200;
const codes = Int8Array.from({ length: N }, (_, i) => (i % 7 === 6 ? -1 : i % 3));
const confidence = Float32Array.from({ length: N }, (_, i) => i / N);
const embedding = Float32Array.from({ length: N * 2 }, (_, i) => i / 4 - 7);
const NEW_VALUES = {
  floats: new Float32Array([0.5, -1.25, 3e-8, 1e6, 0]),
  codes: new Int8Array([0, 1, -1, 2, 1]),
  labels: ['T cells', 'Ünïcødé ✓', '', 'B cells', 'NK 😀'],
};
const OBS_CHILDREN = ['_index', 'cell_type', 'cluster_id', 'domain', 'group_id', 'sample_id'];

for (const f of FORMATS) {
  const TINY = sharedFile('tiny', `reference${f.ext}`);
  const TINY_TARGET = sharedFile('tiny', `target${f.ext}`);
  const KANG = sharedFile('kang_ifnb', `reference${f.ext}`);

  // -------------------------------------------------------------------------------------------
  // Reading (values from Python's anndata, zarr and h5py)
  // -------------------------------------------------------------------------------------------

  test(`${f.name}: tiny reference: structure, attributes and metadata`, async () => {
    const h = await f.open(TINY);
    try {
      assert.equal(h.format, f.name);
      assert.equal(h.zarrFormat, f.zarrFormat);
      assert.equal(await h.kind(''), 'group');
      assert.equal(await h.kind('X'), 'group');
      assert.equal(await h.kind('obs'), 'group');
      assert.equal(await h.kind('X/data'), 'array');
      assert.equal(await h.kind('nope'), 'missing');
      assert.equal(await h.kind('obs/nope'), 'missing');
      assert.equal(await h.kind('obs/_index/below-an-array'), 'missing');
      assert.deepEqual(await h.children(''), [
        'X',
        'layers',
        'obs',
        'obsm',
        'obsp',
        'uns',
        'var',
        'varm',
        'varp',
      ]);
      assert.deepEqual(await h.children('obs'), OBS_CHILDREN);
      assert.deepEqual(await h.attrs(''), enc('anndata', '0.1.0'));
      assert.deepEqual(await h.attrs('X'), { ...enc('csr_matrix', '0.1.0'), shape: [200, 300] });
      assert.deepEqual(await h.attrs('obs'), {
        _index: '_index',
        'column-order': ['cluster_id', 'sample_id', 'group_id', 'cell_type', 'domain'],
        ...enc('dataframe', '0.2.0'),
      });
      assert.deepEqual((await h.attrs('var'))['column-order'], []);
      // h5py's bool enum comes back as a boolean, as JSON's false does
      assert.deepEqual(await h.attrs('obs/cell_type'), {
        ...enc('categorical', '0.2.0'),
        ordered: false,
      });
      assert.deepEqual(await h.meta('X/data'), f.xData);
      assert.deepEqual(await h.meta('obs/_index'), f.obsIndex);
      assert.equal((await h.meta('obs/cell_type/codes')).dtype, 'int8');
    } finally {
      await h.close();
    }
  });

  test(`${f.name}: tiny reference: CSR row 3, obs names, categories and an embedding`, async () => {
    const h = await f.open(TINY);
    try {
      const indptr = await h.read('X/indptr', [rng(3, 5)]);
      assert.ok(indptr.data instanceof Int32Array);
      assert.deepEqual([...indptr.data], [370, 526]);
      const row = [rng(370, 526)];
      const indices = await h.read('X/indices', row);
      const values = await h.read('X/data', row);
      assert.equal(indices.data.length, 156);
      assert.deepEqual([...indices.data.slice(0, 5)], [1, 3, 5, 7, 8]);
      assert.deepEqual([...values.data.slice(0, 5)], [3, 2, 1, 1, 1]);
      assert.deepEqual((await h.read('X/indptr', [rng(200, 201)])).data, new Int32Array([29738]));

      assert.deepEqual(await h.read('obs/_index', [rng(0, 3)]), {
        data: ['ATCATGCTGCGTAT-1', 'CGTGATGAATTTCC-1', 'TTAGTCACGGTCAT-1'],
        shape: [3],
      });
      assert.deepEqual((await h.read('obs/cell_type/categories')).data, [
        'B cells',
        'CD14+ Monocytes',
        'CD4 T cells',
        'CD8 T cells',
        'FCGR3A+ Monocytes',
      ]);
      assert.deepEqual((await h.read('var/_index', [rng(0, 3)])).data, [
        'ISG15',
        'ENO1',
        'TMEM50A',
      ]);
      const tsne = await h.read('obsm/X_tsne', [rng(0, 2), null]);
      assert.deepEqual(tsne.shape, [2, 2]);
      assert.deepEqual(
        [...tsne.data],
        [-29.819372177124023, -13.706934928894043, -28.428855895996094, -14.935652732849121],
      );
      assert.deepEqual(await h.read('obsm/X_tsne', [rng(1, 2), rng(1, 2)]), {
        data: new Float32Array([-14.935652732849121]),
        shape: [1, 1],
      });
      assert.deepEqual((await h.read('obs/_index', [rng(5, 5)])).shape, [0]);
    } finally {
      await h.close();
    }
  });

  test(`${f.name}: tiny reference: values and slices match ${f.library}`, needsPython, async () => {
    const want = py(
      `f = open_file(sys.argv[1])
print(json.dumps({
  "indptr": f["X/indptr"][:].tolist(),
  "data": f["X/data"][100:110].tolist(),
  "index": text(f["obs/_index"], slice(3, 6)),
  "codes": f["obs/cell_type/codes"][:].tolist(),
  "cats": text(f["obs/cell_type/categories"]),
  "tsne": f["obsm/X_tsne"][5:8, 1:2].tolist(),
}))`,
      TINY,
    );
    const h = await f.open(TINY);
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

  test(`${f.name}: kang: int64 columns, reads across chunk boundaries`, async () => {
    const h = await f.open(KANG);
    try {
      const nGenes = await h.read('obs/n_genes', [rng(0, 3)]);
      assert.ok(nGenes.data instanceof BigInt64Array);
      assert.deepEqual([...nGenes.data], [841n, 529n, 1651n]);
      const across = await h.read('X/data', [rng(76846, 76856)]);
      assert.deepEqual([...across.data], [1, 1, 9, 1, 4, 2, 2, 1, 1, 2]);
      const inside = await h.read('X/indices', [rng(299990, 300003)]);
      assert.deepEqual(
        [...inside.data],
        [6816, 6794, 6791, 6782, 6781, 6768, 6715, 6699, 6690, 6664, 6656, 6654, 6650],
      );
    } finally {
      await h.close();
    }
  });

  test(
    `${f.name}: kang: int64 and float32 columns, long string index, as ${f.library} reads them`,
    needsPython,
    async () => {
      const want = py(
        `f = open_file(sys.argv[1])
print(json.dumps({
  "n_genes": f["obs/n_genes"][:20].tolist(),
  "counts": f["obs/n_counts_allgenes"][900:936].tolist(),
  "genes": text(f["var/_index"], slice(-5, None)),
  "nnz": int(f["X/indptr"][-1]),
}))`,
        KANG,
      );
      const h = await f.open(KANG);
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
    },
  );

  // -------------------------------------------------------------------------------------------
  // Errors
  // -------------------------------------------------------------------------------------------

  test(`${f.name}: refuses what is missing, of the other kind, or not ${f.name}`, async () => {
    const dir = tempDir();
    await rejectsWith(f.open(join(dir, `missing${f.ext}`)), /no such file/);
    const wrong = await rejectsWith(f.open(f.otherKind(dir)), /folder/);
    assert.ok(wrong.hint, 'a hint says what to open instead');
    const other = f.notThisFormat(dir);
    await rejectsWith(f.open(other.path), other.message);
  });

  test(`${f.name}: missing elements and bad selections name the element`, async () => {
    const h = await f.open(TINY);
    try {
      const e = await rejectsNaming(h.attrs('obs/nope'), TINY, 'obs/nope', f.missing);
      if (f.missingHint) assert.match(e.hint ?? '', f.missingHint);
      await rejectsNaming(h.read('obs/missing'), TINY, 'obs/missing', f.missing);
      await rejectsNaming(h.attrs('uns/missing'), TINY, 'uns/missing');
      await rejectsNaming(h.meta('uns/nope/deeper'), TINY, 'uns/nope/deeper', f.missing);
      await rejectsNaming(h.read('obs'), TINY, 'obs', /is a group, not an array/);
      await rejectsNaming(h.read('var'), TINY, 'var', /group/);
      await rejectsNaming(h.children('X/data'), TINY, 'X/data', /is an array, not a group/);
      await rejectsNaming(h.read('X/indptr', [rng(0, 500)]), TINY, 'X/indptr', f.outsideIndptr);
      await rejectsNaming(h.read('obs/_index', [rng(0, 500)]), TINY, 'obs/_index', /outside/);
    } finally {
      await h.close();
    }
  });

  // -------------------------------------------------------------------------------------------
  // Writing (read back here, by zarr or h5py, and by anndata 0.8)
  // -------------------------------------------------------------------------------------------

  test(
    `${f.name}: writes groups, categoricals, numeric, string, int64 and 0-d arrays that it, ${f.library} and anndata read back`,
    needsPython,
    async () => {
      const file = tempCopy(TINY_TARGET);
      const emb = Float32Array.from({ length: 600 }, (_, i) => i / 4);
      await f.edit(file, async (w) => {
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

        await w.createGroup('uns/scnym', enc('dict', '0.1.0'));
        await w.createArray('obs/conf', {
          data: NEW_VALUES.floats,
          shape: [5],
          dtype: 'float32',
          attrs: enc('array', '0.2.0'),
        });
        await w.createArray('uns/scnym/codes', {
          data: NEW_VALUES.codes,
          shape: [5],
          dtype: 'int8',
        });
        await w.createArray('uns/scnym/labels', {
          data: NEW_VALUES.labels,
          shape: [5],
          dtype: 'string',
          attrs: enc('string-array', '0.2.0'),
        });
        await w.createArray('uns/scnym/model', {
          data: ['scNym ✓ v1'],
          shape: [],
          dtype: 'string',
          attrs: enc('string', '0.2.0'),
        });
        await w.createArray('uns/scnym/epochs', {
          data: new Float64Array([12.5]),
          shape: [],
          dtype: 'float64',
          attrs: enc('numeric-scalar', '0.2.0'),
        });
        await w.createArray('uns/scnym/big', {
          data: new BigInt64Array([2n ** 40n, -3n]),
          shape: [2],
          dtype: 'int64',
        });
        await w.createArray('obsm/X_scnym', {
          data: emb,
          shape: [200, 3],
          dtype: 'float32',
          attrs: enc('array', '0.2.0'),
        });
        await w.createArray('obs/50% #1', {
          data: new Int32Array([7, 8]),
          shape: [2],
          dtype: 'int32',
        });
      });

      const h = await f.open(file);
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
        assert.deepEqual(await h.read('uns/pred_acc'), {
          data: Float64Array.of(0.875),
          shape: [],
        });
        // new numeric arrays are compressed as the file's X is
        assert.deepEqual(await h.meta('obsm/X_pred'), {
          shape: [N, 2],
          dtype: 'float32',
          chunks: [N, 2],
          codecs: f.newCodecs,
        });
        assert.deepEqual((await h.meta('obs/conf')).codecs, (await h.meta('X/data')).codecs);
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

        assert.deepEqual(await h.attrs('uns/scnym'), enc('dict', '0.1.0'));
        assert.deepEqual((await h.read('obs/conf')).data, NEW_VALUES.floats);
        assert.deepEqual((await h.read('uns/scnym/codes')).data, NEW_VALUES.codes);
        assert.deepEqual((await h.read('uns/scnym/labels')).data, NEW_VALUES.labels);
        assert.deepEqual(await h.read('uns/scnym/model'), { data: ['scNym ✓ v1'], shape: [] });
        assert.deepEqual(await h.read('uns/scnym/epochs'), {
          data: new Float64Array([12.5]),
          shape: [],
        });
        assert.deepEqual((await h.read('uns/scnym/big')).data, new BigInt64Array([2n ** 40n, -3n]));
        assert.deepEqual(await h.read('obsm/X_scnym', [rng(1, 3), null]), {
          data: emb.slice(3, 9),
          shape: [2, 3],
        });
        assert.deepEqual((await h.read('obs/50% #1')).data, new Int32Array([7, 8]));
        assert.ok((await h.children('uns/scnym')).includes('labels'));
      } finally {
        await h.close();
      }

      const back = py(
        `f = open_file(sys.argv[1])
ordered = f["obs/pred"].attrs["ordered"]
ds = f["obsm/X_pred"]
s = f["uns/scnym"]
out = {
  "ordered_type": type(ordered).__name__, "ordered": bool(ordered),
  "rank_ordered": repr(f["obs/pred_rank"].attrs["ordered"]),
  "calibrated": repr(f["obs/pred_conf"].attrs["calibrated"]),
  "codes": f["obs/pred/codes"][:].tolist(), "cats": text(f["obs/pred/categories"]),
  "conf": f["obs/pred_conf"][:].tolist(), "emb": ds[:].tolist(),
  "emb_compression": ${f.pyCompression}, "note": text(f["uns/pred_note"], ()),
  "acc": float(f["uns/pred_acc"][()]), "order": [str(c) for c in f["obs"].attrs["column-order"]],
  "new_conf": f["obs/conf"][:].tolist(), "new_codes": s["codes"][:].tolist(),
  "labels": text(s["labels"]), "model": str(text(s["model"], ())),
  "epochs": float(s["epochs"][()]), "big": s["big"][:].tolist(),
  "X_scnym": f["obsm/X_scnym"][:].tolist(), "pct": f["obs/50% #1"][:].tolist(),
  "attrs": dict(s.attrs),
}
close(f)
ad = read_anndata(sys.argv[1])
out["anndata"] = {
  "dtype": str(ad.obs["pred"].dtype), "ordered": bool(ad.obs["pred"].cat.ordered),
  "rank_ordered": bool(ad.obs["pred_rank"].cat.ordered),
  "first": [None if v != v else v for v in ad.obs["pred"][:7].tolist()],
  "conf": ad.obs["pred_conf"].tolist()[:3], "emb": ad.obsm["X_pred"][1].tolist(),
  "note": ad.uns["pred_note"], "acc": ad.uns["pred_acc"], "cell_type": ad.obs["cell_type"][:2].tolist(),
  "model": ad.uns["scnym"]["model"], "epochs": ad.uns["scnym"]["epochs"],
  "labels": list(ad.uns["scnym"]["labels"]), "X_scnym": list(ad.obsm["X_scnym"].shape),
}
print(json.dumps(out))`,
        file,
      );
      assert.equal(back.ordered_type, f.pyBoolType);
      assert.equal(back.ordered, false);
      assert.equal(back.rank_ordered, 'True'); // a bool reprs as True, an int8 as 1
      assert.equal(back.calibrated, 'True');
      assert.deepEqual(back.codes, Array.from(codes));
      assert.deepEqual(back.cats, ['T cell', 'B cell', 'Monocyte é']);
      assert.deepEqual(back.conf, floats(confidence));
      assert.deepEqual(back.emb.flat(), floats(embedding));
      assert.equal(back.emb_compression, f.compression);
      assert.equal(back.note, 'ok ✓');
      assert.equal(back.acc, 0.875);
      assert.deepEqual(back.order.slice(-3), ['pred', 'pred_conf', 'pred_rank']);
      assert.deepEqual(back.new_conf, [...NEW_VALUES.floats]);
      assert.deepEqual(back.new_codes, [...NEW_VALUES.codes]);
      assert.deepEqual(back.labels, NEW_VALUES.labels);
      assert.equal(back.model, 'scNym ✓ v1');
      assert.equal(back.epochs, 12.5);
      assert.deepEqual(back.big, [2 ** 40, -3]);
      assert.deepEqual(back.X_scnym.flat(), [...emb]);
      assert.deepEqual(back.pct, [7, 8]);
      assert.deepEqual(back.attrs, enc('dict', '0.1.0'));
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
        model: 'scNym ✓ v1',
        epochs: 12.5,
        labels: NEW_VALUES.labels,
        X_scnym: [200, 3],
      });
      assert.equal(back.anndata.cell_type.length, 2);
    },
  );

  test(
    `${f.name}: bool arrays read back as 0/1 here and as booleans in ${f.library}`,
    { ...needsPython, todo: f.boolArraysTodo },
    async () => {
      const file = tempCopy(TINY_TARGET);
      await f.edit(file, (w) =>
        w.createArray('uns/flags', { data: new Uint8Array([1, 0, 1]), shape: [3], dtype: 'bool' }),
      );
      const h = await f.open(file);
      try {
        assert.deepEqual((await h.read('uns/flags')).data, new Uint8Array([1, 0, 1]));
      } finally {
        await h.close();
      }
      const back = py('print(json.dumps(open_file(sys.argv[1])["uns/flags"][:].tolist()))', file);
      assert.deepEqual(back, [true, false, true]);
    },
  );

  test(
    `${f.name}: refuses to overwrite, needs an existing parent, removes, replaces and moves elements`,
    needsPython,
    async () => {
      const file = tempCopy(TINY_TARGET);
      await f.edit(file, async (w) => {
        const col = { data: new Float32Array(200), shape: [200], dtype: 'float32' as const };
        await assert.rejects(w.createArray('obs/cell_type', col), WriteConflictError);
        await assert.rejects(w.createGroup('obs'), WriteConflictError);
        await assert.rejects(w.createArray('nope/x', col), f.noParent);
        await assert.rejects(
          w.createArray('obs/bad', { data: new Float32Array(3), shape: [200], dtype: 'float32' }),
          AnnDataError,
        );
        if (!f.convertsData) {
          await assert.rejects(
            w.createArray('obs/bad', { data: new Int32Array(200), shape: [200], dtype: 'float32' }),
            AnnDataError,
          );
        }

        await w.createGroup('obs/__tmp_col', { ...enc('categorical', '0.2.0'), ordered: false });
        await w.createArray('obs/__tmp_col/codes', {
          data: new Int8Array(200).fill(1),
          shape: [200],
          dtype: 'int8',
        });
        await w.createArray('obs/__tmp_col/categories', {
          data: ['a', 'b'],
          shape: [2],
          dtype: 'string',
        });
        await assert.rejects(w.move('obs/__tmp_col', 'obs/domain'), WriteConflictError);
        await w.remove('obs/domain');
        assert.equal(await w.kind('obs/domain'), 'missing');
        await w.move('obs/__tmp_col', 'obs/domain');
        assert.equal(await w.kind('obs/__tmp_col'), 'missing');
        assert.deepEqual((await w.read('obs/domain/categories')).data, ['a', 'b']);
        await w.remove('obs/does-not-exist');
        await w.setAttrs('obs/domain', { ...enc('categorical', '0.2.0'), ordered: true });
        assert.equal((await w.attrs('obs/domain')).ordered, true);
      });

      await f.edit(file, async (w) => {
        await writeCategorical(w, 'obs/pred', codes, ['a', 'b', 'c']);
        await addColumn(w, 'pred');
      });
      await f.edit(file, async (w) => {
        await writeCategorical(
          w,
          'obs/pred',
          codes.map((c) => (c < 0 ? c : c + 1)),
          ['w', 'x', 'y', 'z'],
        );
        // a column written by Python goes, with its column-order entry
        await w.remove('obs/cluster_id');
        const attrs = await w.attrs('obs');
        const order = (attrs['column-order'] as string[]).filter((c) => c !== 'cluster_id');
        await w.setAttrs('obs', { ...attrs, 'column-order': order });
        assert.equal(await w.kind('obs/cluster_id'), 'missing');
        // obsm's only child goes (in HDF5 that empties its symbol table node), then a new one comes
        await w.remove('obsm/X_tsne');
        assert.deepEqual(await w.children('obsm'), []);
        await w.createArray('obsm/X_new', {
          data: embedding,
          shape: [N, 2],
          dtype: 'float32',
          attrs: enc('array', '0.2.0'),
        });
      });
      const h = await f.open(file);
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
        `f = open_file(sys.argv[1])
names = []
f.visit(names.append)
for n in names:
    if isinstance(f[n], (h5py.Dataset, zarr.Array)): f[n][...]  # every array still reads
keys = {"obs": sorted(f["obs"].keys()), "obsm": sorted(f["obsm"].keys())}
close(f)
ad = read_anndata(sys.argv[1])
d = ad.obs["domain"]
print(json.dumps({**keys, "columns": list(ad.obs.columns), "cats": ad.obs["pred"].cat.categories.tolist(),
  "first": ad.obs["pred"][:3].tolist(), "anndata_obsm": list(ad.obsm.keys()),
  "domain": [list(d.cat.categories), str(d.iloc[0]), bool(d.cat.ordered)]}))`,
        file,
      );
      assert.deepEqual(back.domain, [['a', 'b'], 'b', true]);
      assert.deepEqual(back.obs, [
        '_index',
        'cell_type',
        'domain',
        'group_id',
        'pred',
        'sample_id',
      ]);
      assert.deepEqual(back.obsm, ['X_new']);
      assert.deepEqual(back.columns, ['sample_id', 'group_id', 'cell_type', 'domain', 'pred']);
      assert.deepEqual(back.cats, ['w', 'x', 'y', 'z']);
      assert.deepEqual(back.first, ['x', 'y', 'z']);
      assert.deepEqual(back.anndata_obsm, ['X_new']);
    },
  );

  test(`${f.name}: removes and renames many elements of one group`, needsPython, async () => {
    // In HDF5 a group of 40 links spans several symbol table nodes.
    const file = tempCopy(TINY_TARGET);
    const names = Array.from({ length: 40 }, (_, i) => `key${String(i).padStart(2, '0')}`);
    await f.edit(file, async (w) => {
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
    await f.edit(file, async (w) => {
      for (const n of gone) await w.remove(`uns/${n}`);
      await w.move('uns/key01', 'uns/renamed');
    });
    const kept = names.filter((n) => !gone.includes(n) && n !== 'key01');
    const back = py(
      `f = open_file(sys.argv[1])
keys = sorted(f["uns"].keys())
values = [float(f["uns"][k][()]) for k in keys]
close(f)
ad = read_anndata(sys.argv[1])
print(json.dumps({"keys": keys, "values": values, "anndata": sorted(ad.uns.keys())}))`,
      file,
    );
    assert.deepEqual(back.keys, [...kept, 'renamed'].sort());
    assert.deepEqual(back.anndata, [...kept, 'renamed'].sort());
    assert.equal(back.values[back.keys.indexOf('renamed')], 1);
    const h = await f.open(file);
    try {
      assert.deepEqual(await h.children('uns'), [...kept, 'renamed'].sort());
    } finally {
      await h.close();
    }
  });
}
