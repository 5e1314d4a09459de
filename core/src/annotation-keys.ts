/**
 * The keys predictions are written under, from one prefix (the original's `key_added`), and the
 * rule every front end applies to that prefix before any work starts.
 */

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
export function annotationKeys(keyAdded = 'scNym') {
  return {
    label: keyAdded,
    confidence: `${keyAdded}_confidence`,
    embedding: `X_${keyAdded.toLowerCase()}`,
    probabilities: `${keyAdded}_probabilities`,
    classes: `${keyAdded}_classes`,
    colors: `${keyAdded}_colors`,
    trainResults: `${keyAdded}_train_results`,
  };
}
