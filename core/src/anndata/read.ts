/**
 * AnnData decoding, written once over the Hierarchy interface (zarr and h5ad alike).
 * Follows the anndata on-disk spec (encoding-type / encoding-version attributes) and the
 * anndata 0.7 legacy layout (categorical columns as codes with a `categories` attribute).
 */
import { toFloat32, toFloat64, toInt32, toStrings, isStringData } from './arrays.js';
import { AnnDataError, NotFoundError } from '../errors.js';
import type { Attrs, AttrValue, Hierarchy } from './hierarchy.js';
import { openMatrix } from './matrix.js';
import type {
  AnnData,
  ColumnInfo,
  DenseMatrix,
  MatrixReader,
  ObsColumn,
  UnsValue,
} from './types.js';

const SAVE_HINT =
  'open it in Python and save it again with anndata ≥ 0.8 (adata.write_h5ad / write_zarr)';

export async function openAnnData(h: Hierarchy): Promise<AnnData> {
  const rootAttrs = await h.attrs('');
  const [hasObs, hasVar] = await Promise.all([h.kind('obs'), h.kind('var')]);
  if (rootAttrs['encoding-type'] === undefined && (hasObs === 'missing' || hasVar === 'missing')) {
    throw new AnnDataError('not an AnnData store: no encoding-type attribute and no obs/var', {
      file: h.source,
      hint: 'pass a file written by anndata (adata.write_h5ad or adata.write_zarr)',
    });
  }
  for (const [name, kind] of [
    ['obs', hasObs],
    ['var', hasVar],
  ] as const) {
    if (kind === 'missing') {
      throw new AnnDataError(`the ${name} dataframe is missing`, {
        file: h.source,
        element: name,
        hint: SAVE_HINT,
      });
    }
    if (kind === 'array') {
      throw new AnnDataError(
        `${name} is a structured array (anndata < 0.7 layout), not a dataframe group`,
        {
          file: h.source,
          element: name,
          hint: SAVE_HINT,
        },
      );
    }
  }
  const obs = await Frame.open(h, 'obs');
  const vars = await Frame.open(h, 'var');
  const varNames = await vars.index();
  checkUnique(varNames, h.source, `var/${vars.indexKey}`);
  const ad = new AnnDataHandle(h, rootAttrs, obs, vars, obs.length, varNames);
  if ((await h.kind('X')) !== 'missing') {
    await ad.matrix('X'); // validates X's shape against obs and var now, not at first use
  }
  return ad;
}

function checkUnique(names: string[], file: string, element: string): void {
  const seen = new Map<string, number>();
  for (const n of names) seen.set(n, (seen.get(n) ?? 0) + 1);
  const dups = [...seen].filter(([, c]) => c > 1);
  if (dups.length === 0) return;
  const [first, count] = dups[0];
  const more = dups.length > 1 ? ` (and ${dups.length - 1} other duplicated names)` : '';
  throw new AnnDataError(`var names are not unique: '${first}' appears ${count} times${more}`, {
    file,
    element,
    hint: 'make them unique in Python: adata.var_names_make_unique(), then save again',
  });
}

/** A dataframe group: its index and columns. */
class Frame {
  private indexCache?: string[];
  private constructor(
    private readonly h: Hierarchy,
    readonly path: string,
    readonly attrs: Attrs,
    readonly indexKey: string,
    readonly length: number,
  ) {}

  static async open(h: Hierarchy, path: string): Promise<Frame> {
    const attrs = await h.attrs(path);
    const indexKey = typeof attrs['_index'] === 'string' ? attrs['_index'] : '_index';
    const indexPath = `${path}/${indexKey}`;
    if ((await h.kind(indexPath)) !== 'array') {
      throw new AnnDataError(`the ${path} dataframe has no index array '${indexKey}'`, {
        file: h.source,
        element: path,
        hint: SAVE_HINT,
      });
    }
    const meta = await h.meta(indexPath);
    if (meta.shape.length !== 1) {
      throw new AnnDataError(`index must be 1-D, found shape [${meta.shape}]`, {
        file: h.source,
        element: indexPath,
      });
    }
    return new Frame(h, path, attrs, indexKey, meta.shape[0]);
  }

  async index(): Promise<string[]> {
    if (!this.indexCache) {
      const el = `${this.path}/${this.indexKey}`;
      const { data } = await this.h.read(el);
      this.indexCache = isStringData(data)
        ? data
        : Array.from(toFloat64(data, this.where(el)), String);
    }
    return this.indexCache;
  }

  async columnNames(): Promise<string[]> {
    const order = this.attrs['column-order'];
    if (Array.isArray(order)) return order.map(String);
    if (typeof order === 'string') return order ? [order] : [];
    const children = await this.h.children(this.path);
    return children.filter((c) => c !== this.indexKey && c !== '__categories');
  }

  async column(name: string): Promise<ObsColumn> {
    const el = `${this.path}/${name}`;
    const kind = await this.h.kind(el);
    if (kind === 'missing') {
      const names = await this.columnNames();
      throw new NotFoundError(`no column '${name}'`, {
        file: this.h.source,
        element: this.path,
        hint: names.length
          ? `available columns: ${names.join(', ')}`
          : `${this.path} has no columns`,
      });
    }
    const col = await readColumn(this.h, this.path, el);
    const n = col.kind === 'categorical' ? col.codes.length : col.values.length;
    if (n !== this.length) {
      throw new AnnDataError(`column has ${n} values but the dataframe index has ${this.length}`, {
        ...this.where(el),
        hint: SAVE_HINT,
      });
    }
    return col;
  }

  async columnInfo(name: string): Promise<ColumnInfo> {
    const el = `${this.path}/${name}`;
    const kind = await this.h.kind(el);
    if (kind === 'missing') return this.column(name).then(() => never());
    const attrs = await this.h.attrs(el);
    const enc = attrs['encoding-type'];
    if (enc === 'categorical' || (kind === 'array' && attrs['categories'] !== undefined)) {
      const catPath =
        enc === 'categorical'
          ? `${el}/categories`
          : legacyCategoriesPath(this.path, attrs['categories']);
      const meta = await this.h.meta(catPath).catch(() => undefined);
      return {
        name,
        kind: 'categorical',
        dtype: meta?.dtype ?? 'string',
        nCategories: meta?.shape[0],
      };
    }
    if (enc === 'nullable-integer')
      return { name, kind: 'numeric', dtype: (await this.h.meta(`${el}/values`)).dtype };
    if (enc === 'nullable-boolean') return { name, kind: 'bool', dtype: 'bool' };
    if (enc === 'nullable-string-array') return { name, kind: 'string', dtype: 'string' };
    if (kind !== 'array') {
      throw new AnnDataError(`unsupported column encoding '${String(enc)}'`, this.where(el));
    }
    const { dtype } = await this.h.meta(el);
    const k = dtype === 'string' ? 'string' : dtype === 'bool' ? 'bool' : 'numeric';
    return { name, kind: k, dtype };
  }

  private where(element: string) {
    return { file: this.h.source, element };
  }
}

function never(): never {
  throw new Error('unreachable');
}

/** The path of a legacy (anndata 0.7) categories array named by a codes array's attribute. */
function legacyCategoriesPath(framePath: string, attr: AttrValue | undefined): string {
  const ref = String(attr);
  if (ref.startsWith('/')) return ref.slice(1); // h5ad object reference, resolved to an absolute path
  return `${framePath}/${ref}`;
}

async function readColumn(h: Hierarchy, framePath: string, el: string): Promise<ObsColumn> {
  const where = { file: h.source, element: el };
  const attrs = await h.attrs(el);
  const enc = attrs['encoding-type'];
  const kind = await h.kind(el);
  if (kind === 'group') {
    switch (enc) {
      case 'categorical':
        return readCategorical(h, `${el}/codes`, `${el}/categories`, attrs['ordered']);
      case 'nullable-integer': {
        const values = toFloat64((await h.read(`${el}/values`)).data, where);
        const dtype = (await h.meta(`${el}/values`)).dtype;
        return { kind: 'numeric', dtype, values, mask: await readMask(h, el) };
      }
      case 'nullable-boolean': {
        const values = Uint8Array.from(toFloat64((await h.read(`${el}/values`)).data, where));
        return { kind: 'bool', values, mask: await readMask(h, el) };
      }
      case 'nullable-string-array': {
        const values: (string | null)[] = toStrings((await h.read(`${el}/values`)).data, where);
        const mask = await readMask(h, el);
        return { kind: 'string', values: values.map((v, i) => (mask[i] ? null : v)) };
      }
      default:
        throw new AnnDataError(`unsupported column encoding '${String(enc)}'`, {
          ...where,
          hint: 'scNym reads categorical, numeric, boolean, string and nullable columns',
        });
    }
  }
  if (attrs['categories'] !== undefined && enc === undefined) {
    // anndata 0.7 kept `ordered` on the categories array, not on the codes.
    const catPath = legacyCategoriesPath(framePath, attrs['categories']);
    const ordered =
      attrs['ordered'] ?? (await h.attrs(catPath).catch((): Attrs => ({})))['ordered'];
    return readCategorical(h, el, catPath, ordered);
  }
  const meta = await h.meta(el);
  if (meta.shape.length !== 1) {
    throw new AnnDataError(`column must be 1-D, found shape [${meta.shape}]`, where);
  }
  const { data } = await h.read(el);
  if (isStringData(data)) return { kind: 'string', values: data };
  if (meta.dtype === 'bool') return { kind: 'bool', values: Uint8Array.from(data as Uint8Array) };
  return { kind: 'numeric', dtype: meta.dtype, values: toFloat64(data, where) };
}

async function readMask(h: Hierarchy, el: string): Promise<Uint8Array> {
  const { data } = await h.read(`${el}/mask`);
  return Uint8Array.from(toFloat64(data, { file: h.source, element: `${el}/mask` }));
}

async function readCategorical(
  h: Hierarchy,
  codesPath: string,
  catPath: string,
  ordered: AttrValue | undefined,
): Promise<ObsColumn> {
  if ((await h.kind(catPath)) !== 'array') {
    throw new AnnDataError(`categories array '${catPath}' is missing`, {
      file: h.source,
      element: codesPath,
      hint: SAVE_HINT,
    });
  }
  const codes = toInt32((await h.read(codesPath)).data, { file: h.source, element: codesPath });
  const catData = (await h.read(catPath)).data;
  const categories = isStringData(catData)
    ? catData
    : Array.from(toFloat64(catData, { file: h.source, element: catPath }), String);
  for (let i = 0; i < codes.length; i++) {
    if (codes[i] < -1 || codes[i] >= categories.length) {
      throw new AnnDataError(
        `code ${codes[i]} at row ${i} is outside the ${categories.length} categories`,
        { file: h.source, element: codesPath, hint: SAVE_HINT },
      );
    }
  }
  return { kind: 'categorical', codes, categories, ordered: ordered === true || ordered === 1 };
}

class AnnDataHandle implements AnnData {
  readonly warnings: string[] = [];
  private readonly matrices = new Map<string, Promise<MatrixReader>>();
  readonly source: string;
  readonly format: 'zarr' | 'h5ad';
  readonly zarrFormat?: 2 | 3;

  constructor(
    private readonly h: Hierarchy,
    readonly rootAttrs: Attrs,
    private readonly obsFrame: Frame,
    private readonly varFrame: Frame,
    readonly nObs: number,
    private readonly varIndex: string[],
  ) {
    this.source = h.source;
    this.format = h.format;
    this.zarrFormat = h.zarrFormat;
  }

  get nVars(): number {
    return this.varIndex.length;
  }

  obsNames(): Promise<string[]> {
    return this.obsFrame.index();
  }
  async varNames(): Promise<string[]> {
    return this.varIndex;
  }
  obsColumnNames(): Promise<string[]> {
    return this.obsFrame.columnNames();
  }
  obsColumnInfo(name: string): Promise<ColumnInfo> {
    return this.obsFrame.columnInfo(name);
  }
  obsColumn(name: string): Promise<ObsColumn> {
    return this.obsFrame.column(name);
  }
  varColumnNames(): Promise<string[]> {
    return this.varFrame.columnNames();
  }
  varColumn(name: string): Promise<ObsColumn> {
    return this.varFrame.column(name);
  }
  varColumnInfo(name: string): Promise<ColumnInfo> {
    return this.varFrame.columnInfo(name);
  }

  async obsmKeys(): Promise<string[]> {
    return (await this.h.kind('obsm')) === 'group' ? this.h.children('obsm') : [];
  }

  async obsmShape(key: string): Promise<number[]> {
    const el = `obsm/${key}`;
    const kind = await this.h.kind(el);
    if (kind === 'missing') {
      throw new NotFoundError(`no obsm key '${key}'`, {
        file: this.source,
        element: 'obsm',
        hint: `available keys: ${(await this.obsmKeys()).join(', ') || 'none'}`,
      });
    }
    if (kind === 'group') {
      const shape = (await this.h.attrs(el))['shape'];
      if (Array.isArray(shape)) return shape.map(Number);
      return [this.nObs, (await this.h.children(el)).length];
    }
    return (await this.h.meta(el)).shape;
  }

  async obsm(key: string, columns?: number[]): Promise<DenseMatrix> {
    const el = `obsm/${key}`;
    const where = { file: this.source, element: el };
    const shape = await this.obsmShape(key);
    if ((await this.h.kind(el)) !== 'array' || shape.length !== 2) {
      throw new AnnDataError('only dense 2-D obsm arrays can be read as a matrix', {
        ...where,
        hint: 'store the embedding as a dense array (e.g. adata.obsm[key] = np.asarray(...))',
      });
    }
    if (shape[0] !== this.nObs) {
      throw new AnnDataError(`has ${shape[0]} rows but there are ${this.nObs} cells`, where);
    }
    const cols = columns ?? Array.from({ length: shape[1] }, (_, i) => i);
    for (const c of cols) {
      if (!Number.isInteger(c) || c < 0 || c >= shape[1]) {
        throw new NotFoundError(
          `column ${c} is out of range (the array has ${shape[1]} columns)`,
          where,
        );
      }
    }
    const meta = await this.h.meta(el);
    const wide = meta.dtype === 'float64' || meta.dtype === 'int64' || meta.dtype === 'int32';
    const out = wide
      ? new Float64Array(shape[0] * cols.length)
      : new Float32Array(shape[0] * cols.length);
    if (columns === undefined) {
      const { data } = await this.h.read(el);
      out.set(wide ? toFloat64(data, where) : toFloat32(data, where));
    } else {
      for (let j = 0; j < cols.length; j++) {
        const { data } = await this.h.read(el, [null, { start: cols[j], end: cols[j] + 1 }]);
        const v = toFloat64(data, where);
        for (let i = 0; i < shape[0]; i++) out[i * cols.length + j] = v[i];
      }
    }
    return { data: out, shape: [shape[0], cols.length] };
  }

  async layerNames(): Promise<string[]> {
    return (await this.h.kind('layers')) === 'group' ? this.h.children('layers') : [];
  }

  async hasRaw(): Promise<boolean> {
    return (await this.h.kind('raw/X')) !== 'missing';
  }

  async matrixNames(): Promise<string[]> {
    const names = (await this.h.kind('X')) === 'missing' ? [] : ['X'];
    for (const layer of await this.layerNames()) names.push(`layers/${layer}`);
    if (await this.hasRaw()) names.push('raw/X');
    return names;
  }

  matrix(name = 'X'): Promise<MatrixReader> {
    let m = this.matrices.get(name);
    if (!m) {
      m = this.openMatrixChecked(name);
      m.catch(() => this.matrices.delete(name));
      this.matrices.set(name, m);
    }
    return m;
  }

  private async openMatrixChecked(name: string): Promise<MatrixReader> {
    if (name !== 'X' && name !== 'raw/X' && !name.startsWith('layers/')) {
      throw new NotFoundError(`unknown matrix '${name}'`, {
        file: this.source,
        hint: "use 'X', 'raw/X' or 'layers/<name>'",
      });
    }
    if ((await this.h.kind(name)) === 'missing') {
      const names = await this.matrixNames();
      throw new NotFoundError(`no matrix '${name}'`, {
        file: this.source,
        element: name,
        hint: names.length
          ? `this file has ${names.join(', ')}`
          : 'this file holds no expression matrix (no X, layers or raw/X)',
      });
    }
    const nCols = name === 'raw/X' ? await this.rawVarCount() : this.nVars;
    return openMatrix(this.h, name, [this.nObs, nCols], (w) => {
      if (!this.warnings.includes(w)) this.warnings.push(w);
    });
  }

  async matrixVarNames(name: string): Promise<string[]> {
    if (name !== 'raw/X') return this.varIndex;
    await this.rawVarCount(); // validates raw/var
    const names = await (await Frame.open(this.h, 'raw/var')).index();
    checkUnique(names, this.source, 'raw/var');
    return names;
  }

  async matrixVarColumnNames(name: string): Promise<string[]> {
    return (await this.matrixVarFrame(name)).columnNames();
  }

  async matrixVarColumn(name: string, column: string): Promise<ObsColumn> {
    return (await this.matrixVarFrame(name)).column(column);
  }

  private async matrixVarFrame(name: string): Promise<Frame> {
    if (name !== 'raw/X') return this.varFrame;
    await this.rawVarCount(); // validates raw/var
    return Frame.open(this.h, 'raw/var');
  }

  private async rawVarCount(): Promise<number> {
    if ((await this.h.kind('raw/var')) !== 'group') {
      throw new AnnDataError('raw/X has no raw/var dataframe', {
        file: this.source,
        element: 'raw',
        hint: SAVE_HINT,
      });
    }
    return (await Frame.open(this.h, 'raw/var')).length;
  }

  async unsKeys(): Promise<string[]> {
    return (await this.h.kind('uns')) === 'group' ? this.h.children('uns') : [];
  }

  async uns(key: string): Promise<UnsValue> {
    const el = `uns/${key}`;
    if ((await this.h.kind(el)) === 'missing') {
      throw new NotFoundError(`no uns key '${key}'`, {
        file: this.source,
        element: 'uns',
        hint: `available keys: ${(await this.unsKeys()).join(', ') || 'none'}`,
      });
    }
    return readUns(this.h, el);
  }

  close(): Promise<void> {
    return this.h.close();
  }
}

async function readUns(h: Hierarchy, el: string): Promise<UnsValue> {
  const where = { file: h.source, element: el };
  const kind = await h.kind(el);
  const attrs = await h.attrs(el);
  const enc = attrs['encoding-type'];
  if (kind === 'group') {
    if (enc !== undefined && enc !== 'dict') return { kind: 'unsupported', encoding: String(enc) };
    const out: { [k: string]: UnsValue } = {};
    for (const child of await h.children(el)) out[child] = await readUns(h, `${el}/${child}`);
    return out;
  }
  const meta = await h.meta(el);
  const { data } = await h.read(el);
  if (meta.shape.length === 0) {
    const v = data[0];
    if (meta.dtype === 'bool') return v === 1;
    if (typeof v === 'bigint') {
      return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(v)
        : v;
    }
    return v as string | number;
  }
  if (isStringData(data))
    return meta.shape.length === 1 ? data : { kind: 'unsupported', encoding: 'string nd-array' };
  const values = toFloat64(data, where);
  if (meta.shape.length === 1) return Array.from(values);
  return { kind: 'array', dtype: meta.dtype, shape: meta.shape, data: values };
}
