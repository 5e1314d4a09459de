/**
 * Answers the viewer's data requests (open, obs columns, obsm embeddings, names) from one open
 * AnnData. Platform-neutral: the browser's data worker opens datasets over HTTP, the VS Code
 * extension's worker_thread from the file system; both post the answers with `transfer`.
 */
import type { AnnData } from '@scnym/core/anndata';
import type { DataRequest, DataResponse, DatasetLocation } from './worker-messages.js';

export interface DataAnswer {
  response: DataResponse;
  /** Buffers of the response's typed arrays, to move rather than copy. */
  transfer: ArrayBuffer[];
}

export class DataService {
  /** The dataset being opened or open; requests that arrive while it opens wait for it. */
  private current: Promise<AnnData> | null = null;

  constructor(private readonly open: (where: DatasetLocation) => Promise<AnnData>) {}

  /** Never throws: failures come back as `{type: 'error'}` with the request's id. */
  async answer(req: DataRequest): Promise<DataAnswer> {
    try {
      if (req.type === 'open') return { response: await this.openDataset(req), transfer: [] };
      if (!this.current) throw new Error('no dataset is open');
      const ad = await this.current;
      if (req.type === 'obsColumn') {
        const column = await ad.obsColumn(req.name);
        const arrays =
          column.kind === 'categorical'
            ? [column.codes]
            : column.kind === 'numeric'
              ? [column.values]
              : [];
        return { response: { type: 'obsColumn', id: req.id, column }, transfer: buffers(arrays) };
      }
      if (req.type === 'obsm') {
        const m = await ad.obsm(req.key, req.columns);
        const data = Float32Array.from(m.data);
        return {
          response: { type: 'obsm', id: req.id, data, shape: m.shape },
          transfer: [data.buffer],
        };
      }
      if (req.type === 'obsNames') {
        return {
          response: { type: 'obsNames', id: req.id, names: await ad.obsNames() },
          transfer: [],
        };
      }
      throw new Error(`unknown data request '${(req as { type: string }).type}'`);
    } catch (err) {
      const e = err as Error & { hint?: string };
      const message = e?.message ?? String(err);
      const response: DataResponse = e?.hint
        ? { type: 'error', id: req.id, message, hint: e.hint }
        : { type: 'error', id: req.id, message };
      return { response, transfer: [] };
    }
  }

  /** Closes the open dataset (if any). */
  async close(): Promise<void> {
    const previous = this.current;
    this.current = null;
    await closeQuietly(previous);
  }

  private async openDataset(req: Extract<DataRequest, { type: 'open' }>): Promise<DataResponse> {
    // `current` is replaced before any await, so reads sent after this open wait for it.
    const previous = this.current;
    const opening = closeQuietly(previous).then(() => this.open(req.dataset));
    this.current = opening;
    // A failed open leaves nothing open (later reads say so instead of repeating the failure).
    opening.catch(() => {
      if (this.current === opening) this.current = null;
    });
    const ad = await opening;
    const names = await ad.obsColumnNames();
    const columns = await Promise.all(names.map((n) => ad.obsColumnInfo(n)));
    const keys = await ad.obsmKeys();
    const obsm = await Promise.all(
      keys.map(async (key) => ({ key, shape: await ad.obsmShape(key) })),
    );
    return {
      type: 'opened',
      id: req.id,
      summary: { nObs: ad.nObs, nVars: ad.nVars, columns, obsm, varColumns: await geneColumns(ad) },
    };
  }
}

/**
 * var columns that can hold gene names (strings, categories): a choice offered for matching
 * genes, so an unreadable var lists none rather than failing the open.
 */
async function geneColumns(ad: AnnData): Promise<string[]> {
  const names = await Promise.resolve()
    .then(() => ad.varColumnNames())
    .catch((): string[] => []);
  const infos = await Promise.all(names.map((n) => ad.varColumnInfo(n).catch(() => null)));
  return infos.filter((c) => c?.kind === 'string' || c?.kind === 'categorical').map((c) => c!.name);
}

async function closeQuietly(ad: Promise<AnnData> | null): Promise<void> {
  await ad?.then((a) => a.close()).catch(() => undefined);
}

/** The distinct ArrayBuffers behind some typed arrays (SharedArrayBuffers cannot be moved). */
function buffers(arrays: ArrayBufferView[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const a of arrays) if (a.buffer instanceof ArrayBuffer) out.add(a.buffer);
  return [...out];
}
