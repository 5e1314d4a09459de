/**
 * Breaks long synchronous work (forward/backward passes) so that timers, I/O, signal handlers
 * (Ctrl-C in the CLI) and worker messages (cancel in the viewer) run in between.
 */

/** Lets everything queued run before continuing. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * A yield that only pauses once `ms` have passed since the last one: cheap enough to call after
 * every small step (a pass of a few milliseconds), while a signal is still seen within `ms`
 * plus one step.
 */
export function throttledYield(ms = 50): () => Promise<void> {
  let last = Date.now();
  return async () => {
    if (Date.now() - last < ms) return;
    await yieldToEventLoop();
    last = Date.now();
  };
}
