/**
 * Errors a user can act on: every one names the file, the element inside it and what to do.
 * Stack traces are for `--debug`; `message` is what the CLI and the UIs print. Callers tell
 * errors apart by their stable `code` (`isScnymError(err, 'no-shared-genes')`), never by the
 * message; cancellation is always an `AbortError`. Dependency-free: every package imports it.
 */

/** Stable codes: only ever added, never renamed. */
export type ErrorCode =
  /** Something went wrong that has no more specific code. */
  | 'error'
  /** The file is not readable AnnData (format, layout, encoding). */
  | 'bad-anndata'
  /** A column, key, layer, file or folder the caller named is not there. */
  | 'not-found'
  /** A write was refused: it would change data the user has, or the output is not ours. */
  | 'write-conflict'
  /** Another scNym run is writing the same file. */
  | 'busy'
  /** The input cannot be used as it is (scaled data, too few genes, bad labels, …). */
  | 'bad-input'
  /** Reference and query (or model and query) share too few genes. */
  | 'no-shared-genes'
  /** A model folder is not a valid scNym model (missing, damaged, hostile, too new). */
  | 'bad-model'
  /** No cell to work on (e.g. no cell is predicted as the class to explain). */
  | 'no-cells'
  /** An operating-system failure explained in words (disk full, permission, port in use). */
  | 'system';

export class ScnymError extends Error {
  override readonly name: string = 'ScnymError';
  readonly code: ErrorCode;
  /** The file, folder or URL concerned, when there is one. */
  readonly file?: string;
  /** The element inside the file (e.g. `obs/cell_type`, `X/indptr`), when there is one. */
  readonly element?: string;
  /** What the user can do about it. */
  readonly hint?: string;

  constructor(problem: string, where: ErrorDetails = {}) {
    super(formatMessage(problem, where), { cause: where.cause });
    this.code = where.code ?? (new.target as { defaultCode?: ErrorCode }).defaultCode ?? 'error';
    this.file = where.file;
    this.element = where.element;
    this.hint = where.hint;
  }
}

export interface ErrorDetails {
  file?: string;
  element?: string;
  hint?: string;
  cause?: unknown;
  /** Default: the class's (AnnDataError 'bad-anndata', NotFoundError 'not-found', …). */
  code?: ErrorCode;
}

/** The file is not a readable AnnData store (format, layout or encoding problem). */
export class AnnDataError extends ScnymError {
  static readonly defaultCode: ErrorCode = 'bad-anndata';
  override readonly name = 'AnnDataError';
}

/** The caller asked for something the file does not hold (a missing column, key or layer). */
export class NotFoundError extends ScnymError {
  static readonly defaultCode: ErrorCode = 'not-found';
  override readonly name = 'NotFoundError';
}

/** A write was refused because it would change data the user already has. */
export class WriteConflictError extends ScnymError {
  static readonly defaultCode: ErrorCode = 'write-conflict';
  override readonly name = 'WriteConflictError';
}

/** True for a ScnymError (of the given code, if one is given). */
export function isScnymError(err: unknown, code?: ErrorCode): err is ScnymError {
  return err instanceof ScnymError && (code === undefined || err.code === code);
}

/**
 * The one cancellation error: whatever was cancelled (training, prediction, saliency, a write,
 * a wait for another writer) throws this. `isAbortError` also recognises the DOMException that
 * `AbortSignal.throwIfAborted()` and Node's streams throw, which share its name.
 */
export class AbortError extends Error {
  override readonly name = 'AbortError';
  readonly code = 'aborted';
  constructor(message = 'cancelled') {
    super(message);
  }
}

export function isAbortError(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'AbortError';
}

/** Throws AbortError when the signal has been aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError();
}

function formatMessage(problem: string, where: ErrorDetails): string {
  const place = [where.file, where.element].filter(Boolean).join(': ');
  let text = place ? `${place}: ${problem}` : problem;
  if (where.hint) text += `\n  → ${where.hint}`;
  return text;
}
