/**
 * The pairs `npm run bench -- --sections accuracy` can score: the shared ones in ../shared/data
 * (reference.h5ad → target.h5ad) and the extra ones of test/fixtures/pairs (reference.h5ad →
 * query.h5ad), built once into a cache by test/helpers/pairs.ts. `--pairs extra` stands for every
 * extra pair, `--pairs all` for the shared and the extra ones.
 */
import { ensurePairs, pairPaths, pairsMissing, type BuiltPairs } from '../helpers/pairs.js';
import { sharedFile } from '../helpers/paths.js';

export const SHARED_PAIRS = ['tiny', 'kang_ifnb'];

let built: BuiltPairs | undefined;
function extra(): BuiltPairs {
  if (built) return built;
  const missing = pairsMissing();
  if (missing) throw new Error(`the extra pairs cannot be built: ${missing}`);
  return (built = ensurePairs());
}

/** `--pairs` as names: `extra` and `all` expanded. */
export function expandPairs(list: string): string[] {
  return list.split(',').flatMap((name) => {
    if (name === 'extra') return extra().pairs.map((p) => p.name);
    if (name === 'all') return [...SHARED_PAIRS, ...extra().pairs.map((p) => p.name)];
    return [name];
  });
}

/** A pair's labelled reference and the target whose labels only score the run. */
export function pairFiles(pair: string): { reference: string; target: string; labelKey: string } {
  if (SHARED_PAIRS.includes(pair))
    return {
      reference: sharedFile(pair, 'reference.h5ad'),
      target: sharedFile(pair, 'target.h5ad'),
      labelKey: 'cell_type',
    };
  const files = pairPaths(extra(), pair);
  return { reference: files.reference, target: files.query, labelKey: files.labelKey };
}
