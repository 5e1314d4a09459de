// What only the Zarr hierarchy (core/src/anndata/zarr.ts) has: stores that cannot list (HTTP,
// consolidated metadata), zarrita stores, its metadata and codecs, chunking, Zarr v3 (hand-built
// stores) — checked against Python's zarr 2.13 and anndata 0.8. What both formats share is in
// hierarchy.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import * as zarr from 'zarrita';
import ZarritaFileSystemStore from '@zarrita/storage/fs';
import { AnnDataError } from '../../core/src/errors.js';
import type { Hierarchy } from '../../core/src/anndata/hierarchy.js';
import {
  encodeVlenUtf8,
  fetchZarrStore,
  fromZarritaStore,
  openZarr,
  openZarrWritable,
  type ZarrStore,
} from '../../core/src/anndata/zarr.js';
import { FileSystemZarrStore, openZarrFile } from '../../core/src/node/zarr-store.js';
import { needsPython, py as python, rejectsNaming } from '../helpers/hierarchy.js';

const shared = (rel: string) =>
  fileURLToPath(new URL(`../../../shared/data/${rel}`, import.meta.url));
const TINY = shared('tiny/reference.zarr');
const KANG = shared('kang_ifnb/reference.zarr');

async function tempCopy(src: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'scnym-zarr-'));
  const dest = join(dir, 'copy.zarr');
  await cp(src, dest, { recursive: true });
  return dest;
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'scnym-zarr-'));
}

async function cleanup(path: string): Promise<void> {
  await rm(join(path, '..'), { recursive: true, force: true });
}

/** An in-memory store whose keys zarrita can share (it wants a leading '/'). */
class MapStore implements ZarrStore {
  readonly map = new Map<string, Uint8Array>();

  async get(key: string) {
    return this.map.get(`/${key}`);
  }
  async list(prefix: string) {
    const start = prefix ? `/${prefix}/` : '/';
    const names = new Set<string>();
    for (const key of this.map.keys()) {
      if (key.startsWith(start)) names.add(key.slice(start.length).split('/')[0]);
    }
    return [...names];
  }
  async set(key: string, value: Uint8Array) {
    this.map.set(`/${key}`, value);
  }
  async delete(prefix: string) {
    for (const key of [...this.map.keys()]) {
      if (key === `/${prefix}` || key.startsWith(`/${prefix}/`)) this.map.delete(key);
    }
  }
  async rename(from: string, to: string) {
    for (const [key, value] of [...this.map]) {
      if (key === `/${from}` || key.startsWith(`/${from}/`)) {
        this.map.delete(key);
        this.map.set(`/${to}${key.slice(from.length + 1)}`, value);
      }
    }
  }
}

/** Only `get`: like a plain HTTP server, it cannot list. */
function getOnly(store: ZarrStore): ZarrStore {
  return { get: (key) => store.get(key) };
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** Chunk keys among fetched keys (metadata documents left out). */
const chunkKeys = (keys: string[]) => keys.filter((k) => !/(^|\/)\.z/.test(k));

/** A v3 array document with one chunk grid and the given codecs. */
function v3Array(
  shape: number[],
  dtype: string,
  chunks: number[],
  fill: unknown,
  codecs: unknown[],
) {
  return {
    zarr_format: 3,
    node_type: 'array',
    shape,
    data_type: dtype,
    chunk_grid: { name: 'regular', configuration: { chunk_shape: chunks } },
    chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
    codecs,
    fill_value: fill,
    attributes: {},
  };
}

// ---------------------------------------------------------------------------------------------
// Reading Zarr v2: what a store fetches and lists
// ---------------------------------------------------------------------------------------------

test('kang: a read fetches only the chunks it overlaps', async () => {
  const fsStore = new FileSystemZarrStore(KANG);
  const fetched: string[] = [];
  const counting: ZarrStore = {
    get: (key) => {
      fetched.push(key);
      return fsStore.get(key);
    },
    list: (prefix) => fsStore.list(prefix),
  };
  const h = await openZarr(counting, KANG);
  assert.deepEqual((await h.meta('X/data')).chunks, [76851]);

  fetched.length = 0;
  await h.read('X/data', [{ start: 76846, end: 76856 }]); // across the chunk boundary
  assert.deepEqual(chunkKeys(fetched).sort(), ['X/data/0', 'X/data/1']);

  fetched.length = 0;
  await h.read('X/indices', [{ start: 299990, end: 300003 }]);
  assert.deepEqual(chunkKeys(fetched), ['X/indices/3']);
});

test(
  'consolidated metadata lets a store that cannot list (HTTP) list its children',
  needsPython,
  async () => {
    const path = await tempCopy(TINY);
    try {
      python(`import zarr, json; zarr.consolidate_metadata(${JSON.stringify(path)}); print(1)`);
      const fsStore = new FileSystemZarrStore(path);
      const h = await openZarr(getOnly(fsStore), path);
      assert.deepEqual(await h.children('obs'), [
        '_index',
        'cell_type',
        'cluster_id',
        'domain',
        'group_id',
        'sample_id',
      ]);
      assert.deepEqual(
        (await h.read('X/indptr', [{ start: 3, end: 5 }])).data,
        new Int32Array([370, 526]),
      );

      const plain = await openZarr(getOnly(new FileSystemZarrStore(TINY)), TINY);
      const err = await rejectsNaming(plain.children('obs'), TINY, 'obs', /cannot list/);
      assert.match(err.hint ?? '', /consolidate/);
      assert.equal(await plain.kind('obs/cell_type'), 'group');
    } finally {
      await cleanup(path);
    }
  },
);

test(
  'reads over HTTP with zarrita FetchStore when the store is consolidated',
  needsPython,
  async () => {
    const path = await tempCopy(TINY);
    // A static file server: 200 with the file, 404 when there is none.
    const server = createServer((req, res) => {
      readFile(join(path, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))).then(
        (body) => res.end(body),
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      python(`import zarr; zarr.consolidate_metadata(${JSON.stringify(path)}); print(1)`);
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const h = await openZarr(fetchZarrStore(url), url);
      assert.deepEqual(await h.children('obsm'), ['X_tsne']);
      assert.deepEqual(
        (await h.read('X/indptr', [{ start: 3, end: 5 }])).data,
        new Int32Array([370, 526]),
      );
      assert.equal(await h.kind('obs/missing'), 'missing');
    } finally {
      server.close();
      await cleanup(path);
    }
  },
);

test('fromZarritaStore adapts a zarrita store with absolute keys', async () => {
  const h = await openZarr(fromZarritaStore(new ZarritaFileSystemStore(TINY)), TINY);
  assert.deepEqual((await h.read('obs/_index', [{ start: 1, end: 2 }])).data, ['CGTGATGAATTTCC-1']);
  await rejectsNaming(h.children('obs'), TINY, 'obs', /cannot list/);
});

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

test('a truncated or garbled chunk raises AnnDataError naming the array', async () => {
  const path = await tempCopy(TINY);
  try {
    await truncate(join(path, 'X/data/0'), 100);
    await writeFile(join(path, 'X/indices/0'), new Uint8Array(200).fill(7));
    await writeFile(join(path, 'obs/_index/0'), new Uint8Array([1, 2, 3]));
    const h = await openZarrFile(path);
    await rejectsNaming(h.read('X/data', [{ start: 0, end: 5 }]), path, 'X/data', /corrupt/);
    await rejectsNaming(h.read('X/indices'), path, 'X/indices', /corrupt/);
    await rejectsNaming(h.read('obs/_index'), path, 'obs/_index', /corrupt/);
    // Intact arrays still read.
    assert.equal((await h.read('X/indptr')).data.length, 201);
  } finally {
    await cleanup(path);
  }
});

test('an unknown codec raises AnnDataError with the codec id and a hint', async () => {
  const path = await tempCopy(TINY);
  try {
    const key = join(path, 'obs/cell_type/codes/.zarray');
    const meta = JSON.parse(await readFile(key, 'utf8'));
    meta.compressor = { id: 'lzma', preset: 6 };
    await writeFile(key, JSON.stringify(meta));
    const h = await openZarrFile(path);
    assert.deepEqual((await h.meta('obs/cell_type/codes')).codecs, ['lzma']);
    const err = await rejectsNaming(
      h.read('obs/cell_type/codes'),
      path,
      'obs/cell_type/codes',
      /lzma/,
    );
    assert.match(err.hint ?? '', /blosc|zstd|gzip/);
  } finally {
    await cleanup(path);
  }
});

test('invalid JSON, absurd shapes and wrong chunk shapes raise AnnDataError', async () => {
  const path = await tempCopy(TINY);
  try {
    await writeFile(join(path, 'obs/.zattrs'), '{"encoding-type": ');
    const huge = JSON.parse(await readFile(join(path, 'X/indptr/.zarray'), 'utf8'));
    await writeFile(join(path, 'X/indptr/.zarray'), JSON.stringify({ ...huge, shape: [2 ** 60] }));
    const big = { ...huge, shape: [2 ** 40], chunks: [1000] };
    await writeFile(join(path, 'X/indices/.zarray'), JSON.stringify(big));
    await writeFile(join(path, 'X/data/.zarray'), JSON.stringify({ ...huge, chunks: [0] }));
    const h = await openZarrFile(path);

    await rejectsNaming(h.attrs('obs'), path, 'obs/.zattrs', /invalid JSON/);
    await rejectsNaming(h.meta('X/indptr'), path, 'X/indptr/.zarray', /shape/);
    await rejectsNaming(h.read('X/data'), path, 'X/data/.zarray', /chunk shape/);
    await rejectsNaming(h.read('X/indices'), path, 'X/indices', /too large/);
    // A small part of a huge array is fine: its chunks are missing, so it is the fill value.
    const part = await h.read('X/indices', [{ start: 5005, end: 5008 }]);
    assert.deepEqual(part.data, new Int32Array(3));
    // Chunk 0 is the real one of 29738 values, not the 1000 the metadata now claims.
    await rejectsNaming(h.read('X/indices', [{ start: 0, end: 2 }]), path, 'X/indices', /1000/);
  } finally {
    await cleanup(path);
  }
});

test('fuzzed metadata and chunk bytes only ever raise AnnDataError', async () => {
  const zarray = JSON.parse(await readFile(join(TINY, 'obs/cell_type/codes/.zarray'), 'utf8'));
  const chunk = await readFile(join(TINY, 'obs/cell_type/codes/0'));
  // Plausible values reach the codecs; arbitrary JSON exercises the validation.
  const plausible: Record<string, unknown[]> = {
    shape: [[0], [300], [10, 20], [], [2 ** 40]],
    chunks: [[1], [7], [200, 1], [], [2 ** 31]],
    dtype: ['|b1', '<i8', '<f4', '>f8', '|O', '<U3', '|S2', '<f2', '<M8[ns]'],
    compressor: [null, { id: 'zstd' }, { id: 'gzip' }, { id: 'zlib' }, { id: 'lz4' }],
    filters: [null, [{ id: 'vlen-utf8' }], [{ id: 'delta', dtype: '<i4' }], [{ id: 'json2' }]],
    order: ['C', 'F', 'X'],
    fill_value: [null, 'NaN', 0, ''],
  };
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...Object.keys(plausible)),
      fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(...Object.values(plausible).flat())),
      fc.uint8Array({ maxLength: 32 }),
      fc.nat({ max: chunk.length }),
      async (field, value, noise, at) => {
        const store = new MapStore();
        store.map.set('/.zgroup', json({ zarr_format: 2 }));
        store.map.set('/a/.zarray', json({ ...zarray, [field]: value }));
        store.map.set('/a/0', new Uint8Array([...chunk.subarray(0, at), ...noise]));
        const h = await openZarr(store, 'mem://fuzz');
        try {
          const { shape } = await h.meta('a');
          // A small corner only: metadata may now claim a huge array with missing chunks.
          await h.read(
            'a',
            shape.map((n) => ({ start: 0, end: Math.min(n, 3) })),
          );
        } catch (err) {
          if (!(err instanceof AnnDataError)) throw err;
        }
      },
    ),
    { numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
  );
});

test('uncompressed strings decode even when the store hands out views into a buffer', async () => {
  const store = new MapStore();
  store.map.set('/.zgroup', json({ zarr_format: 2 }));
  const meta = { zarr_format: 2, shape: [2], chunks: [2], dtype: '|O', compressor: null };
  store.map.set(
    '/s/.zarray',
    json({ ...meta, fill_value: 0, filters: [{ id: 'vlen-utf8' }], order: 'C' }),
  );
  const encoded = encodeVlenUtf8(['ab', 'ç']);
  const padded = new Uint8Array(encoded.length + 8);
  padded.set(encoded, 8);
  store.map.set('/s/0', padded.subarray(8));
  assert.deepEqual((await (await openZarr(store, 'mem://s')).read('s')).data, ['ab', 'ç']);
});

test('an empty store is not a Zarr store', async () => {
  await assert.rejects(openZarr(new MapStore(), 'mem://x'), AnnDataError);
});

// ---------------------------------------------------------------------------------------------
// Writing Zarr v2 (checked with Python's zarr 2.13 and anndata 0.8)
// ---------------------------------------------------------------------------------------------

test("new v2 arrays: the store's compressor, vlen-utf8 strings, anndata's scalar strings", async () => {
  const path = await tempCopy(TINY);
  try {
    const h = await openZarrFile(path, { writable: true });
    await h.createArray('obs/conf', {
      data: new Float32Array([0.5, -1.25, 3e-8, 1e6, 0]),
      shape: [5],
      dtype: 'float32',
    });
    await h.createArray('uns/labels', { data: ['T cells', 'NK 😀'], shape: [2], dtype: 'string' });
    await h.createArray('uns/model', { data: ['scNym ✓ v1'], shape: [], dtype: 'string' });
    await h.flush();
    const zarray = (p: string) => readFile(join(path, p, '.zarray'), 'utf8').then(JSON.parse);
    assert.deepEqual((await zarray('obs/conf')).compressor, (await zarray('X/data')).compressor);
    assert.deepEqual((await zarray('uns/labels')).filters, [{ id: 'vlen-utf8' }]);
    assert.equal((await zarray('uns/model')).dtype, '<U10');
  } finally {
    await cleanup(path);
  }
});

test(
  'new arrays use the store compressor (zstd, gzip, zlib) and Python reads them',
  needsPython,
  async () => {
    for (const codec of ['Zstd(level=3)', 'GZip(level=5)', 'Zlib(level=1)']) {
      const dir = await tempDir();
      const path = join(dir, 's.zarr');
      try {
        python(`
import zarr, numcodecs, numpy as np
g = zarr.open_group(${JSON.stringify(path)}, 'w')
g.create_dataset('X', data=np.arange(10, dtype='f4'), compressor=numcodecs.${codec})
print(1)`);
        const h = await openZarrFile(path, { writable: true });
        const values = Float64Array.from({ length: 2500 }, (_, i) => Math.sin(i));
        await h.createArray('v', { data: values, shape: [50, 50], dtype: 'float64' });
        await h.createArray('s', { data: ['x', 'yy', 'zzz'], shape: [3], dtype: 'string' });
        const meta = JSON.parse(await readFile(join(path, 'v/.zarray'), 'utf8'));
        assert.equal(meta.compressor.id, codec.split('(')[0].toLowerCase());
        const py = python(`
import zarr, json
g = zarr.open(${JSON.stringify(path)}, 'r')
print(json.dumps([g['v'][:].ravel().tolist(), list(g['s'][:])]))`) as [number[], string[]];
        assert.deepEqual(py[0], [...values]);
        assert.deepEqual(py[1], ['x', 'yy', 'zzz']);
        assert.deepEqual((await (await openZarrFile(path)).read('v')).data, values);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  },
);

test(
  'large arrays are chunked: 1-D by 1M values, 2-D by whole rows of about 4M values',
  needsPython,
  async () => {
    const dir = await tempDir();
    const path = join(dir, 's.zarr');
    try {
      python(`import zarr; zarr.open_group(${JSON.stringify(path)}, 'w'); print(1)`);
      const h = await openZarrFile(path, { writable: true });
      const n = 2_500_001;
      await h.createArray('long', {
        data: Int32Array.from({ length: n }, (_, i) => i),
        shape: [n],
        dtype: 'int32',
      });
      const rows = Float32Array.from({ length: 9000 * 1000 }, (_, i) => i % 1001);
      await h.createArray('wide', { data: rows, shape: [9000, 1000], dtype: 'float32' });
      const r = await openZarrFile(path);
      assert.deepEqual((await r.meta('long')).chunks, [1_000_000]);
      assert.deepEqual((await r.meta('wide')).chunks, [4000, 1000]);
      assert.deepEqual(
        (await r.read('long', [{ start: n - 2, end: n }])).data,
        new Int32Array([n - 2, n - 1]),
      );
      const py = python(`
import zarr, json
g = zarr.open(${JSON.stringify(path)}, 'r')
print(json.dumps([int(g['long'][-1]), g['long'].nchunks, float(g['wide'][8999, 999]), g['wide'].chunks]))`);
      assert.deepEqual(py, [n - 1, 3, (8999 * 1000 + 999) % 1001, [4000, 1000]]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test(
  'flush rewrites consolidated metadata so zarr.open_consolidated sees new elements',
  needsPython,
  async () => {
    const path = await tempCopy(TINY);
    try {
      python(`import zarr; zarr.consolidate_metadata(${JSON.stringify(path)}); print(1)`);
      const h = await openZarrFile(path, { writable: true });
      await h.createArray('obs/scnym_conf', {
        data: new Float32Array(200).fill(0.25),
        shape: [200],
        dtype: 'float32',
      });
      await h.remove('obs/group_id');
      await h.flush();
      const py = python(`
import zarr, json
g = zarr.open_consolidated(${JSON.stringify(path)}, mode='r')
print(json.dumps([sorted(g['obs'].keys()), float(g['obs/scnym_conf'][7])]))`);
      assert.deepEqual(py, [
        ['_index', 'cell_type', 'cluster_id', 'domain', 'sample_id', 'scnym_conf'],
        0.25,
      ]);
      // And our reader, through the consolidated metadata only.
      const r = await openZarr(getOnly(new FileSystemZarrStore(path)), path);
      assert.ok((await r.children('obs')).includes('scnym_conf'));
    } finally {
      await cleanup(path);
    }
  },
);

test('F-ordered arrays and dots in names read back in C order', needsPython, async () => {
  const dir = await tempDir();
  const path = join(dir, 's.zarr');
  try {
    python(`
import zarr, numpy as np, json
g = zarr.open_group(${JSON.stringify(path)}, 'w')
a = np.arange(60, dtype='f8').reshape(6, 10)
g.create_dataset('f', data=a, chunks=(4, 3), order='F')
g.create_dataset('n.1', data=np.array([True, False]))
print(json.dumps(a[1:5, 2:9].ravel().tolist()))`);
    const h = await openZarrFile(path);
    const expected = [];
    for (let i = 1; i < 5; i++) for (let j = 2; j < 9; j++) expected.push(i * 10 + j);
    const part = await h.read('f', [
      { start: 1, end: 5 },
      { start: 2, end: 9 },
    ]);
    assert.deepEqual(part, { data: Float64Array.from(expected), shape: [4, 7] });
    assert.deepEqual((await h.meta('f')).codecs, ['transpose', 'blosc:lz4']);
    assert.deepEqual(await h.read('n.1'), { data: new Uint8Array([1, 0]), shape: [2] });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a store without set/delete/rename cannot be opened for writing', async () => {
  await assert.rejects(
    openZarrWritable(getOnly(new FileSystemZarrStore(TINY)), TINY),
    /cannot be written/,
  );
});

// ---------------------------------------------------------------------------------------------
// Zarr v3 (zarrita writes v3 metadata; sharded chunks are assembled by hand)
// ---------------------------------------------------------------------------------------------

const BYTES = { name: 'bytes', configuration: { endian: 'little' } };
const ZSTD = { name: 'zstd', configuration: { level: 0, checksum: false } };

async function zstd(bytes: Uint8Array): Promise<Uint8Array> {
  const Zstd = (await import('numcodecs/zstd')).default;
  return Zstd.fromConfig({ id: 'zstd', level: 0 }).encode(bytes);
}

/** A v3 store: a group with a zstd array, a sharded array and a v3 string array. */
async function buildV3(): Promise<MapStore> {
  const store = new MapStore();
  const root = zarr.root(store.map);
  await zarr.create(root, {
    attributes: { 'encoding-type': 'anndata', 'encoding-version': '0.1.0' },
  });
  await zarr.create(root.resolve('obs'), { attributes: { 'encoding-type': 'dataframe' } });
  const arr = await zarr.create(root.resolve('obs/score'), {
    shape: [10],
    chunkShape: [4],
    dtype: 'float32',
    codecs: [BYTES, ZSTD],
    attributes: { 'encoding-type': 'array' },
  });
  await zarr.set(arr, null, {
    data: Float32Array.from({ length: 10 }, (_, i) => i * 1.5),
    shape: [10],
    stride: [1],
  });

  // One shard of 8 values in two inner chunks of 4, index (offset, length) pairs at the end.
  // zarrita cannot create sharded arrays in a Map (no getRange), so the metadata is written here.
  store.map.set(
    '/X/zarr.json',
    json(
      v3Array([8], 'int32', [8], 0, [
        {
          name: 'sharding_indexed',
          configuration: {
            chunk_shape: [4],
            codecs: [BYTES, ZSTD],
            index_codecs: [BYTES, { name: 'crc32c' }],
            index_location: 'end',
          },
        },
      ]),
    ),
  );
  const inner = await Promise.all(
    [0, 1].map((c) =>
      zstd(new Uint8Array(Int32Array.from({ length: 4 }, (_, i) => 10 * (4 * c + i)).buffer)),
    ),
  );
  const index = new BigUint64Array([
    0n,
    BigInt(inner[0].length),
    BigInt(inner[0].length),
    BigInt(inner[1].length),
  ]);
  const shard = new Uint8Array([
    ...inner[0],
    ...inner[1],
    ...new Uint8Array(index.buffer),
    0,
    0,
    0,
    0,
  ]);
  store.map.set('/X/c/0', shard);

  store.map.set(
    '/obs/names/zarr.json',
    json(v3Array([3], 'string', [3], '', [{ name: 'vlen-utf8', configuration: {} }, ZSTD])),
  );
  store.map.set('/obs/names/c/0', await zstd(encodeVlenUtf8(['a', 'ß', 'c c'])));
  return store;
}

test('reads Zarr v3: zstd chunks, a sharded array, strings', async () => {
  const store = await buildV3();
  const h = await openZarr(store, 'mem://v3.zarr');
  assert.equal(h.zarrFormat, 3);
  assert.deepEqual(await h.children(''), ['X', 'obs']);
  assert.deepEqual(await h.attrs('obs'), { 'encoding-type': 'dataframe' });
  assert.deepEqual(await h.meta('obs/score'), {
    shape: [10],
    dtype: 'float32',
    chunks: [4],
    codecs: ['bytes', 'zstd'],
  });
  assert.deepEqual(
    (await h.read('obs/score', [{ start: 3, end: 9 }])).data,
    new Float32Array([4.5, 6, 7.5, 9, 10.5, 12]),
  );
  assert.deepEqual(await h.meta('X'), {
    shape: [8],
    dtype: 'int32',
    chunks: [4],
    codecs: ['sharding_indexed(bytes,zstd)'],
  });
  assert.deepEqual((await h.read('X', [{ start: 3, end: 6 }])).data, new Int32Array([30, 40, 50]));
  assert.deepEqual(
    (await h.read('X')).data,
    Int32Array.from({ length: 8 }, (_, i) => 10 * i),
  );
  assert.deepEqual((await h.read('obs/names')).data, ['a', 'ß', 'c c']);

  store.map.set('/obs/score/c/1', new Uint8Array([40, 181, 47, 253, 0, 1, 2]));
  await rejectsNaming(
    h.read('obs/score', [{ start: 4, end: 6 }]),
    'mem://v3.zarr',
    'obs/score',
    /corrupt/,
  );
  store.map.set('/X/c/0', new Uint8Array(20));
  await rejectsNaming((await openZarr(store, 'mem://v3.zarr')).read('X'), 'mem://v3.zarr', 'X');
});

test('writes Zarr v3 elements and consolidates them inline in zarr.json', async () => {
  const store = await buildV3();
  // Mark the store consolidated, with a stale (empty) block that flush must refresh.
  const stale = JSON.parse(new TextDecoder().decode(store.map.get('/zarr.json')));
  stale.consolidated_metadata = { kind: 'inline', must_understand: false, metadata: {} };
  store.map.set('/zarr.json', json(stale));
  const h = await openZarrWritable(store, 'mem://v3.zarr');
  await h.createGroup('uns', { 'encoding-type': 'dict', 'encoding-version': '0.1.0' });
  await h.createArray('uns/title', {
    data: ['ünï'],
    shape: [],
    dtype: 'string',
    attrs: { 'encoding-type': 'string' },
  });
  await h.createArray('uns/n', { data: new Int32Array([3]), shape: [], dtype: 'int32' });
  await h.createArray('obs/label', { data: ['x', 'y', 'x'], shape: [3], dtype: 'string' });
  await h.createArray('obs/codes', { data: new Int8Array([1, -1, 0]), shape: [3], dtype: 'int8' });
  await h.flush();

  const doc = JSON.parse(new TextDecoder().decode(store.map.get('/obs/codes/zarr.json')));
  assert.equal(doc.data_type, 'int8');
  assert.deepEqual(doc.codecs, [BYTES, ZSTD]);
  const root = JSON.parse(new TextDecoder().decode(store.map.get('/zarr.json')));
  assert.equal(root.consolidated_metadata.kind, 'inline');
  const entries = root.consolidated_metadata.metadata;
  assert.deepEqual(Object.keys(entries).sort(), [
    'X',
    'obs',
    'obs/codes',
    'obs/label',
    'obs/names',
    'obs/score',
    'uns',
    'uns/n',
    'uns/title',
  ]);
  assert.deepEqual(entries.uns.consolidated_metadata.metadata, {});
  assert.deepEqual(root.attributes, { 'encoding-type': 'anndata', 'encoding-version': '0.1.0' });

  // Read back through the consolidated metadata alone (no listing), and through zarrita.
  const r = await openZarr(getOnly(store), 'mem://v3.zarr');
  assert.deepEqual(await r.children('uns'), ['n', 'title']);
  assert.deepEqual(await r.read('uns/title'), { data: ['ünï'], shape: [] });
  assert.deepEqual(await r.read('uns/n'), { data: new Int32Array([3]), shape: [] });
  assert.deepEqual((await r.read('obs/label')).data, ['x', 'y', 'x']);
  assert.deepEqual((await r.read('obs/codes')).data, new Int8Array([1, -1, 0]));
  const viaZarrita = await zarr.open.v3(zarr.root(store.map).resolve('obs/codes'), {
    kind: 'array',
  });
  assert.deepEqual((await zarr.get(viaZarrita)).data, new Int8Array([1, -1, 0]));
});

test('Zarr v3 on disk: a sharded store gets unsharded bytes+zstd arrays', async () => {
  const dir = await tempDir();
  const path = join(dir, 'v3.zarr');
  try {
    const built = await buildV3();
    const fsStore = new FileSystemZarrStore(path);
    for (const [key, value] of built.map) {
      if (!key.startsWith('/obs/')) await fsStore.set(key.slice(1), value);
    }
    const h = await openZarrFile(path, { writable: true });
    await h.createArray('extra', { data: new Float32Array([1, 2]), shape: [2], dtype: 'float32' });
    const doc = JSON.parse(await readFile(join(path, 'extra/zarr.json'), 'utf8'));
    assert.deepEqual(doc.codecs, [BYTES, ZSTD]);
    const r: Hierarchy = await openZarrFile(path);
    assert.deepEqual((await r.read('extra')).data, new Float32Array([1, 2]));
    assert.deepEqual((await r.read('X', [{ start: 6, end: 8 }])).data, new Int32Array([60, 70]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
