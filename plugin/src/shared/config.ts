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
