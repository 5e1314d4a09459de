/**
 * The host's side of the data worker: promise-returning reads. The endpoint is a DOM Worker in
 * the browser, or an adapter over another channel (the VS Code webview's postMessage).
 */
import type { ObsColumn } from '@scnym/core/anndata';
import {
  withHint,
  type DataRequest,
  type DataResponse,
  type DatasetLocation,
  type DatasetSummary,
} from '../shared/worker-messages.js';

/**
 * Method-style, so handlers are checked bivariantly and a DOM `Worker` (whose handlers take full
 * MessageEvents) is still a MessageEndpoint.
 */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** What DataClient needs of a worker: requests out, responses (and failures) in. */
export interface MessageEndpoint {
  postMessage(message: DataRequest): void;
  onmessage: Handler<{ data: DataResponse }> | null;
  onerror: Handler<{ message?: string }> | null;
}

type Pending = { ok: (r: DataResponse) => void; fail: (e: Error) => void };

/** Distributes `Omit` over a union (so each request keeps its own fields). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export class DataClient {
  private next = 1;
  private pending = new Map<number, Pending>();

  constructor(private readonly worker: MessageEndpoint) {
    worker.onmessage = (e) => {
      const p = this.pending.get(e.data.id);
      if (!p) return;
      this.pending.delete(e.data.id);
      if (e.data.type === 'error') {
        p.fail(new Error(withHint(e.data.message, e.data.hint)));
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
