/**
 * The extra real reference → query pairs (test/fixtures/pairs/SOURCE.md), written as .h5ad by
 * test/fixtures/pairs/build.py from their source files in the shared data (../shared/data/pairs,
 * or $SCNYM_PAIRS_SOURCES): into a folder of the caller's, or once per version of the script and
 * the sources into a cache ($SCNYM_PAIRS_CACHE, else <tmpdir>/scnym-pairs-cache), so benchmarks
 * and repeated runs reuse them.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, PYTHON, SHARED_DATA } from './paths.js';

export const PAIRS_DIR = join(FIXTURES, 'pairs');
/** make_sources.py's output: <source>/<dataset>.npz and datasets.json. */
export const PAIR_SOURCES = process.env.SCNYM_PAIRS_SOURCES ?? join(SHARED_DATA, 'pairs');

export interface PairSide {
  /** Relative to the folder the pairs were built in; `pairPaths` resolves it. */
  file: string;
  cells: number;
  classCounts: Record<string, number>;
}

export interface PairEntry {
  name: string;
  shift: string;
  source: string;
  labelKey: string;
  classes: string[];
  genes: number;
  reference: PairSide;
  query: PairSide;
}

export interface BuiltPairs {
  dir: string;
  pairs: PairEntry[];
}

/** Why build.py cannot run here, or null when it can. */
export function pairsMissing(): string | null {
  if (!existsSync(join(PAIR_SOURCES, 'mixology', 'datasets.json')))
    return `the pairs' sources are not in ${PAIR_SOURCES} (test/fixtures/pairs/SOURCE.md)`;
  if (!existsSync(PYTHON) || spawnSync(PYTHON, ['-c', 'import anndata, scipy']).status !== 0)
    return `needs ${PYTHON} with anndata and scipy`;
  return null;
}

/** Runs build.py into `dir` (new or empty) and returns its index. */
export function buildPairs(dir: string): BuiltPairs {
  const r = spawnSync(PYTHON, [join(PAIRS_DIR, 'build.py'), PAIR_SOURCES, dir], {
    encoding: 'utf8',
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`test/fixtures/pairs/build.py failed:\n${r.stderr}`);
  return readPairs(dir);
}

export function readPairs(dir: string): BuiltPairs {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
    pairs: PairEntry[];
  };
  return { dir, pairs: index.pairs };
}

/** The build's inputs: a new version of any of them gives a new cache folder. */
function sourcesDigest(): string {
  const hash = createHash('sha256').update(readFileSync(join(PAIRS_DIR, 'build.py')));
  // <source>/<file>: two levels, as make_sources.py writes them.
  for (const source of readdirSync(PAIR_SOURCES).sort()) {
    if (!statSync(join(PAIR_SOURCES, source)).isDirectory()) continue;
    for (const f of readdirSync(join(PAIR_SOURCES, source)).sort())
      hash.update(`${source}/${f}`).update(readFileSync(join(PAIR_SOURCES, source, f)));
  }
  return hash.digest('hex').slice(0, 16);
}

export function pairsCacheRoot(): string {
  return process.env.SCNYM_PAIRS_CACHE ?? join(tmpdir(), 'scnym-pairs-cache');
}

/**
 * The pairs in the cache, built first when this version is not there yet. Builds into a fresh
 * folder and renames it into place, so a concurrent run never sees a half-written pair.
 */
export function ensurePairs(): BuiltPairs {
  const root = pairsCacheRoot();
  const dir = join(root, sourcesDigest());
  if (existsSync(join(dir, 'index.json'))) return readPairs(dir);
  mkdirSync(root, { recursive: true });
  const scratch = mkdtempSync(join(root, '.build-'));
  try {
    buildPairs(scratch);
    try {
      renameSync(scratch, dir);
    } catch (err) {
      // Another run put the same version there first: use theirs.
      if (!existsSync(join(dir, 'index.json'))) throw err;
    }
  } finally {
    if (existsSync(scratch)) rmSync(scratch, { recursive: true, force: true });
  }
  return readPairs(dir);
}

/** The files and label key of one pair, e.g. for `scnym annotate`. */
export function pairPaths(
  built: BuiltPairs,
  name: string,
): { reference: string; query: string; labelKey: string } {
  const pair = built.pairs.find((p) => p.name === name);
  if (!pair)
    throw new Error(`no pair ${name}; known: ${built.pairs.map((p) => p.name).join(', ')}`);
  return {
    reference: join(built.dir, pair.reference.file),
    query: join(built.dir, pair.query.file),
    labelKey: pair.labelKey,
  };
}
