/**
 * The data worker: opens the shown dataset with core's reader and answers the host's reads
 * (obs columns, obsm embeddings, names). Keeps h5wasm and decoding off the UI thread.
 */
import { openDatasetOverHttp } from '../shared/open-dataset.js';
import type { AnnData } from '../../../core/src/anndata/types.js';
import type { DataRequest, DataResponse } from '../shared/worker-messages.js';

interface WorkerScope {
  onmessage: ((e: MessageEvent<DataRequest>) => void) | null;
  postMessage(message: DataResponse, transfer?: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;

let ad: AnnData | null = null;

async function answer(req: DataRequest): Promise<void> {
  try {
    if (req.type === 'open') {
      await ad?.close();
      ad = await openDatasetOverHttp(req.dataset);
      const names = await ad.obsColumnNames();
      const columns = await Promise.all(names.map((n) => ad!.obsColumnInfo(n)));
      const keys = await ad.obsmKeys();
      const obsm = await Promise.all(
        keys.map(async (key) => ({ key, shape: await ad!.obsmShape(key) })),
      );
      scope.postMessage({
        type: 'opened',
        id: req.id,
        summary: { nObs: ad.nObs, nVars: ad.nVars, columns, obsm },
      });
      return;
    }
    if (!ad) throw new Error('no dataset is open');
    if (req.type === 'obsColumn') {
      const column = await ad.obsColumn(req.name);
      const transfer: Transferable[] = [];
      if (column.kind === 'categorical') transfer.push(column.codes.buffer);
      else if (column.kind === 'numeric') transfer.push(column.values.buffer);
      scope.postMessage({ type: 'obsColumn', id: req.id, column }, transfer);
    } else if (req.type === 'obsm') {
      const m = await ad.obsm(req.key, req.columns);
      const data = Float32Array.from(m.data);
      scope.postMessage({ type: 'obsm', id: req.id, data, shape: m.shape }, [data.buffer]);
    } else if (req.type === 'obsNames') {
      scope.postMessage({ type: 'obsNames', id: req.id, names: await ad.obsNames() });
    }
  } catch (err) {
    const e = err as Error & { hint?: string };
    scope.postMessage({ type: 'error', id: req.id, message: e.message, hint: e.hint });
  }
}

scope.onmessage = (e) => void answer(e.data);
