/**
 * Vitessce's cell-set side of the adapter, as pure functions: obs columns become cell-set trees
 * (schema 0.1.3: `{version, tree: [{name, children: [{name, set: [[obsId, p], …]}]}]}`), the
 * colours become `obsSetColor` entries and colouring by a column becomes an `obsSetSelection`.
 * No DOM, no React: unit-tested in test/plugin/vitessce-sets.test.ts.
 */
import {
  annotationKeys,
  categoryColors,
  LOW_CONFIDENCE_THRESHOLD,
  rampColor,
} from '@scnym/core/vocabulary';

export type Rgb = [number, number, number];
/** A member of a set: the obs name and a probability (null: certain). */
export type SetMember = [string, number | null];
export interface SetLeaf {
  name: string;
  color?: Rgb;
  set: SetMember[];
}
export interface SetGroup {
  name: string;
  color?: Rgb;
  children: SetNode[];
}
export type SetNode = SetLeaf | SetGroup;
export interface ObsSets {
  version: '0.1.3';
  datatype?: 'obs';
  tree: SetGroup[];
}
export interface SetColor {
  path: string[];
  color: Rgb;
}

export const SETS_VERSION = '0.1.3';
/** The level-zero node the panel's label column becomes. */
export const PREDICTIONS_NODE = 'scNym predictions';
/** The level-zero node the confidence column becomes. */
export const CONFIDENCE_NODE = 'scNym confidence';
/** The level-zero node `setSelection` writes (the panel's "highlight low-confidence cells"). */
export const SELECTION_NODE = 'scNym selection';
/** Confidence bins: core's low-confidence threshold (every front end's), then 0.7 and 0.9. */
export const CONFIDENCE_EDGES = [LOW_CONFIDENCE_THRESHOLD, 0.7, 0.9];
const SELECTION_COLOR: Rgb = [214, 39, 40];

/** The tree name an added obs column is published under. */
export function nodeNameFor(column: string): string {
  const keys = annotationKeys();
  if (column === keys.label) return PREDICTIONS_NODE;
  if (column === keys.confidence) return CONFIDENCE_NODE;
  return column;
}

export function hexToRgb(hex: string): Rgb {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex.trim());
  if (!m) throw new Error(`not a #rrggbb colour: '${hex}'`);
  return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
}

export function isLeaf(node: SetNode): node is SetLeaf {
  return 'set' in node;
}

/**
 * A categorical column as a level-zero node with one set per category that has cells (in
 * category order; categories never used are left out, as Vitessce's own AnnData loader does).
 */
export function categoricalTree(
  name: string,
  obsNames: readonly string[],
  labels: readonly (string | null)[],
  categories: readonly string[] = [...new Set(labels.filter((l): l is string => l !== null))],
  colors: readonly string[] = categoryColors(categories),
): { node: SetGroup; colors: SetColor[] } {
  if (labels.length !== obsNames.length) {
    throw new Error(`${name}: ${labels.length} labels for ${obsNames.length} cells`);
  }
  const members = new Map<string, SetMember[]>(categories.map((c) => [c, []]));
  labels.forEach((label, i) => {
    if (label === null) return;
    let list = members.get(label);
    if (!list) members.set(label, (list = [])); // a label outside `categories`: appended
    list.push([obsNames[i], null]);
  });
  const order = [...members.keys()];
  const palette = order.length > colors.length ? categoryColors(order) : colors;
  const children: SetLeaf[] = [];
  const setColors: SetColor[] = [];
  order.forEach((category, k) => {
    const set = members.get(category)!;
    if (set.length === 0) return;
    const color = hexToRgb(palette[k]);
    children.push({ name: category, color, set });
    setColors.push({ path: [name, category], color });
  });
  return { node: { name, children }, colors: setColors };
}

/** The label of a bin between two edges (or below the first / from the last). */
export function binLabel(lo: number | null, hi: number | null): string {
  const f = (v: number) => String(Number(v.toPrecision(3)));
  if (lo === null) return hi === null ? 'all cells' : `< ${f(hi)}`;
  if (hi === null) return `≥ ${f(lo)}`;
  return `${f(lo)}–${f(hi)}`;
}

/**
 * A numeric column as a level-zero node of bins (low → high, coloured by a ramp). `edges` are the
 * inner bin edges; by default the confidence thresholds for values in [0, 1], else three
 * equal-width edges over the finite range. Missing values (NaN) are left out.
 */
export function binnedTree(
  name: string,
  obsNames: readonly string[],
  values: ArrayLike<number>,
  edges?: readonly number[],
): { node: SetGroup; colors: SetColor[] } {
  edges ??= defaultEdges(values);
  if (values.length !== obsNames.length) {
    throw new Error(`${name}: ${values.length} values for ${obsNames.length} cells`);
  }
  const sorted = [...edges].sort((a, b) => a - b);
  // float32 values (the panel's confidence) are compared with float32 edges: 0.9f is "≥ 0.9".
  const limits = values instanceof Float32Array ? sorted.map(Math.fround) : sorted;
  const bins: SetMember[][] = Array.from({ length: sorted.length + 1 }, () => []);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    let b = 0;
    while (b < limits.length && v >= limits[b]) b++;
    bins[b].push([obsNames[i], null]);
  }
  const ramp = binColors(sorted, values);
  const children: SetLeaf[] = [];
  const colors: SetColor[] = [];
  bins.forEach((set, b) => {
    if (set.length === 0) return;
    const label = binLabel(b === 0 ? null : sorted[b - 1], b === sorted.length ? null : sorted[b]);
    children.push({ name: label, color: ramp[b], set });
    colors.push({ path: [name, label], color: ramp[b] });
  });
  return { node: { name, children }, colors };
}

function defaultEdges(values: ArrayLike<number>): number[] {
  const [lo, hi] = finiteRange(values);
  if (lo >= 0 && hi <= 1) return CONFIDENCE_EDGES;
  if (!(hi > lo)) return [];
  return [1, 2, 3].map((k) => lo + ((hi - lo) * k) / 4);
}

/**
 * A colour per bin: core's number ramp at the bin's middle, over [0, 1] for values in it (the
 * viewer's plot and histogram colour the confidence so) else over the values' finite range.
 */
export function binColors(edges: readonly number[], values: ArrayLike<number>): Rgb[] {
  let [lo, hi] = finiteRange(values);
  if (lo >= 0 && hi <= 1) [lo, hi] = [0, 1];
  const bounds = [lo, ...edges, hi];
  return bounds.slice(1).map((b, i) => {
    const mid = (bounds[i] + b) / 2;
    return hexToRgb(rampColor(hi > lo ? (mid - lo) / (hi - lo) : 1));
  });
}

function finiteRange(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** A one-set level-zero node for a selection of cells (by row). */
export function selectionTree(
  obsNames: readonly string[],
  cells: readonly number[],
): { node: SetGroup; colors: SetColor[] } {
  const leaf = `${cells.length.toLocaleString('en-US')} cells`;
  return {
    node: {
      name: SELECTION_NODE,
      children: [
        { name: leaf, color: SELECTION_COLOR, set: cells.map((c) => [obsNames[c], null]) },
      ],
    },
    colors: [{ path: [SELECTION_NODE, leaf], color: SELECTION_COLOR }],
  };
}

/** `sets` with `node` in place of the level-zero node of the same name (appended if new). */
export function withNode(sets: ObsSets | null | undefined, node: SetGroup): ObsSets {
  const tree = [...(sets?.tree ?? [])];
  const at = tree.findIndex((n) => n.name === node.name);
  if (at >= 0) tree[at] = node;
  else tree.push(node);
  return { version: SETS_VERSION, datatype: 'obs', tree };
}

/** `sets` without the level-zero node `name`. */
export function withoutNode(sets: ObsSets | null | undefined, name: string): ObsSets {
  return {
    version: SETS_VERSION,
    datatype: 'obs',
    tree: (sets?.tree ?? []).filter((n) => n.name !== name),
  };
}

/** `existing` colours with every entry under level-zero `root` replaced by `colors`. */
export function withColors(
  existing: readonly SetColor[] | null | undefined,
  root: string,
  colors: readonly SetColor[],
): SetColor[] {
  return [...(existing ?? []).filter((c) => c.path[0] !== root), ...colors];
}

/** The paths of every leaf under a node (the node's own name first). */
export function leafPaths(node: SetNode, prefix: string[] = []): string[][] {
  const path = [...prefix, node.name];
  if (isLeaf(node)) return [path];
  return node.children.flatMap((c) => leafPaths(c, path));
}

export function findNode(
  sets: ObsSets | null | undefined,
  path: readonly string[],
): SetNode | undefined {
  let nodes: SetNode[] = sets?.tree ?? [];
  let found: SetNode | undefined;
  for (const name of path) {
    found = nodes.find((n) => n.name === name);
    if (!found) return undefined;
    nodes = isLeaf(found) ? [] : found.children;
  }
  return found;
}

/** Every obs name in a node's sets. */
export function nodeMembers(node: SetNode): string[] {
  if (isLeaf(node)) return node.set.map((m) => m[0]);
  return node.children.flatMap(nodeMembers);
}

export const pathKey = (path: readonly string[]): string => JSON.stringify(path);

/**
 * Whether a selection is exactly "every set of one colouring tree" (what colouring by a column
 * selects), as opposed to a choice of cells. `trees` maps each colouring tree's name to its leaf
 * paths.
 */
export function colouringOf(
  selection: readonly (readonly string[])[] | null | undefined,
  trees: ReadonlyMap<string, readonly string[][]>,
): string | null {
  if (!selection || selection.length === 0) return null;
  const root = selection[0][0];
  const leaves = trees.get(root);
  if (!leaves || leaves.length !== selection.length) return null;
  const chosen = new Set(selection.map(pathKey));
  return leaves.every((p) => chosen.has(pathKey(p))) ? root : null;
}
