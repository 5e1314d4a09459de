/**
 * The Vitessce view config of the example page, built from what the data worker read of the
 * query: its URL (an AnnData .zarr served by `scnym view`), a 2-D embedding, its categorical obs
 * columns as cell sets and X as the feature matrix. Views: the embedding scatterplot, the
 * cell-set manager, the gene list (Vitessce's own colour by gene: a click colours the
 * scatterplot by that gene of X) and the scNym plugin view, all on one coordination scope.
 */
import type { ColumnInfo } from '@scnym/core/anndata';
import { embeddingChoices, likelyLabelColumn } from '@scnym/core/vocabulary';
import type { SetColor } from './sets.js';

/** The plugin view type's name in Vitessce configs. */
export const VIEW_TYPE = 'scnymTransferLabels';
/** Config schema version (vitessce 4.0.8 reads 0.1.0 … 1.0.18). */
export const SCHEMA_VERSION = '1.0.18';
/** Categorical columns with more categories are not offered as cell sets. */
export const MAX_SET_CATEGORIES = 200;

export interface QueryDescription {
  /** Absolute URL of the .zarr folder (ending in '/'). */
  url: string;
  name: string;
  columns: readonly ColumnInfo[];
  obsm: readonly { key: string; shape: readonly number[] }[];
  /**
   * The sets' colours (the adapter's `fileSetColors`: by label name, as the panel's trees);
   * absent: Vitessce's own palette, by position in each tree.
   */
  setColors?: readonly SetColor[];
}

/** The embedding shown: X_umap if there is one, else the first of core's embedding choices. */
export function chooseEmbedding(
  obsm: QueryDescription['obsm'],
  columns: readonly ColumnInfo[] = [],
): string | null {
  const usable = embeddingChoices(
    obsm,
    columns.map((c) => c.name),
  );
  return usable.find((k) => k === 'X_umap') ?? usable[0] ?? null;
}

/** `X_umap` → `UMAP`, `X_tsne` → `TSNE`, others as they are. */
export function embeddingTypeName(key: string): string {
  return key.startsWith('X_') ? key.slice(2).toUpperCase() : key;
}

/**
 * The obs columns published by Vitessce's loader as cell sets (the adapter colours by these), the
 * likeliest cell-type column first: Vitessce colours by the first tree at start.
 */
export function setColumns(columns: readonly ColumnInfo[]): string[] {
  const names = columns
    .filter(
      (c) =>
        c.kind === 'categorical' &&
        (c.nCategories ?? 0) > 0 &&
        (c.nCategories ?? 0) <= MAX_SET_CATEGORIES &&
        !c.name.includes('/'),
    )
    .map((c) => c.name);
  const first = likelyLabelColumn(names.map((name) => ({ name })))?.name;
  return first ? [first, ...names.filter((n) => n !== first)] : names;
}

export function vitessceConfig(query: QueryDescription): Record<string, unknown> {
  const embedding = chooseEmbedding(query.obsm, query.columns);
  if (!embedding) throw new Error(`${query.name} has no 2-D obsm embedding to plot`);
  const embeddingType = embeddingTypeName(embedding);
  const sets = setColumns(query.columns);
  const scopes = {
    dataset: 'A',
    obsType: 'A',
    embeddingType: 'A',
    obsSetSelection: 'A',
    obsSetColor: 'A',
    obsSetExpansion: 'A',
    additionalObsSets: 'A',
    obsColorEncoding: 'A',
    featureType: 'A',
    featureValueType: 'A',
    featureSelection: 'A',
    featureValueColormapRange: 'A',
  };
  return {
    version: SCHEMA_VERSION,
    name: `scNym · ${query.name}`,
    description: 'Vitessce with the scNym Transfer-labels plugin view',
    initStrategy: 'auto',
    datasets: [
      {
        uid: 'query',
        name: query.name,
        files: [
          {
            fileType: 'anndata.zarr',
            url: query.url,
            options: {
              obsEmbedding: [{ path: `obsm/${embedding}`, embeddingType, dims: [0, 1] }],
              ...(sets.length ? { obsSets: sets.map((c) => ({ name: c, path: `obs/${c}` })) } : {}),
              obsFeatureMatrix: { path: 'X' },
            },
            coordinationValues: {
              obsType: 'cell',
              featureType: 'gene',
              featureValueType: 'expression',
            },
          },
        ],
      },
    ],
    coordinationSpace: {
      dataset: { A: 'query' },
      obsType: { A: 'cell' },
      embeddingType: { A: embeddingType },
      obsSetSelection: { A: null },
      obsSetColor: { A: query.setColors ? [...query.setColors] : null },
      obsSetExpansion: { A: null },
      additionalObsSets: { A: null },
      obsColorEncoding: { A: 'cellSetSelection' },
      featureType: { A: 'gene' },
      featureValueType: { A: 'expression' },
      featureSelection: { A: null },
      featureValueColormapRange: { A: [0, 1] },
    },
    layout: [
      { component: 'scatterplot', coordinationScopes: scopes, x: 0, y: 0, w: 6, h: 12 },
      { component: 'obsSets', coordinationScopes: scopes, x: 6, y: 0, w: 3, h: 6 },
      { component: 'featureList', coordinationScopes: scopes, x: 6, y: 6, w: 3, h: 6 },
      {
        component: VIEW_TYPE,
        coordinationScopes: scopes,
        props: { title: 'Transfer labels (scNym)' },
        x: 9,
        y: 0,
        w: 3,
        h: 12,
      },
    ],
  };
}
