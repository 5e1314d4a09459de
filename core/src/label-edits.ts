/**
 * The labels with the hand edits: a code per cell into `categories`, changed by relabelling
 * cells or renaming a category, each change undoable and redoable. It knows whether the labels
 * differ from the last save (Annotate again asks before it throws them away), and gives the
 * labels without the categories no cell holds any more (what Save writes). Platform-neutral:
 * the viewer's Transfer-labels panel and the VS Code viewer both edit labels with it.
 */
import type { Annotations } from './anndata/write.js';
import { categoryColors } from './colors.js';
import { annotationKeys } from './vocabulary.js';

/** One change: the cells' codes before and their code after, and the categories around it. */
interface Edit {
  cells: Int32Array;
  before: Int32Array;
  code: number;
  categoriesBefore: readonly string[];
  categoriesAfter: readonly string[];
  /** Cells whose label changed, for the running count of edits. */
  changed: number;
}

export class LabelEdits {
  /** A code per cell (edited in place; the prediction stays as it came). */
  readonly codes: Int32Array;
  private readonly done: Edit[] = [];
  private readonly undone: Edit[] = [];
  private cats: string[];
  /** The prediction's categories. */
  private readonly predictedCategories: readonly string[];
  /** `done.length` at the last save; -1: a state no longer reachable. */
  private savedAt = 0;

  constructor(
    /** The prediction: a code per cell into `categories`. */
    private readonly predicted: Int32Array,
    categories: readonly string[],
  ) {
    this.codes = Int32Array.from(predicted);
    this.cats = [...categories];
    this.predictedCategories = [...categories];
  }

  get categories(): readonly string[] {
    return this.cats;
  }

  /** Cells whose label the edits in force changed (a cell edited twice counts twice). */
  get edited(): number {
    return this.done.reduce((s, e) => s + e.changed, 0);
  }

  get canUndo(): boolean {
    return this.done.length > 0;
  }

  get canRedo(): boolean {
    return this.undone.length > 0;
  }

  /** The labels differ from the last save (or from the prediction, before any save). */
  get dirty(): boolean {
    return this.savedAt !== this.done.length;
  }

  markSaved(): void {
    this.savedAt = this.done.length;
  }

  /** Gives the cells the label `name` (a new category when no category has that name). */
  relabel(cells: ArrayLike<number>, name: string): void {
    const after = this.cats.includes(name) ? this.cats : [...this.cats, name];
    this.apply(Int32Array.from(cells), after.indexOf(name), after);
  }

  /**
   * Renames category `code` to `name`; when another category is called `name` already, the
   * cells of `code` join it (the emptied category goes at Save).
   */
  rename(code: number, name: string): void {
    if (code < 0 || code >= this.cats.length || this.cats[code] === name) return;
    const into = this.cats.indexOf(name);
    if (into >= 0) {
      const cells: number[] = [];
      for (let i = 0; i < this.codes.length; i++) if (this.codes[i] === code) cells.push(i);
      this.apply(Int32Array.from(cells), into, this.cats);
    } else {
      const after = [...this.cats];
      after[code] = name;
      this.apply(new Int32Array(0), -1, after);
    }
  }

  undo(): boolean {
    const e = this.done.pop();
    if (!e) return false;
    for (let k = 0; k < e.cells.length; k++) this.codes[e.cells[k]] = e.before[k];
    this.cats = [...e.categoriesBefore];
    this.undone.push(e);
    return true;
  }

  redo(): boolean {
    const e = this.undone.pop();
    if (!e) return false;
    this.write(e);
    this.done.push(e);
    return true;
  }

  /**
   * The cells relabelled by hand (their code differs from the prediction's; a rename alone
   * changes no code), ascending, with their labels as codes into `names`.
   */
  corrections(): { rows: Int32Array; codes: Int32Array; names: string[] } {
    let n = 0;
    for (let i = 0; i < this.codes.length; i++) if (this.codes[i] !== this.predicted[i]) n++;
    const rows = new Int32Array(n);
    const codes = new Int32Array(n);
    const index = new Map<number, number>();
    const names: string[] = [];
    n = 0;
    for (let i = 0; i < this.codes.length; i++) {
      const c = this.codes[i];
      if (c === this.predicted[i]) continue;
      if (!index.has(c)) index.set(c, names.push(this.cats[c]) - 1);
      rows[n] = i;
      codes[n++] = index.get(c)!;
    }
    return { rows, codes, names };
  }

  /** The prediction's categories renamed, as [prediction's name, name now]. */
  renamed(): [string, string][] {
    return this.predictedCategories
      .map((name, k): [string, string] => [name, this.cats[k]])
      .filter(([from, to]) => from !== to);
  }

  /** The labels with only the categories some cell holds, in their order. */
  compact(): { codes: Int32Array; categories: string[] } {
    const used = new Uint8Array(this.cats.length);
    for (let i = 0; i < this.codes.length; i++) if (this.codes[i] >= 0) used[this.codes[i]] = 1;
    const remap = new Int32Array(this.cats.length).fill(-1);
    const categories: string[] = [];
    this.cats.forEach((c, k) => {
      if (used[k]) remap[k] = categories.push(c) - 1;
    });
    const codes = new Int32Array(this.codes.length);
    for (let i = 0; i < codes.length; i++) codes[i] = this.codes[i] < 0 ? -1 : remap[this.codes[i]];
    return { codes, categories };
  }

  private apply(cells: Int32Array, code: number, categoriesAfter: readonly string[]): void {
    const before = new Int32Array(cells.length);
    let changed = 0;
    for (let k = 0; k < cells.length; k++) {
      before[k] = this.codes[cells[k]];
      if (before[k] !== code) changed++;
    }
    const edit = {
      cells,
      before,
      code,
      categoriesBefore: this.cats,
      categoriesAfter: [...categoriesAfter],
      changed,
    };
    this.write(edit);
    this.done.push(edit);
    // A new edit ends the redo branch; a save on it cannot come back.
    if (this.savedAt > this.done.length - 1) this.savedAt = -1;
    this.undone.length = 0;
  }

  private write(e: Edit): void {
    for (let k = 0; k < e.cells.length; k++) this.codes[e.cells[k]] = e.code;
    this.cats = [...e.categoriesAfter];
  }
}

/**
 * What saving edited labels writes: the label column `keyAdded` (without the categories no cell
 * holds) and its colours (`<keyAdded>_colors`, core's palette); nothing else of the prediction.
 */
export function labelAnnotations(
  keyAdded: string,
  labels: { codes: Int32Array; categories: readonly string[] },
): Annotations {
  const { codes, categories } = new LabelEdits(labels.codes, labels.categories).compact();
  const keys = annotationKeys(keyAdded);
  return {
    obs: { [keys.label]: { kind: 'categorical', codes, categories } },
    uns: { [keys.colors]: categoryColors(categories) },
  };
}
