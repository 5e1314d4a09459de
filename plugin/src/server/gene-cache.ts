/**
 * A gene-major copy of a dataset's expression matrix, so that colouring by a gene reads that
 * gene's values only (X is row-major in most files: one gene of CSR is spread over every row).
 *
 * Built once per dataset version by streaming the matrix core would feed the model (core's
 * chooseMatrix: X, else layers/counts or raw/X) in row blocks, memory bounded by SEGMENT_NNZ:
 * each group of rows is transposed and appended as one segment holding, gene after gene, the
 * gene's rows, stored values and log1p(CPM) values (core's normaliseBlock: what the model sees).
 * One gene is then one contiguous read per segment.
 *
 * Where: in the user's cache folder ($SCNYM_CACHE_DIR, else $XDG_CACHE_HOME/scnym or
 * ~/.cache/scnym; ~/Library/Caches/scnym on macOS; %LOCALAPPDATA%\scnym on Windows), under
 * gene-major/, never beside or inside the dataset: a dataset may be read-only or shared, and a
 * cache is derived data that can be deleted at any time. An entry is keyed by the dataset's real
 * path and a fingerprint of what the cache is made from (size, mtime and inode of the h5ad, or of
 * every file under a zarr store's X, layers, raw and var), so a changed file gets a new entry and
 * the old one (ours: it holds our manifest) is removed. Entries are built in a temporary folder
 * and renamed into place; an entry that exists and is not ours is refused, never replaced.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { homedir, platform } from 'node:os';
import { join } from 'node:path';
import { openAnnDataFile } from '@scnym/core/node';
import type { GeneValues } from '../shared/genes.js';

/** Stored entries per segment: 12 bytes each (row, stored value, log1p(CPM)). */
const SEGMENT_NNZ = 4 * 1024 * 1024;
const BYTES_PER_ENTRY = 12;
const MANIFEST = 'scnym-gene-major.json';
const DATA = 'segments.bin';
const INDEX = 'index.bin';
const VERSION = 1;

export interface GeneCacheOptions {
  /** The folder holding entries (default: cacheRoot()). */
  root?: string;
  signal?: AbortSignal;
  /** Rows transposed so far, of all rows. */
  onProgress?: (done: number, total: number) => void;
  /** Entries per segment (tests use small ones to get several segments). */
  segmentNnz?: number;
}

interface Manifest {
  version: number;
  source: string;
  fingerprint: string;
  matrix: string;
  content: string;
  nObs: number;
  nGenes: number;
  /** Gene names of the matrix (var_names, or raw.var's for raw/X), then its string var columns. */
  names: Record<string, string[]>;
  /** Byte offset of each segment in segments.bin. */
  segments: number[];
  /** Seconds the build took. */
  seconds: number;
}

/** Where gene-major entries live unless told otherwise. */
export function cacheRoot(): string {
  const env = process.env;
  let base: string;
  if (env.SCNYM_CACHE_DIR) return join(env.SCNYM_CACHE_DIR, 'gene-major');
  if (platform() === 'darwin') base = join(homedir(), 'Library', 'Caches');
  else if (platform() === 'win32') base = env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local');
  else base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'scnym', 'gene-major');
}

/** A zarr store's top-level elements the cache is not made from (a Save into obs keeps it). */
const NOT_CACHED = new Set(['obs', 'obsm', 'obsp', 'uns', 'varm', 'varp']);

/**
 * The store's consolidated metadata, a copy of every element's: rewritten by each Save, while
 * X's own metadata files (in the fingerprint) change with X.
 */
const CONSOLIDATED = new Set(['.zmetadata', 'zarr.json']);

/**
 * What the cache is made from, as a hash: the h5ad file's identity, or every file of a zarr
 * store except obs, obsm, obsp and uns and the consolidated metadata (a Save into obs leaves the
 * cache valid).
 */
export async function fingerprint(path: string): Promise<string> {
  const hash = createHash('sha256');
  const info = await stat(path);
  if (!info.isDirectory()) {
    hash.update(`${info.size}:${info.mtimeMs}:${info.ino}`);
    return hash.digest('hex');
  }
  const walk = async (dir: string, rel: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (rel === '' && (NOT_CACHED.has(e.name) || CONSOLIDATED.has(e.name))) continue;
      const p = join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(p, r);
      else if (e.isFile()) {
        const s = await stat(p);
        hash.update(`${r}\0${s.size}:${s.mtimeMs}:${s.ino}\n`);
      }
    }
  };
  await walk(path, '');
  return hash.digest('hex');
}

/**
 * A cheap check of the same, for every gene request (`fingerprint` walks every chunk file: tens
 * of ms at a million cells): the h5ad file's identity, or for a zarr store the folders and
 * metadata files of its groups and arrays (size, mtime, inode), never an array's chunks. A
 * writer that replaces X (anndata's write_zarr, zarr writing a chunk: a new file renamed into
 * the array's folder, which changes the folder's mtime) changes it; so does our own Save (its
 * staging folder and consolidated metadata at the top). Where it changed, `fingerprint` says
 * whether what the cache is made from did.
 */
export async function quickFingerprint(path: string): Promise<string> {
  const info = await stat(path);
  if (!info.isDirectory()) return fingerprint(path);
  const hash = createHash('sha256');
  const add = (rel: string, s: { size: number; mtimeMs: number; ino: number } | null) =>
    hash.update(`${rel}\0${s ? `${s.size}:${s.mtimeMs}:${s.ino}` : '-'}\n`);
  const node = async (dir: string, rel: string): Promise<void> => {
    add(rel, await stat(dir));
    const array = await zarrArray(dir);
    if (array) {
      for (const m of ['.zarray', '.zattrs', 'zarr.json']) {
        add(`${rel}/${m}`, await stat(join(dir, m)).catch(() => null));
      }
      return; // its chunks are left to the folder's mtime
    }
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (rel === '' && NOT_CACHED.has(e.name)) continue;
      const p = join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await node(p, r);
      else if (e.isFile()) add(r, await stat(p));
    }
  };
  await node(path, '');
  return hash.digest('hex');
}

/** Whether a zarr folder is an array (v2 `.zarray`, v3 `zarr.json` of node_type array). */
async function zarrArray(dir: string): Promise<boolean> {
  if (await stat(join(dir, '.zarray')).catch(() => null)) return true;
  const v3 = await readFile(join(dir, 'zarr.json'), 'utf8').catch(() => null);
  return v3 !== null && /"node_type"\s*:\s*"array"/.test(v3);
}

/** A built entry: reads one gene's values for every cell. */
export class GeneMajorCache {
  private constructor(
    /** The entry's folder. */
    readonly dir: string,
    private readonly manifest: Manifest,
    private readonly pointers: Uint32Array[],
    private readonly data: FileHandle,
    /** True when this call built it (false: it was there). */
    readonly built: boolean,
  ) {}

  get nObs(): number {
    return this.manifest.nObs;
  }
  get matrix(): string {
    return this.manifest.matrix;
  }
  /** Seconds the build took (when it was built). */
  get buildSeconds(): number {
    return this.manifest.seconds;
  }
  /** Gene names by naming: 'var_names' first, then the matrix's string var columns. */
  get names(): Record<string, string[]> {
    return this.manifest.names;
  }

  /**
   * The entry for `datasetPath`, built first when there is none for this version of the file.
   * Not safe to call twice at once for one dataset in one process (the server keeps one call).
   */
  static async open(datasetPath: string, options: GeneCacheOptions = {}): Promise<GeneMajorCache> {
    const source = await realpath(datasetPath);
    const print = await fingerprint(source);
    const root = options.root ?? cacheRoot();
    await mkdir(root, { recursive: true });
    const sourceKey = sha(source).slice(0, 16);
    const dir = join(root, `${sourceKey}-${print.slice(0, 16)}`);
    const existing = await readManifest(dir);
    if (existing === 'foreign') {
      throw new Error(
        `${dir} exists and is not an scNym gene cache: not replacing it (move it away or set SCNYM_CACHE_DIR)`,
      );
    }
    if (existing && existing.source === source && existing.fingerprint === print) {
      return GeneMajorCache.load(dir, existing, false);
    }
    if (existing) {
      throw new Error(`${dir} holds the gene cache of another file: not replacing it`);
    }
    const manifest = await build(source, print, root, dir, options);
    await removeStale(root, sourceKey, dir);
    return GeneMajorCache.load(dir, manifest, true);
  }

  private static async load(
    dir: string,
    manifest: Manifest,
    built: boolean,
  ): Promise<GeneMajorCache> {
    const bytes = await readFile(join(dir, INDEX));
    const n = manifest.nGenes + 1;
    const all = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const pointers = manifest.segments.map((_, s) => all.subarray(s * n, (s + 1) * n));
    const data = await open(join(dir, DATA), 'r');
    return new GeneMajorCache(dir, manifest, pointers, data, built);
  }

  /** The gene's value in every cell (0 where none is stored). */
  async gene(index: number, values: GeneValues): Promise<Float32Array> {
    const { nGenes, nObs, segments } = this.manifest;
    if (!Number.isInteger(index) || index < 0 || index >= nGenes) {
      throw new RangeError(`gene ${index} is not one of the ${nGenes} genes`);
    }
    const out = new Float32Array(nObs);
    await Promise.all(
      segments.map(async (offset, s) => {
        const ptr = this.pointers[s];
        const n = ptr[index + 1] - ptr[index];
        if (n === 0) return;
        const buf = new Uint8Array(n * BYTES_PER_ENTRY);
        await this.data.read(buf, 0, buf.byteLength, offset + ptr[index] * BYTES_PER_ENTRY);
        const rows = new Uint32Array(buf.buffer, 0, n);
        const vals = new Float32Array(buf.buffer, (values === 'raw' ? 1 : 2) * n * 4, n);
        for (let k = 0; k < n; k++) out[rows[k]] = vals[k];
      }),
    );
    return out;
  }

  close(): Promise<void> {
    return this.data.close();
  }
}

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The entry's manifest; null when there is no entry; 'foreign' for a path that is not ours. */
async function readManifest(dir: string): Promise<Manifest | null | 'foreign'> {
  const info = await stat(dir).catch(() => null);
  if (!info) return null;
  if (!info.isDirectory()) return 'foreign';
  try {
    const m = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Manifest;
    return m.version === VERSION ? m : 'foreign';
  } catch {
    return 'foreign';
  }
}

/** Removes older entries of the same dataset (ours: they hold our manifest). */
async function removeStale(root: string, sourceKey: string, keep: string): Promise<void> {
  for (const name of await readdir(root)) {
    const dir = join(root, name);
    if (!name.startsWith(`${sourceKey}-`) || dir === keep) continue;
    const m = await readManifest(dir);
    if (m && m !== 'foreign') await rm(dir, { recursive: true, force: true });
  }
}

async function build(
  source: string,
  print: string,
  root: string,
  dir: string,
  options: GeneCacheOptions,
): Promise<Manifest> {
  const started = performance.now();
  // Loaded only here: core's main entry brings TF.js, which the server otherwise never needs.
  const { chooseMatrix, matrixGeneNamings, normaliseBlock } = await import('@scnym/core');
  const ad = await openAnnDataFile(source);
  const tmp = join(root, `.building-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp);
  let data: FileHandle | undefined;
  let index: FileHandle | undefined;
  try {
    const m = await chooseMatrix(ad, undefined);
    const [nObs, nGenes] = m.reader.shape;
    const names = await matrixGeneNamings(ad, m);
    data = await open(join(tmp, DATA), 'wx');
    index = await open(join(tmp, INDEX), 'wx');
    const segments: number[] = [];
    let offset = 0;
    const budget = options.segmentNnz ?? SEGMENT_NNZ;
    const step = m.reader.preferredBlockRows;
    let pending: { raw: Csr; log: Csr; rowStart: number }[] = [];
    let pendingNnz = 0;
    const flush = async () => {
      if (pending.length === 0) return;
      const { bytes, pointers } = transpose(pending, pendingNnz, nGenes);
      segments.push(offset);
      await data!.write(bytes, 0, bytes.byteLength, offset);
      offset += bytes.byteLength;
      await index!.write(new Uint8Array(pointers.buffer));
      pending = [];
      pendingNnz = 0;
    };
    for (let start = 0; start < nObs; start += step) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('cancelled');
      const end = Math.min(nObs, start + step);
      const raw = await m.reader.rows(start, end);
      const log = normaliseBlock(m, raw, start, end);
      const nnz = raw.indptr[raw.nRows] - raw.indptr[0];
      if (pendingNnz > 0 && pendingNnz + nnz > budget) await flush();
      pending.push({ raw, log, rowStart: start });
      pendingNnz += nnz;
      options.onProgress?.(end, nObs);
    }
    await flush();
    const manifest: Manifest = {
      version: VERSION,
      source,
      fingerprint: print,
      matrix: m.reader.name,
      content: m.content.kind,
      nObs,
      nGenes,
      names,
      segments,
      seconds: (performance.now() - started) / 1000,
    };
    await data.sync();
    await index.sync();
    await writeNew(join(tmp, MANIFEST), JSON.stringify(manifest));
    await data.close();
    await index.close();
    data = index = undefined;
    try {
      await rename(tmp, dir);
    } catch (err) {
      // Another build got there first: use its entry if it is one, else say why.
      const theirs = await readManifest(dir);
      if (!theirs || theirs === 'foreign') throw err;
      await rm(tmp, { recursive: true, force: true });
      return theirs;
    }
    return manifest;
  } catch (err) {
    await data?.close().catch(() => undefined);
    await index?.close().catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    await ad.close();
  }
}

interface Csr {
  nRows: number;
  indptr: Int32Array | Float64Array;
  indices: Int32Array;
  data: Float32Array;
}

/**
 * Row blocks (stored values and their log1p(CPM), entry for entry) as one gene-major segment:
 * per gene, its rows (uint32), stored values, then log1p(CPM) values (float32), genes in order;
 * `pointers[g]` is gene g's first entry.
 */
function transpose(
  blocks: readonly { raw: Csr; log: Csr; rowStart: number }[],
  nnz: number,
  nGenes: number,
): { bytes: Uint8Array; pointers: Uint32Array } {
  const pointers = new Uint32Array(nGenes + 1);
  for (const { raw } of blocks) {
    for (let k = raw.indptr[0]; k < raw.indptr[raw.nRows]; k++) pointers[raw.indices[k] + 1]++;
  }
  for (let g = 0; g < nGenes; g++) pointers[g + 1] += pointers[g];
  const buffer = new ArrayBuffer(nnz * BYTES_PER_ENTRY);
  const u32 = new Uint32Array(buffer);
  const f32 = new Float32Array(buffer);
  const cursor = new Uint32Array(nGenes);
  for (const { raw, log, rowStart } of blocks) {
    // The log block may be rebased to start at 0 (core's normalisers keep the pattern).
    const shift = log.indptr[0] - raw.indptr[0];
    for (let r = 0; r < raw.nRows; r++) {
      const row = rowStart + r;
      for (let k = raw.indptr[r]; k < raw.indptr[r + 1]; k++) {
        const g = raw.indices[k];
        const first = pointers[g];
        const n = pointers[g + 1] - first;
        const base = 3 * first;
        const i = cursor[g]++;
        u32[base + i] = row;
        f32[base + n + i] = raw.data[k];
        f32[base + 2 * n + i] = log.data[k + shift];
      }
    }
  }
  return { bytes: new Uint8Array(buffer), pointers };
}

async function writeNew(path: string, text: string): Promise<void> {
  const f = await open(path, 'wx');
  try {
    await f.writeFile(text);
    await f.sync();
  } finally {
    await f.close();
  }
}
