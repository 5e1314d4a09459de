/**
 * Additive AnnData writer: adds obs columns, obsm arrays and uns entries, written once over
 * WritableHierarchy. Everything is written under a hidden staging group first and then
 * published in one step (`WritableHierarchy.publish`), so a run's keys appear all together or
 * not at all, and a cancelled write leaves the file as it was. Existing keys are never touched
 * unless the caller asks to overwrite.
 */
import { AnnDataError, WriteConflictError, throwIfAborted } from '../errors.js';
import { STAGE_PREFIX, type Attrs, type WritableHierarchy } from './hierarchy.js';

export type ObsAnnotation =
  | { kind: 'categorical'; codes: Int32Array; categories: string[]; ordered?: boolean }
  | { kind: 'float'; values: Float32Array };

export type UnsInput =
  string | number | boolean | string[] | number[] | { [key: string]: UnsInput };

export interface Annotations {
  obs?: Record<string, ObsAnnotation>;
  obsm?: Record<string, { data: Float32Array; shape: [number, number] }>;
  uns?: Record<string, UnsInput>;
}

export interface WriteOptions {
  /** Replace keys that already exist (default: refuse and name them). */
  overwrite?: boolean;
  /** Cancels the write up to the moment it is published; then it is finished. */
  signal?: AbortSignal;
}

const enc = (type: string, version: string): Attrs => ({
  'encoding-type': type,
  'encoding-version': version,
});

export async function writeAnnotations(
  h: WritableHierarchy,
  ann: Annotations,
  options: WriteOptions = {},
): Promise<void> {
  const { signal } = options;
  const obsAttrs = await h.attrs('obs');
  const nObs = await obsLength(h, obsAttrs);
  validate(h, ann, nObs);
  if (obsAttrs['encoding-version'] === '0.1.0' && Object.keys(ann.obs ?? {}).length > 0) {
    throw new AnnDataError('obs uses the anndata 0.7 layout, which scNym does not write into', {
      file: h.source,
      element: 'obs',
      hint: 'open it in Python and save it again with anndata ≥ 0.8 (adata.write_h5ad / write_zarr), then retry',
    });
  }
  // Published in this order, obs (whose column-order makes columns visible to anndata) last.
  const groups = {
    obsm: Object.entries(ann.obsm ?? {}),
    uns: Object.entries(ann.uns ?? {}),
    obs: Object.entries(ann.obs ?? {}),
  };
  const existing: string[] = [];
  for (const parent of ['obs', 'obsm', 'uns'] as const) {
    for (const [name] of groups[parent]) {
      if ((await h.kind(`${parent}/${name}`)) !== 'missing') existing.push(`${parent}/${name}`);
    }
  }
  if (existing.length > 0 && !options.overwrite) {
    throw new WriteConflictError(`already holds ${existing.join(', ')}`, {
      file: h.source,
      hint: 'choose another prefix (--key-added) or pass --overwrite to replace them',
    });
  }
  throwIfAborted(signal);

  const stage = `${STAGE_PREFIX}${randomId()}`;
  const moves: [string, string][] = [];
  await h.createGroup(stage);
  try {
    for (const [parent, entries] of Object.entries(groups)) {
      if (entries.length === 0) continue;
      // A missing obsm or uns is staged whole and published as one element.
      const exists = (await h.kind(parent)) !== 'missing';
      const staged = `${stage}/${parent}`;
      await h.createGroup(staged, exists ? {} : enc('dict', '0.1.0'));
      for (const [name, value] of entries) {
        throwIfAborted(signal);
        const path = `${staged}/${name}`;
        if (parent === 'obs') await writeObsColumn(h, path, value as ObsAnnotation, signal);
        else if (parent === 'obsm') await writeObsm(h, path, value as ObsmInput, signal);
        else await writeUns(h, path, value as UnsInput);
        if (exists) moves.push([path, `${parent}/${name}`]);
      }
      if (!exists) moves.push([staged, parent]);
    }
    throwIfAborted(signal);
  } catch (err) {
    await h.remove(stage).catch(() => undefined);
    throw err;
  }
  const newCols = groups.obs.map(([name]) => name);
  const attrs: [string, Attrs][] = [];
  if (newCols.length > 0) {
    const order = columnOrder(obsAttrs);
    const merged = [...order, ...newCols.filter((c) => !order.includes(c))];
    attrs.push(['obs', { ...obsAttrs, 'column-order': merged }]);
  }
  await h.publish({ stage, moves, attrs });
}

type ObsmInput = NonNullable<Annotations['obsm']>[string];

function writeObsm(
  h: WritableHierarchy,
  path: string,
  m: ObsmInput,
  signal?: AbortSignal,
): Promise<void> {
  return h.createArray(
    path,
    { data: m.data, shape: m.shape, dtype: 'float32', attrs: enc('array', '0.2.0') },
    { signal },
  );
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function writeObsColumn(
  h: WritableHierarchy,
  path: string,
  col: ObsAnnotation,
  signal?: AbortSignal,
): Promise<void> {
  if (col.kind === 'float') {
    await h.createArray(
      path,
      {
        data: col.values,
        shape: [col.values.length],
        dtype: 'float32',
        attrs: enc('array', '0.2.0'),
      },
      { signal },
    );
    return;
  }
  const n = col.categories.length;
  const [dtype, codes] =
    n <= 127
      ? (['int8', Int8Array.from(col.codes)] as const)
      : n <= 32767
        ? (['int16', Int16Array.from(col.codes)] as const)
        : (['int32', col.codes] as const);
  await h.createGroup(path, { ...enc('categorical', '0.2.0'), ordered: col.ordered ?? false });
  await h.createArray(`${path}/codes`, {
    data: codes,
    shape: [codes.length],
    dtype,
    attrs: enc('array', '0.2.0'),
  });
  await h.createArray(`${path}/categories`, {
    data: col.categories,
    shape: [n],
    dtype: 'string',
    attrs: enc('string-array', '0.2.0'),
  });
}

async function writeUns(h: WritableHierarchy, path: string, value: UnsInput): Promise<void> {
  if (typeof value === 'string') {
    await h.createArray(path, {
      data: [value],
      shape: [],
      dtype: 'string',
      attrs: enc('string', '0.2.0'),
    });
  } else if (typeof value === 'number') {
    const asInt = Number.isInteger(value) && Math.abs(value) < 2 ** 31;
    await h.createArray(path, {
      data: asInt ? Int32Array.of(value) : Float64Array.of(value),
      shape: [],
      dtype: asInt ? 'int32' : 'float64',
      attrs: enc('numeric-scalar', '0.2.0'),
    });
  } else if (typeof value === 'boolean') {
    await h.createArray(path, {
      data: Uint8Array.of(value ? 1 : 0),
      shape: [],
      dtype: 'bool',
      attrs: enc('numeric-scalar', '0.2.0'),
    });
  } else if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) {
      await h.createArray(path, {
        data: value as string[],
        shape: [value.length],
        dtype: 'string',
        attrs: enc('string-array', '0.2.0'),
      });
    } else {
      await h.createArray(path, {
        data: Float64Array.from(value as number[]),
        shape: [value.length],
        dtype: 'float64',
        attrs: enc('array', '0.2.0'),
      });
    }
  } else {
    await h.createGroup(path, enc('dict', '0.1.0'));
    for (const [k, v] of Object.entries(value)) await writeUns(h, `${path}/${k}`, v);
  }
}

function columnOrder(attrs: Attrs): string[] {
  const order = attrs['column-order'];
  if (Array.isArray(order)) return order.map(String);
  if (typeof order === 'string' && order) return [order];
  return [];
}

async function obsLength(h: WritableHierarchy, obsAttrs: Attrs): Promise<number> {
  const indexKey = typeof obsAttrs['_index'] === 'string' ? obsAttrs['_index'] : '_index';
  return (await h.meta(`obs/${indexKey}`)).shape[0];
}

const NAME_RE = /^[^/\0]+$/;

function validate(h: WritableHierarchy, ann: Annotations, nObs: number): void {
  const lengths = new Set([
    ...Object.values(ann.obs ?? {}).map((c) =>
      c.kind === 'float' ? c.values.length : c.codes.length,
    ),
    ...Object.values(ann.obsm ?? {}).map((m) => m.shape[0]),
  ]);
  if (lengths.size === 1 && !lengths.has(nObs)) {
    const [n] = lengths;
    throw new WriteConflictError(
      `holds ${nObs.toLocaleString('en-US')} cells, but the results are for ${n.toLocaleString('en-US')}`,
      {
        file: h.source,
        hint: 'the file changed since it was read (was it rewritten by another program?); run again on the file as it is now',
      },
    );
  }
  const bad = (element: string, problem: string) =>
    new AnnDataError(problem, {
      file: h.source,
      element,
      hint: 'this is a bug in the caller; please report it',
    });
  const checkName = (parent: string, name: string) => {
    if (
      !NAME_RE.test(name) ||
      name.startsWith('.') ||
      name === '_index' ||
      name === '__categories'
    ) {
      throw bad(`${parent}/${name}`, `'${name}' is not a usable key`);
    }
  };
  for (const [name, col] of Object.entries(ann.obs ?? {})) {
    checkName('obs', name);
    const n = col.kind === 'float' ? col.values.length : col.codes.length;
    if (n !== nObs) throw bad(`obs/${name}`, `has ${n} values for ${nObs} cells`);
    if (col.kind === 'categorical') {
      if (new Set(col.categories).size !== col.categories.length)
        throw bad(`obs/${name}`, 'categories are not unique');
      for (const c of col.codes) {
        if (c < -1 || c >= col.categories.length)
          throw bad(`obs/${name}`, `code ${c} is out of range`);
      }
    }
  }
  for (const [key, m] of Object.entries(ann.obsm ?? {})) {
    checkName('obsm', key);
    if (m.shape[0] !== nObs || m.data.length !== m.shape[0] * m.shape[1]) {
      throw bad(
        `obsm/${key}`,
        `shape [${m.shape}] does not fit ${nObs} cells and ${m.data.length} values`,
      );
    }
  }
  const checkUns = (path: string, v: UnsInput) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, child] of Object.entries(v)) {
        checkName(path, k);
        checkUns(`${path}/${k}`, child);
      }
    }
  };
  for (const [key, v] of Object.entries(ann.uns ?? {})) {
    checkName('uns', key);
    checkUns(`uns/${key}`, v);
  }
}
