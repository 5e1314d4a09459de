/**
 * The viewer app: reads the server's config, starts the host on the query dataset and injects
 * the Transfer-labels panel. The host and the panel only meet through the plugin interface.
 */
import { DataClient } from '../host/data-client.js';
import { GeneSource } from '../host/gene-search.js';
import { Viewer } from '../host/viewer.js';
import { transferLabelsPanel } from '../panels/transfer-labels/panel.js';
import { fetchConfig, rendererFor } from '../shared/config.js';

async function main(): Promise<void> {
  const root = document.getElementById('app')!;
  const served = await fetchConfig();
  // `?renderer=webgl|cpu|auto` in the address forces how the points are drawn.
  const config = { ...served, renderer: rendererFor(served, location.search) };
  const here = (path: string) => new URL(path, location.href).href;
  const dataWorkerUrl = here('/app/data-worker.js');
  const viewer = new Viewer({
    root,
    config,
    dataset: { url: here(config.query.url), format: config.query.format, name: config.query.name },
    client: new DataClient(new Worker(dataWorkerUrl, { type: 'module' })),
    // Dark mode follows the system (styles.css); the plot's background is set once, at load.
    background: matchMedia('(prefers-color-scheme: dark)').matches ? '#1b1b1b' : undefined,
    genes: new GeneSource(here('/api/genes')),
  });
  await viewer.start();
  const token =
    document.querySelector<HTMLMetaElement>('meta[name="scnym-token"]')?.content ?? null;
  viewer.registerPanel(
    transferLabelsPanel({
      workerUrl: here('/app/transfer-labels-worker.js'),
      dataWorkerUrl,
      wasmPaths: here('/app/wasm/'),
      token,
    }),
  );
  (window as unknown as { scnymViewer: Viewer }).scnymViewer = viewer;
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  const box = document.getElementById('app')!;
  box.textContent = `The viewer could not start: ${message}`;
  box.className = 'fatal';
  document.body.dataset.error = message;
  console.error(err);
});
