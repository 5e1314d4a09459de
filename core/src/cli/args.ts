/** Argument-parsing helpers shared by the commands. */

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
