/**
 * The server's gene reads: one gene-major cache of the query (gene-cache.ts), built on the first
 * request with progress, rebuilt when the file changes, and one gene's values per request. Each
 * request checks the file cheaply (quickFingerprint: metadata and folders); only where that
 * changed (a writer, or our own Save) is every file of it looked at again (fingerprint).
 */
import type { GeneStatus, GeneValues } from '../shared/genes.js';
import { fingerprint, GeneMajorCache, quickFingerprint } from './gene-cache.js';

export class GeneService {
  private cache: Promise<GeneMajorCache> | null = null;
  /** The built cache of `cache`, once it is built. */
  private ready: GeneMajorCache | null = null;
  private print = '';
  /** The cheap check when `print` was taken. */
  private quick = '';
  private building = false;
  private progress = { done: 0, total: 0 };
  private failure: string | null = null;
  private readonly abort = new AbortController();

  constructor(
    private readonly path: string,
    /** Resolves when no write into the dataset is under way. */
    private readonly idle: () => Promise<unknown>,
    private readonly root?: string,
  ) {}

  /** Where the cache stands; starts (or restarts, for a changed file) its build. */
  async status(): Promise<GeneStatus> {
    const ensured = this.ensure();
    // A moment for a cache that is there to open; a build answers 'building' with its progress.
    await Promise.race([ensured.catch(() => undefined), delay(100)]);
    const ready = this.ready;
    if (ready && !this.building) {
      return {
        state: 'ready',
        done: ready.nObs,
        total: ready.nObs,
        matrix: ready.matrix,
        buildSeconds: ready.buildSeconds,
        names: ready.names,
      };
    }
    if (this.failure) return { state: 'failed', ...this.progress, error: this.failure };
    return { state: 'building', ...this.progress };
  }

  /** One gene's values in every cell (waits for the cache). */
  async gene(index: number, values: GeneValues): Promise<Float32Array> {
    return (await this.ensure()).gene(index, values);
  }

  async close(): Promise<void> {
    this.abort.abort();
    const c = this.cache;
    this.cache = null;
    await c?.then((x) => x.close()).catch(() => undefined);
  }

  /**
   * The cache for the file as it is now: a changed file (a new fingerprint) is built again; a
   * failed build is not retried until the file changes.
   */
  private async ensure(): Promise<GeneMajorCache> {
    await this.idle();
    // The cheap check first: a change during the full walk is seen by the next request.
    const quick = await quickFingerprint(this.path);
    const now = quick === this.quick ? this.print : await fingerprint(this.path);
    // (a change seen during a build is kept unseen: the next request walks again)
    if (now === this.print) this.quick = quick;
    if (this.building || now === this.print) {
      if (this.failure) throw new Error(this.failure);
      if (this.cache) return this.cache;
    }
    const previous = this.ready;
    this.print = now;
    this.quick = quick;
    this.failure = null;
    this.ready = null;
    this.progress = { done: 0, total: 0 };
    this.building = true;
    const opening = GeneMajorCache.open(this.path, {
      root: this.root,
      signal: this.abort.signal,
      onProgress: (done, total) => (this.progress = { done, total }),
    });
    this.cache = opening;
    opening.then(
      (c) => {
        this.building = false;
        if (this.cache === opening) this.ready = c;
      },
      (err: unknown) => {
        this.building = false;
        this.failure = (err as Error)?.message ?? String(err);
      },
    );
    await previous?.close().catch(() => undefined);
    return opening;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
