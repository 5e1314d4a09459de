/**
 * What the model commands share: the backend, Ctrl-C → AbortSignal, progress and warnings on
 * stderr, and the training / prediction option parsing.
 */
import { initBackend, type BackendPreference } from '../backend.js';
import type { TrainRequest } from '../annotate.js';
import type { TrainEvent } from '../train/trainer.js';
import {
  CONFIGS,
  keyAddedProblem,
  PRESETS,
  trainingProgress as trainingEvents,
  type ConfigName,
  type PresetName,
} from '../vocabulary.js';
import { UsageError } from './args.js';
import { createProgress, type Progress } from './progress.js';

export interface Session {
  signal: AbortSignal;
  progress: Progress;
  warn: (message: string) => void;
  /** A line of information on stderr (waiting for another writer, cleanup after a killed run). */
  note: (message: string) => void;
  backend: string;
  close: () => void;
}

/** Signals that cancel a run: Ctrl-C, `kill`, a closed terminal. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Starts the backend and wires Ctrl-C (and SIGTERM, SIGHUP) to cancel; a second one exits at
 * once. A write is cancelled up to the moment it is published, so the files stay as they were.
 */
export async function startSession(options: {
  quiet?: boolean;
  backend?: string;
}): Promise<Session> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted)
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    process.stderr.write(
      `\ncancelling… (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to quit at once)\n`,
    );
    controller.abort();
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  const backend = await initBackend(parseBackend(options.backend));
  const progress = createProgress(process.stderr, options.quiet);
  return {
    signal: controller.signal,
    progress,
    warn: (message) => {
      progress.done();
      process.stderr.write(`warning: ${message}\n`);
    },
    note: (message) => {
      progress.done();
      process.stderr.write(`${message}\n`);
    },
    backend,
    close: () => {
      progress.done();
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
    },
  };
}

function parseBackend(value: string | undefined): BackendPreference {
  const v = value ?? 'auto';
  if (v === 'auto' || v === 'wasm' || v === 'cpu' || v === 'webgl') return v;
  throw new UsageError(`--backend must be auto, wasm or cpu (got '${v}')`);
}

/** Renders training events as a progress bar (or plain lines when not on a terminal). */
export function trainingProgress(progress: Progress): (event: TrainEvent) => void {
  const toProgress = trainingEvents();
  return (event) => {
    const p = toProgress(event);
    progress.update(p.stage, p.done, p.total, p.detail);
  };
}

/** Options every model command takes. */
export const COMMON_OPTIONS = {
  backend: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const TRAIN_OPTIONS = {
  reference: { type: 'string' },
  'label-key': { type: 'string' },
  'domain-key': { type: 'string' },
  matrix: { type: 'string' },
  'reference-matrix': { type: 'string' },
  'query-matrix': { type: 'string' },
  'gene-key': { type: 'string' },
  preset: { type: 'string' },
  config: { type: 'string' },
  epochs: { type: 'string' },
  seed: { type: 'string' },
} as const;

export const TRAIN_HELP = `  --reference FILE     labelled reference (.h5ad or .zarr)
  --label-key KEY      obs column with the reference's cell types
  --domain-key KEY     obs column naming domains (batches, donors) for the adversary
  --matrix NAME        X, raw/X or layers/NAME, read from the reference and the query
                       (default: chosen per file: X if it holds counts or log1p values,
                       else layers/counts, else raw/X)
  --reference-matrix NAME, --query-matrix NAME
                       the same for one file only (instead of --matrix for that file)
  --gene-key KEY       var column to match genes by, in each file that has it, or
                       var_names (default auto: var_names, unless they share few genes
                       and a usual column such as feature_name, gene_symbols or
                       gene_ids shares more; the names matched are reported)
  --preset NAME        default (tuned for small data) or original (the original scNym)
  --config NAME        no_new_identity (default), new_identity_discovery, no_dan, no_ssl
  --epochs N           training epochs (default: the preset's)
  --seed N             random seed; the same seed gives the same model on one backend (default 0)`;

export function trainRequest(values: Record<string, string | boolean | undefined>): TrainRequest {
  const labelKey = values['label-key'];
  if (typeof labelKey !== 'string') throw new UsageError('--label-key is required');
  const preset = (values.preset as string | undefined) ?? 'default';
  const config = (values.config as string | undefined) ?? 'no_new_identity';
  if (!(PRESETS as readonly string[]).includes(preset))
    throw new UsageError(`--preset must be one of ${PRESETS.join(', ')}`);
  if (!(CONFIGS as readonly string[]).includes(config))
    throw new UsageError(`--config must be one of ${CONFIGS.join(', ')}`);
  const overrides: TrainRequest['overrides'] = { seed: integer(values.seed, '--seed', 0) ?? 0 };
  const epochs = integer(values.epochs, '--epochs', 1);
  if (epochs !== undefined) overrides.nEpochs = epochs;
  return {
    labelKey,
    domainKey: values['domain-key'] as string | undefined,
    matrix: values.matrix as string | undefined,
    referenceMatrix: values['reference-matrix'] as string | undefined,
    queryMatrix: values['query-matrix'] as string | undefined,
    geneKey: values['gene-key'] as string | undefined,
    preset: preset as PresetName,
    config: config as ConfigName,
    overrides,
  };
}

/** --key-added, refused before any work when it cannot prefix the keys written. */
export function keyAddedOption(value: string | undefined): string | undefined {
  const problem = value === undefined ? null : keyAddedProblem(value);
  if (problem) throw new UsageError(`--key-added: ${problem}`);
  return value;
}

/** An integer flag ≥ min and, with `limit`, ≤ limit.max (the refusal then says why). */
export function integer(
  value: unknown,
  flag: string,
  min: number,
  limit?: { max: number; why: string },
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (limit && !(Number.isInteger(n) && n >= min && n <= limit.max))
    throw new UsageError(
      `${flag} must be an integer in ${min}…${limit.max} (got '${value}'): ${limit.why}`,
    );
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`${flag} must be an integer ≥ ${min} (got '${value}')`);
  return n;
}

export function fraction(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n >= 0 && n <= 1))
    throw new UsageError(`${flag} must be a number in [0, 1] (got '${value}')`);
  return n;
}
