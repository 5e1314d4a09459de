/** What `GET /api/config` tells the viewer: the datasets and model this server offers. */
export interface DatasetRef {
  /** File or folder name, for display. */
  name: string;
  /** Server-relative URL: a zarr root (ending in '/') or an .h5ad file. */
  url: string;
  format: 'zarr' | 'h5ad';
}

export interface ViewerConfig {
  query: DatasetRef & { writable: boolean };
  reference: DatasetRef | null;
  model: { name: string; url: string } | null;
  /** Suggested reference label column. */
  labelKey: string | null;
  /** Suggested epochs. */
  epochs: number | null;
  /** How the scatterplot draws its points (default DEFAULT_RENDERER). */
  renderer?: Renderer;
}

/**
 * How the scatterplot draws its points: 'webgl' (regl, on the GPU), 'cpu' (a 2-D canvas), or
 * 'auto': WebGL where the browser has a hardware GPU, else the CPU (a software WebGL such as
 * SwiftShader is slower than the CPU raster and freezes the page while it draws).
 */
export const RENDERERS = ['auto', 'webgl', 'cpu'] as const;
export type Renderer = (typeof RENDERERS)[number];
export const DEFAULT_RENDERER: Renderer = 'auto';

/**
 * The renderer a page URL asks for (`?renderer=webgl`, to force one), else the config's; an
 * unknown name is an error saying which ones there are.
 */
export function rendererFor(config: ViewerConfig, search: string): Renderer {
  const asked = new URLSearchParams(search).get('renderer');
  if (asked === null) return config.renderer ?? DEFAULT_RENDERER;
  if ((RENDERERS as readonly string[]).includes(asked)) return asked as Renderer;
  throw new Error(`?renderer=${asked} in the page's address: use one of ${RENDERERS.join(', ')}`);
}

/** The server's config; a refusal (e.g. no session cookie) becomes an error saying why. */
export async function fetchConfig(): Promise<ViewerConfig> {
  const response = await fetch('/api/config');
  const body = (await response.json().catch(() => null)) as
    ViewerConfig | { ok: false; error?: string } | null;
  if (!response.ok || body === null || 'ok' in body) {
    const error = body && 'error' in body ? body.error : undefined;
    throw new Error(error ?? `the server answered ${response.status} to /api/config`);
  }
  return body;
}
