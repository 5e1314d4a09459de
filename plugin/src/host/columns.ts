/**
 * Obs columns as the viewer colours them: categories as codes with a colour each (strings and
 * booleans become categories), numbers as a float range. Converts the file's columns, the ones
 * plugins add, and back for plugins that read them.
 */
import type { ObsColumn } from '@scnym/core/anndata';
import { labelColors } from '../ui/colors.js';
import type { NewColumn } from './api.js';

/** A column ready for colouring. */
export type ColourColumn =
  | { kind: 'categorical'; codes: Int32Array; categories: string[]; colors: string[] }
  | { kind: 'numeric'; values: Float32Array; min: number; max: number };

/** Steps of the numeric colour ramp (the scatterplot's and the legend's). */
export const NUMERIC_STEPS = 64;

/** String columns with more distinct values than this are not offered as categories. */
const MAX_CATEGORIES = 1000;

/**
 * A file's column, or null for a string column with too many distinct values. Category colours
 * follow their names through `assigned` (core's `labelColors`: one map for every column shown).
 */
export function toColourColumn(c: ObsColumn, assigned: Map<string, string>): ColourColumn | null {
  if (c.kind === 'categorical') {
    return {
      kind: 'categorical',
      codes: c.codes,
      categories: c.categories,
      colors: labelColors(c.categories, assigned),
    };
  }
  // Plain loops: a million calls of a map function box every value (slow, then collected).
  if (c.kind === 'bool') {
    const codes = new Int32Array(c.values.length);
    for (let i = 0; i < codes.length; i++) codes[i] = c.mask?.[i] ? -1 : c.values[i] ? 1 : 0;
    return {
      kind: 'categorical',
      codes,
      categories: ['False', 'True'],
      colors: labelColors(['False', 'True'], assigned),
    };
  }
  if (c.kind === 'numeric') {
    const values = Float32Array.from(c.values);
    if (c.mask) for (let i = 0; i < values.length; i++) if (c.mask[i]) values[i] = NaN;
    return { kind: 'numeric', values, ...range(values) };
  }
  const categories = [...new Set(c.values.filter((v): v is string => v !== null))].sort();
  if (categories.length > MAX_CATEGORIES) return null;
  const index = new Map(categories.map((v, i) => [v, i]));
  const codes = Int32Array.from(c.values, (v) => (v === null ? -1 : index.get(v)!));
  return { kind: 'categorical', codes, categories, colors: labelColors(categories, assigned) };
}

/** A plugin's column: its own colours if it gives them, else by name as the file's columns. */
export function fromNewColumn(c: NewColumn, assigned: Map<string, string>): ColourColumn {
  if (c.kind === 'numeric') {
    const values = Float32Array.from(c.values);
    const r = c.range ? { min: c.range[0], max: c.range[1] } : range(values);
    return { kind: 'numeric', values, ...r };
  }
  const categories = c.categories
    ? [...c.categories]
    : [...new Set('values' in c ? c.values : [])].sort((a, b) => a.localeCompare(b));
  const colors =
    c.colors && c.colors.length === categories.length
      ? [...c.colors]
      : labelColors(categories, assigned);
  if ('codes' in c) {
    const codes = Int32Array.from(c.codes);
    for (let i = 0; i < codes.length; i++) if (codes[i] >= categories.length) codes[i] = -1;
    return { kind: 'categorical', codes, categories, colors };
  }
  const index = new Map(categories.map((v, i) => [v, i]));
  const codes = Int32Array.from(c.values, (v) => index.get(v) ?? -1);
  return { kind: 'categorical', codes, categories, colors };
}

/** A plugin's column as plugins read columns. */
export function toObsColumn(c: ColourColumn): ObsColumn {
  return c.kind === 'categorical'
    ? { kind: 'categorical', codes: c.codes, categories: c.categories, ordered: false }
    : { kind: 'numeric', dtype: 'float32', values: Float64Array.from(c.values) };
}

function range(values: ArrayLike<number>): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return Number.isFinite(min) ? { min, max } : { min: 0, max: 1 };
}

/** A value for the legend and the tooltip: whole numbers as they are, others to 3 digits. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 || Number.isInteger(v)
    ? String(Math.round(v * 100) / 100)
    : v.toPrecision(3);
}
