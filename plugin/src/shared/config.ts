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
