/**
 * The product's rules, defined once for every front end (CLI, viewer, Vitessce, VS Code): the
 * keys predictions are written under, the `Unknown` label and when cells get it, the presets and
 * configs, which obs columns likely hold cell types, and how progress reads. Dependency-free, so
 * a page or a webview can import it without TensorFlow.js or the AnnData readers
 * (`@scnym/core/vocabulary`).
 */

export {
  CATEGORY_PALETTE,
  CONFIDENCE_RAMP,
  UNKNOWN_COLOR,
  categoryColors,
  labelColors,
  rampColor,
  rampColors,
} from './colors.js';

// ---------------------------------------------------------------------------------------------
// Keys

/** The original scNym's `key_added`: obs `scNym`, `scNym_confidence`, obsm `X_scnym`, … */
export const DEFAULT_KEY_ADDED = 'scNym';

/** A letter, then letters, digits, '_', '-' or '.': safe as an obs/obsm/uns name in zarr and h5ad. */
const KEY_ADDED = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/** Why `keyAdded` cannot prefix the keys written, or null when it can. */
export function keyAddedProblem(keyAdded: string): string | null {
  if (KEY_ADDED.test(keyAdded)) return null;
  return (
    `'${keyAdded}' cannot prefix the keys scNym writes: use a letter followed by letters, ` +
    "digits, '_', '-' or '.' (e.g. scNym or scNym_run2)"
  );
}

/** The obs / obsm / uns keys predictions are written under, from the prefix. */
export function annotationKeys(keyAdded = DEFAULT_KEY_ADDED) {
  return {
    label: keyAdded,
    confidence: `${keyAdded}_confidence`,
    /** Distance from the reference's cells, ~1 for them (novelty/reference.ts). */
    novelty: `${keyAdded}_novelty`,
    embedding: `X_${keyAdded.toLowerCase()}`,
    probabilities: `${keyAdded}_probabilities`,
    classes: `${keyAdded}_classes`,
    colors: `${keyAdded}_colors`,
    trainResults: `${keyAdded}_train_results`,
    /** Per-class marker genes (saliency) as the viewer showed them: MarkersRecord. */
    markers: `${keyAdded}_markers`,
    /** Where the model that made the predictions is: ModelRecord. */
    model: `${keyAdded}_model`,
  };
}

/**
 * The model that made a dataset's predictions, recorded in uns `<key>_model` so it can be found
 * again: `path` is the model folder (as given to --model-out / --model, or, for the viewer, the
 * folder's name beside the dataset), `digest` core's modelDigest of its files. Without a model
 * (it could not be written), `path` is '' and `reason` says why.
 */
export interface ModelRecord {
  path: string;
  digest: string;
  /** 'beside' = the viewer's folder beside the dataset (MODEL_BESIDE_SUFFIX); 'given' = a path. */
  where: 'beside' | 'given' | 'none';
  reason?: string;
}

/**
 * The viewer saves the model that made the predictions beside the dataset, in a folder it
 * creates: `<dataset>.scnym-model` (e.g. `pbmc.zarr.scnym-model/`, core's model files). The
 * rule: the folder is written whole, then renamed into place; it replaces only the model folder
 * an earlier Save made (uns `<key>_model` names it with its digest, and its files still match);
 * any other file, folder (a model of the user's own included) or link there is refused and left
 * untouched, and so is a folder the
 * dataset's own folder does not let us write: the predictions are then saved without the model,
 * and uns `<key>_model` says why.
 */
export const MODEL_BESIDE_SUFFIX = '.scnym-model';

/** The model folder's name beside a dataset named `datasetName` (a file or folder name). */
export function modelBesideName(datasetName: string): string {
  return `${datasetName.replace(/[\\/]+$/, '')}${MODEL_BESIDE_SUFFIX}`;
}

/**
 * Marker genes per class, recorded in uns `<key>_markers` at Save: flat lists, so that class
 * names of any spelling stay values, never keys. Class i's genes are
 * `genes[offset_i … offset_i + n_genes[i]]` (offset_i = the sum of the earlier n_genes).
 */
export interface MarkersRecord {
  classes: string[];
  /** The attribution method per class ('gradient', 'integrated', 'expected'). */
  methods: string[];
  /** Cells explained per class. */
  n_cells: number[];
  n_genes: number[];
  genes: string[];
  scores: number[];
}

export type AnnotationKeyNames = ReturnType<typeof annotationKeys>;

// ---------------------------------------------------------------------------------------------
// What the expression matrix holds

/**
 * How to read a file's expression (`--input`): decided from its values (auto), raw counts, or
 * log-scale expression (log(x+1) of normalised or raw counts) of a base found from the values
 * (log) or given (ln, log2, log10). Whatever it holds becomes the model's log1p(CPM).
 */
export const INPUT_KINDS = ['auto', 'counts', 'log', 'ln', 'log2', 'log10'] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

/** One line each, for help texts. */
export const INPUT_DESCRIPTIONS: Record<InputKind, string> = {
  auto: 'counts if the values are integers, else log-scale of the base the values show (default)',
  counts: 'raw counts (non-negative integers)',
  log: 'log(x+1) of counts, normalised or not, base from the values',
  ln: "natural log(x+1), as scanpy's log1p",
  log2: 'log2(x+1)',
  log10: 'log10(x+1)',
};

// ---------------------------------------------------------------------------------------------
// Unknown, presets and configs

/** The label of cells the model abstains on (below the Unknown threshold). */
export const UNKNOWN_LABEL = 'Unknown';

/** Cells below this confidence are `Unknown` when a model hunts for new cell types. */
export const DEFAULT_UNKNOWN_THRESHOLD = 0.5;

/**
 * Where every front end draws the line between confident and low-confidence cells (the viewer's
 * histogram and "highlight" button, Vitessce's lowest confidence bin, VS Code's summary): the
 * Unknown threshold, so that "low confidence" means what Unknown means.
 */
export const LOW_CONFIDENCE_THRESHOLD = DEFAULT_UNKNOWN_THRESHOLD;

/**
 * The novelty score's settings (novelty/reference.ts): genes, principal components, neighbours
 * averaged over, reference cells kept. In the bench any of 1,000–4,000 genes, 5–10 components
 * and 5–10 neighbours scored within a point of these.
 */
export const NOVELTY = { genes: 2000, components: 10, neighbours: 10, points: 2000 } as const;

/**
 * The most bytes a novelty reference takes in a model card: its float32 means, loadings and
 * points in base64, its gene indices as JSON numbers (≤ 7 bytes each), and the rest.
 */
export const NOVELTY_CARD_MAX_BYTES =
  Math.ceil((4 * NOVELTY.components * (NOVELTY.genes + NOVELTY.points) + 4 * NOVELTY.genes) / 3) *
    4 +
  7 * NOVELTY.genes +
  4096;

/**
 * Where the viewers' colour ramp for the novelty score starts and ends: 1 is a typical reference
 * cell, the reference's own 99th centile is ~1.7, and cells past the end take its colour.
 */
export const NOVELTY_COLOUR_RANGE: readonly [number, number] = [0.5, 2.5];

export const PRESETS = ['default', 'original'] as const;
export type PresetName = (typeof PRESETS)[number];

export const CONFIGS = ['no_new_identity', 'new_identity_discovery', 'no_dan', 'no_ssl'] as const;
export type ConfigName = (typeof CONFIGS)[number];

/** One line each, for help texts and form tooltips. */
export const CONFIG_DESCRIPTIONS: Record<ConfigName, string> = {
  no_new_identity: 'every query cell belongs to a reference class (default)',
  new_identity_discovery: `only confident pseudolabels are used; cells below confidence ${DEFAULT_UNKNOWN_THRESHOLD} are labelled ${UNKNOWN_LABEL}`,
  no_dan: 'no domain adversary',
  no_ssl: 'no MixMatch and no adversary: plain supervised training',
};

/**
 * The Unknown threshold a run uses: the one asked for, else the default for a model trained
 * with `new_identity_discovery`, else none (every cell gets its best class).
 */
export function unknownThresholdFor(
  config: string | undefined,
  asked?: number,
): number | undefined {
  if (asked !== undefined) return asked;
  return config === 'new_identity_discovery' ? DEFAULT_UNKNOWN_THRESHOLD : undefined;
}

// ---------------------------------------------------------------------------------------------
// Embeddings

/**
 * The obsm keys a viewer offers as a 2-D embedding: `X_*` with at least two columns, less
 * scNym's own latent space (`X_scnym`, or `X_<key>` of an annotation whose `<key>_confidence`
 * is in obs): its first two of 256 dimensions are no picture of the cells.
 */
export function embeddingChoices(
  obsm: readonly { key: string; shape: readonly number[] }[],
  obsColumns: readonly string[] = [],
): string[] {
  const latent = new Set([annotationKeys().embedding]);
  for (const name of obsColumns) {
    const m = /^(.+)_confidence$/.exec(name);
    if (m) latent.add(annotationKeys(m[1]).embedding);
  }
  return obsm
    .filter((o) => o.key.startsWith('X_') && o.shape.length === 2 && (o.shape[1] ?? 0) >= 2)
    .filter((o) => !latent.has(o.key))
    .map((o) => o.key);
}

// ---------------------------------------------------------------------------------------------
// Label columns

/** Names that usually hold cell types, tried in this order. */
const LABEL_HINTS = [/^cell_?type$/i, /cell_?type/i, /label|annotation|cluster/i, /type/i];

/**
 * Columns to offer as cell-type labels, likeliest first: the remembered one, then names that
 * look like cell types, then the rest; columns with a single category cannot train a classifier
 * and go last. Stable otherwise.
 */
export function rankLabelColumns<T extends { name: string; nCategories?: number }>(
  columns: readonly T[],
  remembered?: string,
): T[] {
  const score = (c: T) => {
    if (c.name === remembered) return -1;
    if (c.nCategories !== undefined && c.nCategories < 2) return LABEL_HINTS.length + 1;
    const hint = LABEL_HINTS.findIndex((re) => re.test(c.name));
    return hint < 0 ? LABEL_HINTS.length : hint;
  };
  return columns
    .map((c, i) => ({ c, i, s: score(c) }))
    .sort((a, b) => a.s - b.s || a.i - b.i)
    .map((x) => x.c);
}

/** The column that most likely holds cell types, if any name looks like one. */
export function likelyLabelColumn<T extends { name: string; nCategories?: number }>(
  columns: readonly T[],
): T | undefined {
  const first = rankLabelColumns(columns)[0];
  return first && LABEL_HINTS.some((re) => re.test(first.name)) ? first : undefined;
}

// ---------------------------------------------------------------------------------------------
// Progress

/** What a long run reports: a stage, how far it is, and a detail line. */
export interface ProgressEvent {
  /** e.g. 'reading reference', 'training', 'predicting', 'saliency', 'saving'. */
  stage: string;
  done: number;
  total: number;
  detail?: string;
}

/** The stage of fitting the linear head after the network (linear/head.ts). */
export const LINEAR_HEAD_STAGE = 'fitting the linear head';

/**
 * Progress in words, and the share of the whole run it stands for (0–1): training is most of
 * an annotation, reading, the linear head and predicting the rest. One text for the CLI's bar,
 * the viewer's panel and VS Code's notification.
 */
export function describeProgress(event: ProgressEvent): { message: string; fraction: number } {
  const { stage, done, total, detail } = event;
  const part = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const [start, width] = stage.startsWith('reading')
    ? [0, 0.05]
    : stage === 'training'
      ? [0.05, 0.8]
      : stage === LINEAR_HEAD_STAGE
        ? [0.85, 0.05]
        : stage === 'predicting'
          ? [0.9, 0.08]
          : stage === 'saving'
            ? [0.98, 0.02]
            : [0, 1];
  const count = total > 1 ? ` ${done}/${total}` : '';
  const message = detail ? `${stage}: ${detail.trim()}` : `${stage}${count}`;
  return { message, fraction: start + width * part };
}

/** The training events progress is made of (the trainer's TrainEvent has more fields). */
export type TrainingProgressEvent =
  | { type: 'start'; nEpochs: number; stepsPerEpoch: number }
  | { type: 'step'; epoch: number; stepInEpoch: number; loss: number }
  | { type: 'epoch'; epoch: number; nEpochs: number; valAccuracy: number };

/**
 * Turns training events into progress events whose detail reads, in one format from the first
 * step on, "epoch 15/30 loss 0.512 val acc 0.800 · 1 min 20 s left" (the epoch under way; the
 * last finished epoch's accuracy; the time left from the steps done so far, by `now`, the one
 * place every front end's ETA comes from). Steps count towards `total`.
 */
export function trainingProgress(
  now: () => number = Date.now,
): (event: TrainingProgressEvent) => ProgressEvent {
  let total = 1;
  let stepsPerEpoch = 1;
  let nEpochs = 1;
  let epoch = 0;
  let started = 0;
  let loss: number | undefined;
  let accuracy: number | undefined;
  const event = (done: number): ProgressEvent => {
    const parts = [`epoch ${Math.min(epoch + 1, nEpochs)}/${nEpochs}`];
    if (loss !== undefined) parts.push(`loss ${loss.toFixed(3)}`);
    if (accuracy !== undefined) parts.push(`val acc ${accuracy.toFixed(3)}`);
    const left = done > 0 && done < total ? ((now() - started) / done) * (total - done) : NaN;
    const eta = Number.isFinite(left) ? ` · ${timeLeft(left / 1000)}` : '';
    return { stage: 'training', done, total, detail: parts.join(' ') + eta };
  };
  return (e) => {
    if (e.type === 'start') {
      total = e.nEpochs * e.stepsPerEpoch;
      stepsPerEpoch = e.stepsPerEpoch;
      nEpochs = e.nEpochs;
      started = now();
      return event(0);
    }
    if (e.type === 'step') {
      epoch = e.epoch;
      loss = e.loss;
      return event(e.epoch * stepsPerEpoch + e.stepInEpoch + 1);
    }
    epoch = e.epoch + 1;
    if (Number.isFinite(e.valAccuracy)) accuracy = e.valAccuracy;
    return event((e.epoch + 1) * stepsPerEpoch);
  };
}

/** "45 s left", "3 min 5 s left", "1 h 20 min left". */
export function timeLeft(seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  if (s < 60) return `${s} s left`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s left`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min left`;
}
