/**
 * The example page served by `scnym view --host vitessce`: Vitessce (scatterplot, cell-set
 * manager) on the query .zarr, with scNym's Transfer-labels panel as a plugin view. The panel's
 * workers and TF.js's .wasm files are the ones our own viewer uses (plugin/dist/app, served at
 * /app/); this bundle adds the page, the adapter, React and Vitessce.
 */
import { useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { PluginAsyncFunction, Vitessce } from 'vitessce';
import { DataClient } from '@scnym/plugin/data-client';
import { transferLabelsPanel } from '@scnym/plugin/transfer-labels';
import { fetchConfig } from '@scnym/plugin/config';
import type { DatasetLocation } from '@scnym/plugin/data-messages';
import { fileSetColors, readFileSets, type VitessceHost } from './adapter.js';
import { setColumns, vitessceConfig } from './config.js';
import { transferLabelsViewType } from './view.js';

async function main(): Promise<void> {
  const root = document.getElementById('app')!;
  const config = await fetchConfig();
  const here = (path: string) => new URL(path, location.href).href;
  if (config.query.format !== 'zarr') {
    throw new Error(
      `Vitessce reads AnnData as .zarr; ${config.query.name} is an .h5ad file (open it with the scNym host, or convert it to .zarr)`,
    );
  }
  const dataset: DatasetLocation = {
    url: here(config.query.url),
    format: config.query.format,
    name: config.query.name,
  };
  const dataWorkerUrl = here('/app/data-worker.js');
  const client = new DataClient(new Worker(dataWorkerUrl, { type: 'module' }));
  const summary = await client.open(dataset);
  const sets = setColumns(summary.columns);
  // The file's sets coloured by label name from the start (Vitessce's own palette goes by
  // position in each tree); the panel's trees take their colours from the same map.
  const fileSets = await readFileSets(client, sets);
  const labelColors = new Map<string, string>();
  const vitessce = vitessceConfig({
    url: dataset.url,
    name: dataset.name,
    columns: summary.columns,
    obsm: summary.obsm,
    setColors: fileSetColors(fileSets, labelColors),
  });
  const token =
    document.querySelector<HTMLMetaElement>('meta[name="scnym-token"]')?.content ?? null;
  const viewType = transferLabelsViewType({
    config,
    dataset,
    summary,
    reader: client,
    setColumns: sets,
    fileSets,
    labelColors,
    panel: transferLabelsPanel({
      workerUrl: here('/app/transfer-labels-worker.js'),
      dataWorkerUrl,
      wasmPaths: here('/app/wasm/'),
      token,
    }),
    onReady: (host: VitessceHost | null, error?: Error) => {
      if (error) {
        document.body.dataset.error = error.message;
        console.error(error);
        return;
      }
      (window as unknown as { scnymHost: VitessceHost | null }).scnymHost = host;
      document.body.dataset.ready = 'true';
    },
  });
  const viewTypes = [viewType];
  // Vitessce maps ENSEMBL gene IDs to symbols with a table it downloads from data-1.vitessce.io;
  // this page fetches nothing from the internet, so the mapping is empty (genes keep var's names).
  const asyncFunctions = [new PluginAsyncFunction('getTermMapping', async () => new Map())];
  const warn = (message: string) => console.warn(`Vitessce: ${message}`);
  (window as unknown as { vitessceConfig: unknown }).vitessceConfig = vitessce;

  function Page() {
    const [height, setHeight] = useState(window.innerHeight);
    useEffect(() => {
      const resize = () => setHeight(window.innerHeight);
      window.addEventListener('resize', resize);
      return () => window.removeEventListener('resize', resize);
    }, []);
    return (
      <Vitessce
        config={vitessce}
        theme="light"
        height={height}
        pluginViewTypes={viewTypes}
        pluginAsyncFunctions={asyncFunctions}
        onWarn={warn}
      />
    );
  }
  root.textContent = '';
  createRoot(root).render(<Page />);
}

function fatal(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  const box = document.getElementById('app')!;
  box.textContent = `The Vitessce page could not start: ${message}`;
  box.className = 'fatal';
  document.body.dataset.error = message;
  console.error(err);
}

main().catch(fatal);
