/**
 * A large query (and a reference for Annotate) for the viewer, resampled from core/demo's real
 * cells by test/fixtures/viewer_scale.py (real anndata, consolidated zarr). The benchmark keeps
 * them in a cache under os.tmpdir() keyed by the script and the sizes; a test writes its own
 * into a temporary folder.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, PYTHON, REPO } from './paths.js';

export interface ScaleData {
  query: string;
  reference: string;
}

const SCRIPT = join(FIXTURES, 'viewer_scale.py');
/** Marks a finished cache folder (an interrupted build never gets one). */
const DONE = '.scnym-viewer-scale';

/** Writes query.zarr and reference.zarr into `dir` (which must not hold them yet). */
export function makeScaleData(dir: string, nQuery: number, nReference: number): ScaleData {
  const r = spawnSync(
    PYTHON,
    [SCRIPT, join(REPO, 'core', 'demo'), dir, String(nQuery), String(nReference)],
    { encoding: 'utf8' },
  );
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`viewer_scale.py failed:\n${r.stderr}`);
  return { query: join(dir, 'query.zarr'), reference: join(dir, 'reference.zarr') };
}

/**
 * The same, kept in os.tmpdir() between runs (built once per version of the script and sizes;
 * built in a fresh folder and renamed into place, so a half-built one is never used).
 */
export function cachedScaleData(nQuery: number, nReference: number): ScaleData {
  const digest = createHash('sha256').update(readFileSync(SCRIPT)).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), `scnym-viewer-scale-${digest}-${nQuery}-${nReference}`);
  if (!existsSync(join(dir, DONE))) {
    const building = mkdtempSync(join(tmpdir(), 'scnym-viewer-scale-building-'));
    try {
      makeScaleData(building, nQuery, nReference);
      writeFileSync(join(building, DONE), '');
      renameSync(building, dir);
    } catch (err) {
      rmSync(building, { recursive: true, force: true });
      // Another run may have built it meanwhile.
      if (!existsSync(join(dir, DONE))) throw err;
    }
  }
  return { query: join(dir, 'query.zarr'), reference: join(dir, 'reference.zarr') };
}
