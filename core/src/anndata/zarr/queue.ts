/** Async work a few items at a time, stopping at the first failure. */

/** Runs zarrita's chunk tasks a few at a time, and stops starting new ones after a failure. */
export function boundedQueue(limit: number): {
  add(fn: () => Promise<void>): void;
  onIdle(): Promise<void[]>;
} {
  const tasks: (() => Promise<void>)[] = [];
  return {
    add: (fn) => void tasks.push(fn),
    onIdle: async () => {
      await mapLimit(tasks, limit, (task) => task());
      return [];
    },
  };
}

export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
