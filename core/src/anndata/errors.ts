/**
 * Errors a user can act on: every one names the file, the element inside it and what to do.
 * Stack traces are for `--debug`; `message` is what the CLI and the UIs print.
 */
export class ScnymError extends Error {
  override readonly name: string = 'ScnymError';
  /** The file, folder or URL concerned, when there is one. */
  readonly file?: string;
  /** The element inside the file (e.g. `obs/cell_type`, `X/indptr`), when there is one. */
  readonly element?: string;
  /** What the user can do about it. */
  readonly hint?: string;

  constructor(
    problem: string,
    where: { file?: string; element?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(formatMessage(problem, where), { cause: where.cause });
    this.file = where.file;
    this.element = where.element;
    this.hint = where.hint;
  }
}

/** The file is not a readable AnnData store (format, layout or encoding problem). */
export class AnnDataError extends ScnymError {
  override readonly name = 'AnnDataError';
}

/** The caller asked for something the file does not hold (a missing column, key or layer). */
export class NotFoundError extends ScnymError {
  override readonly name = 'NotFoundError';
}

/** A write was refused because it would change data the user already has. */
export class WriteConflictError extends ScnymError {
  override readonly name = 'WriteConflictError';
}

function formatMessage(
  problem: string,
  where: { file?: string; element?: string; hint?: string },
): string {
  const place = [where.file, where.element].filter(Boolean).join(': ');
  let text = place ? `${place}: ${problem}` : problem;
  if (where.hint) text += `\n  → ${where.hint}`;
  return text;
}
