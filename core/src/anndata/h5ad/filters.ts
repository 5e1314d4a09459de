/**
 * HDF5 filters beyond h5wasm's built-in ones (lzf, blosc, bitshuffle, zstd…): Emscripten side
 * modules (libH5Z*.so) that HDF5 loads from its plugin search path the first time a dataset
 * needs one. They come from h5wasm-plugins, except lzf: ours (core/h5plugins, from
 * lzf-plugin.wat, which says why). Node puts the folders on that path; a browser worker fetches a
 * plugin into the module's in-memory file system before the first read that needs it (HDF5 loads
 * plugins synchronously, so it cannot fetch one itself).
 */
import { AnnDataError } from '../../errors.js';
import { BUILT_IN_FILTERS, FILTER_NAMES, type H5Module } from './hdf5.js';

/** The plugin file that holds each filter. */
export const PLUGIN_FILES: Record<number, string> = {
  307: 'libH5Zbz2.so',
  32000: 'libH5Zlzf.so',
  32001: 'libH5Zblosc.so',
  32004: 'libH5Zlz4.so',
  32008: 'libH5Zbshuf.so',
  32013: 'libH5Zzfp.so',
  32015: 'libH5Zzstd.so',
  32019: 'libH5Zjpeg.so',
  32022: 'libH5Zbitgroom.so',
  32023: 'libH5Zbitround.so',
  32026: 'libH5Zblosc2.so',
};

/** Where a module finds the plugins. */
export type FilterPlugins =
  /** Folders HDF5 can list (Node: the real file system), searched in order, and their files. */
  | { folders: readonly { path: string; files: readonly string[] }[] }
  /** Fetches a plugin file by name, e.g. from the server that serves the page (browser). */
  | { fetch: (file: string) => Promise<Uint8Array> };

interface State {
  /** Filters whose plugin HDF5 can load now. */
  ready: Set<number>;
  fetch?: (file: string) => Promise<Uint8Array>;
  loading: Map<number, Promise<void>>;
}

const states = new WeakMap<object, State>();

/** In-memory folder (browser) that fetched plugins go to; first on the search path. */
const FETCHED_FOLDER = '/scnym-h5plugins';

/** Gives a loaded module its filter plugins; call it once, before opening files. */
export function useFilterPlugins(m: H5Module, plugins: FilterPlugins): void {
  if (states.has(m)) return;
  const state: State = { ready: new Set(), loading: new Map() };
  const folders = 'folders' in plugins ? plugins.folders : [{ path: FETCHED_FOLDER, files: [] }];
  if ('fetch' in plugins) {
    state.fetch = plugins.fetch;
    m.FS.mkdirTree(FETCHED_FOLDER);
  }
  // inserted last to first, so HDF5 searches them in the order given
  for (const folder of [...folders].reverse()) {
    m.insert_plugin_search_path(folder.path, 0);
    for (const [id, file] of Object.entries(PLUGIN_FILES)) {
      if (folder.files.includes(file)) state.ready.add(Number(id));
    }
  }
  states.set(m, state);
}

/** Whether HDF5 can decode the filter now. */
export function filterReady(m: H5Module, id: number): boolean {
  return BUILT_IN_FILTERS.has(id) || (states.get(m)?.ready.has(id) ?? false);
}

/** Whether this module's plugins are fetched (browser) rather than found in a folder. */
export function fetchesFilters(m: H5Module): boolean {
  return states.get(m)?.fetch !== undefined;
}

/** Fetches the plugin for a filter if it is fetched and not yet loaded; others are left. */
export async function loadFilter(m: H5Module, id: number): Promise<void> {
  const state = states.get(m);
  const file = PLUGIN_FILES[id];
  const fetchPlugin = state?.fetch;
  if (!state || !fetchPlugin || !file || filterReady(m, id)) return;
  let loading = state.loading.get(id);
  if (!loading) {
    loading = fetchPlugin(file).then((bytes) => {
      m.FS.writeFile(`${FETCHED_FOLDER}/${file}`, bytes);
      state.ready.add(id);
    });
    // a failed fetch is not remembered: the next read tries again
    loading.catch(() => state.loading.delete(id));
    state.loading.set(id, loading);
  }
  await loading;
}

/** Blosc's and Blosc2's internal codecs (cd_values[6]), and those their plugins decode here. */
const BLOSC_CODECS = ['blosclz', 'lz4', 'lz4hc', 'snappy', 'zlib', 'zstd'];
const BLOSC_DECODED = new Set(['blosclz', 'lz4', 'lz4hc', 'zstd']);

/**
 * Why a filter's plugin, though installed, cannot decode this dataset, if it cannot: blosc's zlib
 * codec calls zlib functions h5wasm does not export, and such a call aborts the whole module
 * (every later read would fail); snappy is not compiled in. Checked before HDF5 reads.
 */
export function undecodable(filter: { id: number; cd_values?: number[] }): string | undefined {
  const codec = filter.id === 32001 || filter.id === 32026 ? filter.cd_values?.[6] : undefined;
  if (codec === undefined) return undefined;
  const name = BLOSC_CODECS[codec] ?? `codec ${codec}`;
  return BLOSC_DECODED.has(name) ? undefined : `its '${name}' codec is not supported here`;
}

/** The error for a dataset whose filter HDF5 cannot load. */
export function missingFilterError(
  filter: { id: number; name: string },
  file: string,
  element: string,
  why?: string,
): AnnDataError {
  const name = FILTER_NAMES[filter.id] ?? filter.name;
  const reason =
    why ??
    (PLUGIN_FILES[filter.id]
      ? `its plugin (${PLUGIN_FILES[filter.id]}) is not installed`
      : 'there is no h5wasm plugin for it');
  return new AnnDataError(
    `is compressed with the '${name}' HDF5 filter (id ${filter.id}), which cannot be decoded here: ${reason}`,
    {
      file,
      element,
      hint: "re-save it with gzip: adata.write_h5ad(path, compression='gzip')",
    },
  );
}
