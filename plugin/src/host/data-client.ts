/** The host's side of the data worker: promise-returning reads. */
import type { ObsColumn } from '../shared/core.js';
import type {
  DataRequest,
  DataResponse,
  DatasetLocation,
  DatasetSummary,
} from '../shared/worker-messages.js';

type Pending = { ok: (r: DataResponse) => void; fail: (e: Error) => void };

/** Distributes `Omit` over a union (so each request keeps its own fields). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export class DataClient {
  private next = 1;
  private pending = new Map<number, Pending>();

  constructor(private readonly worker: Worker) {
    worker.onmessage = (e: MessageEvent<DataResponse>) => {
      const p = this.pending.get(e.data.id);
      if (!p) return;
      this.pending.delete(e.data.id);
      if (e.data.type === 'error') {
        p.fail(new Error(e.data.hint ? `${e.data.message} (${e.data.hint})` : e.data.message));
      } else p.ok(e.data);
    };
    worker.onerror = (e) => {
      for (const p of this.pending.values()) p.fail(new Error(e.message || 'data worker failed'));
      this.pending.clear();
    };
  }

  private ask(req: WithoutId<DataRequest>): Promise<DataResponse> {
    const id = this.next++;
    return new Promise((ok, fail) => {
      this.pending.set(id, { ok, fail });
      this.worker.postMessage({ ...req, id } as DataRequest);
    });
  }

  async open(dataset: DatasetLocation): Promise<DatasetSummary> {
    const r = await this.ask({ type: 'open', dataset });
    if (r.type !== 'opened') throw new Error('unexpected reply');
    return r.summary;
  }

  async obsColumn(name: string): Promise<ObsColumn> {
    const r = await this.ask({ type: 'obsColumn', name });
    if (r.type !== 'obsColumn') throw new Error('unexpected reply');
    return r.column;
  }

  async obsm(
    key: string,
    columns: number[],
  ): Promise<{ data: Float32Array; shape: [number, number] }> {
    const r = await this.ask({ type: 'obsm', key, columns });
    if (r.type !== 'obsm') throw new Error('unexpected reply');
    return { data: r.data, shape: r.shape };
  }

  async obsNames(): Promise<string[]> {
    const r = await this.ask({ type: 'obsNames' });
    if (r.type !== 'obsNames') throw new Error('unexpected reply');
    return r.names;
  }
}
