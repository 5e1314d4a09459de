// Property tests: whatever bytes or metadata a file holds, opening and inspecting it either works
// or fails with one of our typed errors (a ScnymError naming the file) — never an unhandled
// exception, never a hang.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { ScnymError } from '../../core/src/errors.js';
import { openAnnData } from '../../core/src/anndata/read.js';
import { inspect } from '../../core/src/inspect.js';
import { openZarr, type ZarrStore } from '../../core/src/anndata/zarr.js';
import { openAnnDataFile } from '../../core/src/node/open.js';
import { sharedFile } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const TIME_LIMIT_MS = 20_000;

function loadStore(dir: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(dir, p).split('\\').join('/'), new Uint8Array(readFileSync(p)));
    }
  };
  walk(dir);
  return files;
}

function memoryStore(files: Map<string, Uint8Array>): ZarrStore {
  return {
    async get(key) {
      return files.get(key);
    },
    async list(prefix) {
      const base = prefix ? `${prefix.replace(/\/$/, '')}/` : '';
      const names = new Set<string>();
      for (const k of files.keys())
        if (k.startsWith(base)) names.add(k.slice(base.length).split('/')[0]);
      return [...names].sort();
    },
  };
}

/** Opens and fully inspects; resolves to 'ok' or the typed error, rejects on anything else. */
async function readAll(open: () => Promise<import('../../core/src/anndata/types.js').AnnData>) {
  let timer: NodeJS.Timeout | undefined;
  const work = (async () => {
    try {
      const ad = await open();
      try {
        await inspect(ad);
        for (const name of await ad.obsColumnNames()) await ad.obsColumn(name);
        for (const key of await ad.obsmKeys()) await ad.obsm(key, [0]).catch(rethrowUntyped);
      } finally {
        await ad.close();
      }
      return 'ok' as const;
    } catch (err) {
      rethrowUntyped(err);
      return 'typed error' as const;
    }
  })();
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`reader hung for ${TIME_LIMIT_MS} ms`)),
      TIME_LIMIT_MS,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function rethrowUntyped(err: unknown): void {
  if (!(err instanceof ScnymError)) throw err;
  assert.ok(err.message.length > 0);
}

const base = loadStore(sharedFile('tiny', 'reference.zarr'));
const metadataKeys = [...base.keys()].filter((k) => /(^|\/)\.(zarray|zattrs|zgroup)$/.test(k));
const chunkKeys = [...base.keys()].filter((k) => !/(^|\/)\.z/.test(k));

const jsonValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -3, max: 1 << 30 }),
  fc.double({ noNaN: false }),
  fc.string({ maxLength: 8 }),
  fc.array(fc.integer({ min: -2, max: 1000 }), { maxLength: 3 }),
);

/** One change to a zarr store: corrupt a metadata field, a chunk's bytes, or delete a key. */
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('field' as const),
    key: fc.constantFrom(...metadataKeys),
    field: fc.constantFrom(
      'shape',
      'chunks',
      'dtype',
      'compressor',
      'encoding-type',
      'categories',
      '_index',
      'column-order',
      'fill_value',
      'filters',
      'zarr_format',
      'order',
      'ordered',
      'encoding-version',
    ),
    value: jsonValue,
  }),
  fc.record({
    kind: fc.constant('json' as const),
    key: fc.constantFrom(...metadataKeys),
    text: fc.string({ maxLength: 20 }),
  }),
  fc.record({
    kind: fc.constant('bytes' as const),
    key: fc.constantFrom(...chunkKeys),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({
    kind: fc.constant('truncate' as const),
    key: fc.constantFrom(...chunkKeys),
    keep: fc.nat(),
  }),
  fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom(...base.keys()) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function apply(files: Map<string, Uint8Array>, m: Mutation): void {
  const old = files.get(m.key);
  if (!old) return;
  switch (m.kind) {
    case 'field': {
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(new TextDecoder().decode(old));
      } catch {
        return; // an earlier mutation already broke this file's JSON
      }
      if (json === null || typeof json !== 'object') return;
      json[m.field] = m.value;
      files.set(m.key, new TextEncoder().encode(JSON.stringify(json)));
      break;
    }
    case 'json':
      files.set(m.key, new TextEncoder().encode(m.text));
      break;
    case 'bytes': {
      const copy = old.slice();
      copy.set(
        m.bytes.subarray(0, Math.max(0, copy.length - (m.at % Math.max(1, copy.length)))),
        m.at % Math.max(1, copy.length),
      );
      files.set(m.key, copy);
      break;
    }
    case 'truncate':
      files.set(m.key, old.slice(0, m.keep % Math.max(1, old.length)));
      break;
    case 'delete':
      files.delete(m.key);
      break;
  }
}

test('fuzz: corrupted zarr metadata and chunks give typed errors, never crashes or hangs', async () => {
  const outcomes = { ok: 0, 'typed error': 0 };
  await fc.assert(
    fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
      const files = new Map(base);
      for (const m of mutations) apply(files, m);
      outcomes[
        await readAll(async () => openAnnData(await openZarr(memoryStore(files), 'fuzz.zarr')))
      ]++;
    }),
    { numRuns: RUNS },
  );
  // The corruption must actually bite: most runs should end in a typed error.
  assert.ok(outcomes['typed error'] > RUNS / 4, JSON.stringify(outcomes));
});

test('fuzz: corrupted h5ad bytes give typed errors, never crashes or hangs', async () => {
  const original = new Uint8Array(readFileSync(sharedFile('tiny', 'reference.h5ad')));
  const outcomes = { ok: 0, 'typed error': 0 };
  const dir = tempDir();
  let n = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          at: fc.nat({ max: original.length - 1 }),
          bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }),
        }),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
      fc.option(fc.nat({ max: original.length }), { nil: undefined }),
      async (edits, cut) => {
        const bytes = original.slice(0, cut ?? original.length);
        for (const e of edits)
          if (e.at < bytes.length) bytes.set(e.bytes.subarray(0, bytes.length - e.at), e.at);
        const file = join(dir, `fuzz-${n++}.h5ad`);
        writeFileSync(file, bytes);
        outcomes[await readAll(() => openAnnDataFile(file))]++;
      },
    ),
    { numRuns: Math.max(20, Math.floor(RUNS / 3)) },
  );
  assert.ok(outcomes['typed error'] > 0, JSON.stringify(outcomes));
});
