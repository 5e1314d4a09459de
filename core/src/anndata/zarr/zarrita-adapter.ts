/** What zarrita reads goes through here: the store adapter, blosc header and chunk checks. */
import * as zarr from 'zarrita';
import { AnnDataError, ScnymError } from '../../errors.js';
import { CORRUPT_HINT, messageOf } from './errors.js';
import { METADATA_NAMES } from './meta-index.js';
import { baseName } from './paths.js';
import { readKey, type ByteRange, type ZarrStore } from './store.js';

/**
 * The store as zarrita sees it: absolute keys, a `getRange` for sharding, errors that name the
 * file, and a check of blosc chunk headers (c-blosc trusts the header, so a truncated chunk
 * would otherwise decode to garbage without an error).
 */
export class ZarritaAdapter implements zarr.AsyncReadable {
  private readonly bloscArrays = new Set<string>();

  constructor(
    private readonly store: ZarrStore,
    private readonly source: string,
    private readonly served: (key: string) => Uint8Array | undefined,
  ) {}

  checkBlosc(arrayPath: string): void {
    this.bloscArrays.add(arrayPath);
  }

  reset(): void {
    this.bloscArrays.clear();
  }

  async get(absKey: zarr.AbsolutePath): Promise<Uint8Array | undefined> {
    const key = absKey.slice(1);
    const bytes = this.served(key) ?? (await readKey(this.store, this.source, key));
    if (bytes && this.bloscArrays.size > 0 && this.isBloscChunk(key)) checkBloscHeader(bytes);
    return bytes && ownBuffer(bytes);
  }

  async getRange(absKey: zarr.AbsolutePath, range: ByteRange): Promise<Uint8Array | undefined> {
    const key = absKey.slice(1);
    try {
      if (this.store.getRange) {
        const part = await this.store.getRange(key, range);
        return part && ownBuffer(part);
      }
    } catch (err) {
      throw new AnnDataError(`cannot read ${key}: ${messageOf(err)}`, {
        file: this.source,
        cause: err,
      });
    }
    const bytes = await readKey(this.store, this.source, key);
    if (!bytes) return undefined;
    if ('suffixLength' in range) return bytes.slice(Math.max(0, bytes.length - range.suffixLength));
    return bytes.slice(range.offset, range.offset + range.length);
  }

  private isBloscChunk(key: string): boolean {
    if (METADATA_NAMES.has(baseName(key))) return false;
    for (let i = key.lastIndexOf('/'); i > 0; i = key.lastIndexOf('/', i - 1)) {
      if (this.bloscArrays.has(key.slice(0, i))) return true;
    }
    return false;
  }
}

/** zarrita's vlen-utf8 decoder reads `bytes.buffer` from 0, so views must become copies. */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return whole ? bytes : bytes.slice();
}

function checkBloscHeader(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 16) throw new Error(`blosc chunk of ${bytes.length} bytes has no header`);
  const compressedSize = view.getUint32(12, true);
  if (compressedSize !== bytes.length) {
    throw new Error(`blosc chunk has ${bytes.length} bytes, its header says ${compressedSize}`);
  }
}

/** Validates every decoded chunk: codecs can return short or garbage data without failing. */
export const withChunkChecks = zarr.defineArrayExtension(
  (array, opts: { expected: number; file: string; path: string }) => ({
    async getChunk(coords: number[], options?: zarr.GetOptions) {
      const fail = (detail: string, cause?: unknown) =>
        new AnnDataError(`chunk ${coords.join('.') || '0'} is corrupt or truncated (${detail})`, {
          file: opts.file,
          element: opts.path,
          hint: CORRUPT_HINT,
          cause,
        });
      let chunk: Awaited<ReturnType<typeof array.getChunk>>;
      try {
        chunk = await array.getChunk(coords, options);
      } catch (err) {
        if (err instanceof ScnymError) throw err;
        throw fail(messageOf(err instanceof Error && err.cause ? err.cause : err), err);
      }
      if (chunk.data.length !== opts.expected) {
        throw fail(`${chunk.data.length} values instead of ${opts.expected}`);
      }
      return chunk;
    },
  }),
);
