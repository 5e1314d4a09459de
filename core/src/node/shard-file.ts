/**
 * One shard's predictions on disk (`scnym predict --shard i/N`), until `scnym merge` puts them
 * into the query: an 8-byte signature, the header's length (uint32), the header (JSON: the rows,
 * the query's and the model's fingerprints, what the merge writes), then the arrays of its rows,
 * little-endian, each starting at a multiple of 8 bytes: codes (int32), confidence (float32),
 * probabilities (rows × classes, float32), the embedding (rows × dim, float32) and, from format 2,
 * the novelty score (rows × noveltyDim, float32; a format-1 shard has none).
 * Written like every scNym output: under a temporary name beside it, synced, then renamed, under
 * its lock (scratch.ts, lock.ts); an existing file is replaced only with overwrite and only if it
 * is a shard file.
 */
import { mkdir, open, rename, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ScnymError, throwIfAborted } from '../errors.js';
import type { ModelCard } from '../model/files.js';
import type { PartArrays, RowRange } from '../row-ranges.js';
import { failpoint } from './failpoint.js';
import { withLocks } from './lock.js';
import { settle } from './recover.js';
import { withTemporary } from './scratch.js';
import { checkOutput, SHARD_SIGNATURE, type OutputTarget } from './targets.js';

export const SHARD_EXTENSION = '.scnym-shard';
export const SHARD_FORMAT_VERSION = 2;
/** Far above any real header (a 60,000-gene model card is ~2 MB). */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;
/** Bytes per read or write call (Node's are limited to 2 GiB). */
const IO_BYTES = 1 << 28;

export interface ShardHeader {
  format: 'scnym-shard';
  formatVersion: number;
  /** This is shard `index` of `count` (0-based, as Slurm's and Kubernetes' indices are). */
  shard: { index: number; count: number };
  /** The query rows this shard holds, of `nObs`. */
  rows: RowRange;
  nObs: number;
  query: {
    /** As given to predict, for messages. */
    file: string;
    /** Of its cells, genes and the matrix predicted (shards.ts queryFingerprint). */
    fingerprint: string;
    matrix: string;
  };
  model: { source: string | null; fingerprint: string };
  /** What the merge writes, the same in every shard. */
  output: { keyAdded: string | null; unknownThreshold: number | null; embedding: boolean };
  /** The model's card, for the keys the merge writes (uns scNym_train_results). */
  card: ModelCard;
  classNames: string[];
  embeddingDim: number;
  /** 1 with a novelty score, 0 (or absent, format 1) without. */
  noveltyDim?: number;
  nMissingGenes: number;
  created: string;
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;

/** Where each array starts and how long it is (values), after a header of `headerBytes`. */
function layout(header: ShardHeader, headerBytes: number) {
  const n = header.rows.end - header.rows.start;
  const sizes = {
    codes: n,
    confidence: n,
    probabilities: n * header.classNames.length,
    embedding: n * header.embeddingDim,
    novelty: n * (header.noveltyDim ?? 0),
  };
  let at = align8(12 + headerBytes);
  const offsets = {} as Record<keyof PartArrays, number>;
  for (const key of Object.keys(sizes) as (keyof PartArrays)[]) {
    offsets[key] = at;
    at = align8(at + 4 * sizes[key]);
  }
  return { sizes, offsets, fileBytes: at };
}

/** The output target of a shard file, for checkOutput. */
export function shardTarget(path: string, inputs: string[], overwrite?: boolean): OutputTarget {
  return { path, flag: '--out', holds: 'shard', overwrite, inputs };
}

export async function writeShardFile(
  path: string,
  header: ShardHeader,
  arrays: PartArrays,
  options: {
    inputs: string[];
    overwrite?: boolean;
    signal?: AbortSignal;
    onNotice?: (message: string) => void;
  },
): Promise<void> {
  const target = shardTarget(path, options.inputs, options.overwrite);
  await checkOutput(target);
  await mkdir(dirname(resolve(path)), { recursive: true });
  const json = new TextEncoder().encode(JSON.stringify(header));
  const { sizes, offsets, fileBytes } = layout(header, json.length);
  for (const key of Object.keys(sizes) as (keyof PartArrays)[]) {
    if (arrays[key].length !== sizes[key]) {
      throw new RangeError(`shard ${key} has ${arrays[key].length} values, not ${sizes[key]}`);
    }
  }
  await withLocks(
    [path],
    async () => {
      await settle(path, false, options.onNotice);
      await checkOutput(target); // again: it may have changed while we waited for the lock
      await withTemporary(path, async (tmp) => {
        const fh = await open(tmp, 'wx');
        try {
          const start = Buffer.alloc(12);
          start.write(SHARD_SIGNATURE, 0, 'latin1');
          start.writeUInt32LE(json.length, 8);
          await fh.write(start, 0, 12, 0);
          await fh.write(json, 0, json.length, 12);
          for (const key of Object.keys(offsets) as (keyof PartArrays)[]) {
            throwIfAborted(options.signal);
            const a = arrays[key];
            await writeAll(fh, new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offsets[key]);
            failpoint('shard');
          }
          await fh.truncate(fileBytes);
          await fh.sync();
        } finally {
          await fh.close();
        }
        throwIfAborted(options.signal);
        failpoint('shard');
        await rename(tmp, path);
        failpoint('shard');
      });
    },
    { signal: options.signal, onWait: options.onNotice },
  );
}

async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let at = 0; at < bytes.length; at += IO_BYTES) {
    const part = bytes.subarray(at, Math.min(bytes.length, at + IO_BYTES));
    await fh.write(part, 0, part.length, position + at);
  }
}

/** A shard file opened: its checked header, and a reader of its arrays into given views. */
export interface ShardFile {
  path: string;
  header: ShardHeader;
  /** Reads the arrays into `into` (views of the right sizes, e.g. PredictionAssembly.slot). */
  readInto(into: PartArrays): Promise<void>;
}

/** Reads and checks a shard file's header (the arrays are read by readInto). */
export async function openShardFile(path: string): Promise<ShardFile> {
  const bad = (problem: string, hint = 'write it again with scnym predict --shard') =>
    new ScnymError(problem, { file: path, code: 'bad-input', hint });
  const fh = await open(path, 'r');
  let header: ShardHeader;
  let length: number;
  try {
    const info = await fh.stat();
    if (!info.isFile()) throw bad('is not a file');
    const start = Buffer.alloc(12);
    const { bytesRead } = await fh.read(start, 0, 12, 0);
    if (bytesRead < 12 || start.toString('latin1', 0, 8) !== SHARD_SIGNATURE) {
      throw bad(
        'is not a shard written by scnym predict --shard',
        `give merge the ${SHARD_EXTENSION} files (or their folder)`,
      );
    }
    length = start.readUInt32LE(8);
    if (length > MAX_HEADER_BYTES || 12 + length > info.size) throw bad('has a damaged header');
    const json = Buffer.alloc(length);
    await fh.read(json, 0, length, 12);
    try {
      header = JSON.parse(json.toString('utf8')) as ShardHeader;
    } catch {
      throw bad('has a damaged header');
    }
    checkHeader(header, bad);
    const { fileBytes } = layout(header, length);
    if (info.size !== fileBytes) {
      throw bad(`is ${info.size} bytes, not the ${fileBytes} its header describes`);
    }
  } finally {
    await fh.close();
  }
  const { offsets, sizes } = layout(header, length);
  return {
    path,
    header,
    readInto: async (into) => {
      const f = await open(path, 'r');
      try {
        for (const key of Object.keys(offsets) as (keyof PartArrays)[]) {
          const a = into[key];
          if (a.length !== sizes[key]) throw new RangeError(`${key}: ${a.length} ≠ ${sizes[key]}`);
          const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
          for (let at = 0; at < bytes.length; at += IO_BYTES) {
            const part = bytes.subarray(at, Math.min(bytes.length, at + IO_BYTES));
            const { bytesRead } = await f.read(part, 0, part.length, offsets[key] + at);
            if (bytesRead !== part.length) throw bad('ended early (was it changed meanwhile?)');
          }
        }
      } finally {
        await f.close();
      }
    },
  };
}

function checkHeader(h: ShardHeader, bad: (problem: string, hint?: string) => ScnymError): void {
  if (h.format !== 'scnym-shard') throw bad('is not a shard written by scnym predict --shard');
  if (h.formatVersion > SHARD_FORMAT_VERSION) {
    throw bad(
      `is shard format version ${h.formatVersion}; this scNym reads up to ${SHARD_FORMAT_VERSION}`,
      'merge with the scNym version that wrote the shards',
    );
  }
  const int = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  const ok =
    int(h.nObs) &&
    int(h.rows?.start) &&
    int(h.rows?.end) &&
    h.rows.start <= h.rows.end &&
    h.rows.end <= h.nObs &&
    int(h.shard?.index) &&
    int(h.shard?.count) &&
    h.shard.index < h.shard.count &&
    Array.isArray(h.classNames) &&
    h.classNames.length > 0 &&
    int(h.embeddingDim) &&
    (h.noveltyDim === undefined || h.noveltyDim === 0 || h.noveltyDim === 1) &&
    typeof h.query?.fingerprint === 'string' &&
    typeof h.model?.fingerprint === 'string' &&
    typeof h.output === 'object' &&
    typeof h.card === 'object';
  if (!ok) throw bad('has a damaged header');
}
