/** Array metadata (v2 `.zarray`, v3 `zarr.json`): validation and description. */
import type { DType } from '../hierarchy.js';
import { invalidMetadata, unsupported } from './errors.js';
import { asObject, type JsonObject } from './json.js';
import type { NodeMeta } from './meta-index.js';
import { join } from './paths.js';

/** Largest selection (and chunk) read at once: guards against absurd allocations. */
export const MAX_ELEMENTS = 2 ** 31;

export interface ParsedArray {
  shape: number[];
  /** Chunk shape as decoded: the inner chunk of a shard. */
  chunks: number[];
  dtype: DType;
  codecs: string[];
  /** zarrita registry names the chunks need. */
  codecIds: string[];
  /** The outermost compressor of unsharded chunks is blosc (their headers are checked). */
  blosc: boolean;
  fillValue: unknown;
}

const V2_DTYPES: Record<string, DType> = {
  b1: 'bool',
  i1: 'int8',
  i2: 'int16',
  i4: 'int32',
  i8: 'int64',
  u1: 'uint8',
  u2: 'uint16',
  u4: 'uint32',
  u8: 'uint64',
  f4: 'float32',
  f8: 'float64',
};

const V3_DTYPES = new Set<string>([...Object.values(V2_DTYPES), 'string']);

export function parseArray(
  node: NodeMeta,
  version: 2 | 3,
  file: string,
  path: string,
): ParsedArray {
  const key = join(path, version === 2 ? '.zarray' : 'zarr.json');
  const parsed =
    version === 2 ? parseV2Array(node.doc, file, key) : parseV3Array(node.doc, file, key);
  const chunkSize = parsed.chunks.reduce((a, b) => a * b, 1);
  if (chunkSize > MAX_ELEMENTS) {
    throw invalidMetadata(file, key, `chunk shape [${parsed.chunks}] is too large to decode`);
  }
  return parsed;
}

function parseV2Array(doc: JsonObject, file: string, key: string): ParsedArray {
  if (doc.zarr_format !== 2) throw invalidMetadata(file, key, 'zarr_format is not 2');
  const shape = checkShape(doc.shape, file, key);
  const chunks = checkChunks(doc.chunks, shape.length, file, key);
  if (doc.order !== undefined && doc.order !== 'C' && doc.order !== 'F') {
    throw invalidMetadata(file, key, `order ${JSON.stringify(doc.order)}`);
  }
  const sep = doc.dimension_separator;
  if (sep !== undefined && sep !== null && sep !== '.' && sep !== '/') {
    throw invalidMetadata(file, key, `dimension_separator ${JSON.stringify(sep)}`);
  }
  const filters = doc.filters === null || doc.filters === undefined ? [] : doc.filters;
  if (!Array.isArray(filters)) throw invalidMetadata(file, key, 'filters is not a list');
  const configs = [...filters, ...(doc.compressor ? [doc.compressor] : [])].map((c) =>
    checkV2Codec(c, file, key),
  );
  const dtype = v2DType(doc.dtype, file, key);
  if (doc.dtype === '|O' && filters.length === 0) {
    throw unsupported(file, key, 'object array without an object codec (expected vlen-utf8)');
  }
  const compressor = doc.compressor ? configs[configs.length - 1] : undefined;
  return {
    shape,
    chunks,
    dtype,
    codecs: [...(doc.order === 'F' ? ['transpose'] : []), ...configs.map(describeV2Codec)],
    codecIds: configs
      .filter((c) => c.id !== 'fixedscaleoffset')
      .map((c) => `numcodecs.${String(c.id)}`),
    blosc: compressor?.id === 'blosc',
    fillValue: doc.fill_value,
  };
}

function parseV3Array(doc: JsonObject, file: string, key: string): ParsedArray {
  if (doc.zarr_format !== 3) throw invalidMetadata(file, key, 'zarr_format is not 3');
  const shape = checkShape(doc.shape, file, key);
  const grid = asObject(doc.chunk_grid, file, key);
  if (grid.name !== 'regular')
    throw unsupported(file, key, `chunk grid ${JSON.stringify(grid.name)}`);
  const shardShape = checkChunks(
    asObject(grid.configuration, file, key).chunk_shape,
    shape.length,
    file,
    key,
  );
  const encoding = asObject(doc.chunk_key_encoding, file, key).name;
  if (encoding !== 'default' && encoding !== 'v2') {
    throw unsupported(file, key, `chunk key encoding ${JSON.stringify(encoding)}`);
  }
  if (Array.isArray(doc.storage_transformers) && doc.storage_transformers.length > 0) {
    throw unsupported(file, key, 'storage transformers');
  }
  const codecs = checkV3Codecs(doc.codecs, file, key);
  const sharding = codecs.find((c) => c.name === 'sharding_indexed');
  const chunks = sharding ? checkShard(sharding, shardShape, file, key) : shardShape;
  return {
    shape,
    chunks,
    dtype: v3DType(doc.data_type, file, key),
    codecs: codecs.map(describeV3Codec),
    codecIds: codecs.flatMap((c) => v3CodecIds(c, file, key)),
    blosc: !sharding && codecs[codecs.length - 1]?.name === 'blosc',
    fillValue: doc.fill_value,
  };
}

export interface V3Codec {
  name: string;
  configuration: JsonObject;
}

function checkV3Codecs(value: unknown, file: string, key: string): V3Codec[] {
  if (!Array.isArray(value)) throw invalidMetadata(file, key, 'codecs is not a list');
  return value.map((item) => {
    // A bare string is the spec's short form of a codec without configuration.
    if (typeof item === 'string') return { name: item, configuration: {} };
    const codec = asObject(item, file, key);
    if (typeof codec.name !== 'string') throw invalidMetadata(file, key, 'a codec has no name');
    const configuration =
      codec.configuration === undefined ? {} : asObject(codec.configuration, file, key);
    return { name: codec.name, configuration };
  });
}

/** Validates a sharding codec and returns its inner chunk shape. */
function checkShard(codec: V3Codec, shardShape: number[], file: string, key: string): number[] {
  const inner = checkChunks(codec.configuration.chunk_shape, shardShape.length, file, key);
  if (inner.some((n, i) => shardShape[i] % n !== 0)) {
    throw invalidMetadata(
      file,
      key,
      `inner chunks [${inner}] do not divide shards [${shardShape}]`,
    );
  }
  // zarrita reads the index from the end of each shard only.
  const location = codec.configuration.index_location;
  if (location !== undefined && location !== 'end') {
    throw unsupported(file, key, `shard index location ${JSON.stringify(location)}`);
  }
  const perShard = shardShape.reduce((a, n, i) => a * (n / inner[i]), 1);
  if (perShard > 2 ** 26) throw invalidMetadata(file, key, 'shard index is too large');
  checkV3Codecs(codec.configuration.codecs, file, key);
  checkV3Codecs(codec.configuration.index_codecs ?? [], file, key);
  return inner;
}

function v3CodecIds(codec: V3Codec, file: string, key: string): string[] {
  if (codec.name !== 'sharding_indexed') return [codec.name];
  const nested = [
    ...checkV3Codecs(codec.configuration.codecs, file, key),
    ...checkV3Codecs(codec.configuration.index_codecs ?? [], file, key),
  ];
  return nested.flatMap((c) => v3CodecIds(c, file, key));
}

function describeV3Codec(codec: V3Codec): string {
  // Inner codecs of a shard are raw JSON: their configuration may be absent.
  const config: JsonObject = codec.configuration ?? {};
  if (codec.name === 'blosc') return `blosc:${String(config.cname)}`;
  if (codec.name !== 'sharding_indexed') return codec.name;
  const inner = Array.isArray(config.codecs) ? config.codecs : [];
  const names = inner.map((c: unknown) =>
    typeof c === 'string' ? c : describeV3Codec(c as V3Codec),
  );
  return `sharding_indexed(${names.join(',')})`;
}

function checkV2Codec(value: unknown, file: string, key: string): JsonObject {
  const codec = asObject(value, file, key);
  if (typeof codec.id !== 'string') throw invalidMetadata(file, key, 'a codec has no id');
  return codec;
}

function describeV2Codec(codec: JsonObject): string {
  return codec.id === 'blosc' ? `blosc:${String(codec.cname)}` : String(codec.id);
}

function v2DType(value: unknown, file: string, key: string): DType {
  if (value === '|O') return 'string';
  const match = typeof value === 'string' ? /^[<>|]([biufUS])(\d+)$/.exec(value) : null;
  const dtype = match && (/[US]/.test(match[1]) ? 'string' : V2_DTYPES[match[1] + match[2]]);
  if (!dtype) throw unsupported(file, key, `data type ${JSON.stringify(value)}`, DTYPE_HINT);
  return dtype;
}

function v3DType(value: unknown, file: string, key: string): DType {
  if (typeof value === 'string' && V3_DTYPES.has(value)) return value as DType;
  throw unsupported(file, key, `data type ${JSON.stringify(value)}`, DTYPE_HINT);
}

const DTYPE_HINT = 'convert the array to float32, an integer type, bool or strings and re-save it';

function checkShape(value: unknown, file: string, key: string): number[] {
  if (!Array.isArray(value) || !value.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw invalidMetadata(file, key, `shape ${JSON.stringify(value)} is not a list of sizes`);
  }
  return value as number[];
}

function checkChunks(value: unknown, rank: number, file: string, key: string): number[] {
  if (
    !Array.isArray(value) ||
    value.length !== rank ||
    !value.every((n) => Number.isSafeInteger(n) && n > 0)
  ) {
    throw invalidMetadata(file, key, `chunk shape ${JSON.stringify(value)} does not fit the shape`);
  }
  return value as number[];
}
