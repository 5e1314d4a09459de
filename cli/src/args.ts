/**
 * Argument parsing shared by the commands: usage errors, the options every model command takes,
 * the training options (turned into core's TrainRequest), and the checked numbers.
 */
import { PROJECT_DEFAULT, type BackendPreference, type TrainRequest } from '@scnym/core';
import {
  CONFIGS,
  INPUT_DESCRIPTIONS,
  INPUT_KINDS,
  keyAddedProblem,
  PRESETS,
  type ConfigName,
  type InputKind,
  type PresetName,
} from '@scnym/core/vocabulary';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Runs node:util parseArgs (passed as `fn`), turning its errors into usage errors with help. */
export function parseOrExplain<T>(help: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${help}`);
  }
}

/** Options every model command takes. */
export const COMMON_OPTIONS = {
  backend: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseBackend(value: string | undefined): BackendPreference {
  const v = value ?? 'auto';
  if (v === 'auto' || v === 'wasm' || v === 'cpu' || v === 'webgl') return v;
  throw new UsageError(`--backend must be auto, wasm or cpu (got '${v}')`);
}

export const TRAIN_OPTIONS = {
  reference: { type: 'string' },
  'label-key': { type: 'string' },
  'domain-key': { type: 'string' },
  matrix: { type: 'string' },
  'reference-matrix': { type: 'string' },
  'query-matrix': { type: 'string' },
  input: { type: 'string' },
  'gene-key': { type: 'string' },
  preset: { type: 'string' },
  config: { type: 'string' },
  epochs: { type: 'string' },
  seed: { type: 'string' },
  'max-steps': { type: 'string' },
  'max-reference-cells': { type: 'string' },
  'max-query-cells': { type: 'string' },
  'linear-blend': { type: 'string' },
} as const;

const count = (n: number) => n.toLocaleString('en-US');

/** --input's help, for every command that reads expression; descriptions start at `column`. */
export function inputHelp(column = 23): string {
  const pad = ' '.repeat(column);
  return [
    `${'  --input KIND'.padEnd(column)}what the expression holds (default auto: counts if`,
    `${pad}the values are integers, else log-scale values, their base and`,
    `${pad}normalisation found from the values and named in a warning); all`,
    `${pad}of it becomes log1p of counts per million, as the model reads it:`,
    ...INPUT_KINDS.filter((k) => k !== 'auto').map(
      (k) => `${pad}  ${k.padEnd(8)}${INPUT_DESCRIPTIONS[k]}`,
    ),
  ].join('\n');
}

export function inputOption(value: unknown): InputKind | undefined {
  if (value === undefined) return undefined;
  if ((INPUT_KINDS as readonly unknown[]).includes(value)) return value as InputKind;
  throw new UsageError(`--input must be one of ${INPUT_KINDS.join(', ')} (got '${value}')`);
}

export const TRAIN_HELP = `  --reference FILE     labelled reference (.h5ad or .zarr)
  --label-key KEY      obs column with the reference's cell types
  --domain-key KEY     obs column naming domains (batches, donors) for the adversary
  --matrix NAME        X, raw/X or layers/NAME, read from the reference and the query
                       (default: chosen per file: X if it holds counts or log1p values,
                       else layers/counts, else raw/X, else the first holding other
                       log-scale values)
  --reference-matrix NAME, --query-matrix NAME
                       the same for one file only (instead of --matrix for that file)
${inputHelp()}
  --gene-key KEY       var column to match genes by, in each file that has it, or
                       var_names (default auto: var_names, unless they share few genes
                       and a usual column such as feature_name, gene_symbols or
                       gene_ids shares more; the names matched are reported)
  --preset NAME        default (tuned for small data) or original (the original scNym)
  --config NAME        no_new_identity (default), new_identity_discovery, no_dan, no_ssl
  --epochs N           training epochs (default: the preset's)
  --seed N             random seed; the same seed gives the same model on one backend (default 0)
  --max-steps N        most training steps; past it, each epoch is a shorter random draw of
                       the training cells (default ${count(PROJECT_DEFAULT.maxSteps)}; 0: no limit)
  --max-reference-cells N
                       train on at most N reference cells: a larger reference gives a seeded,
                       class-balanced subsample, and model selection and calibration use
                       reference cells outside it (default ${count(PROJECT_DEFAULT.maxReferenceCells)}; 0: all)
  --max-query-cells N  at most N query cells as unlabelled training data, a seeded sample
                       (default ${count(PROJECT_DEFAULT.maxQueryCells)}; 0: all); annotate predicts them all
  --linear-blend W     the linear head's share of the predicted probabilities: a
                       class-balanced softmax regression on log1p(CP10k) fitted beside the
                       network (default ${PROJECT_DEFAULT.linearBlend} with --preset default, 0 with original;
                       0: the network alone)`;

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
  const maxSteps = integer(values['max-steps'], '--max-steps', 0);
  if (maxSteps !== undefined) overrides.maxSteps = maxSteps;
  const maxReference = integer(values['max-reference-cells'], '--max-reference-cells', 0);
  if (maxReference !== undefined) overrides.maxReferenceCells = maxReference;
  const maxQuery = integer(values['max-query-cells'], '--max-query-cells', 0);
  if (maxQuery !== undefined) overrides.maxQueryCells = maxQuery;
  const linearBlend = fraction(values['linear-blend'], '--linear-blend');
  if (linearBlend !== undefined) overrides.linearBlend = linearBlend;
  return {
    labelKey,
    domainKey: values['domain-key'] as string | undefined,
    matrix: values.matrix as string | undefined,
    referenceMatrix: values['reference-matrix'] as string | undefined,
    queryMatrix: values['query-matrix'] as string | undefined,
    input: inputOption(values.input),
    geneKey: values['gene-key'] as string | undefined,
    preset: preset as PresetName,
    config: config as ConfigName,
    overrides,
  };
}

/** The options of the commands that write predictions (predict, annotate). */
export const PREDICT_WRITE_OPTIONS = {
  out: { type: 'string' },
  'key-added': { type: 'string' },
  overwrite: { type: 'boolean' },
  'unknown-threshold': { type: 'string' },
  'no-embedding': { type: 'boolean' },
} as const;

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
