/**
 * Last-moment cleanup of what this process created (temporary copies, staging folders, its
 * locks) when it exits before finishing, e.g. on a second Ctrl-C. `exit` handlers must be
 * synchronous. What a SIGKILL leaves behind is cleaned up by the next scNym run instead.
 */
const actions = new Set<() => void>();
let installed = false;

/** Runs `action` if the process exits before the returned function is called. */
export function onExit(action: () => void): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', () => {
      for (const a of actions) {
        try {
          a();
        } catch {
          // Best effort: the next run cleans up what is left.
        }
      }
    });
  }
  actions.add(action);
  return () => void actions.delete(action);
}
