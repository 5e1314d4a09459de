/// <reference lib="dom" />
// The Vitessce adapter's pure parts: obs columns → cell-set trees (schema 0.1.3) and colours,
// colouring vs selection, the view config; and VitessceHost (the ViewerApi on Vitessce's
// coordination) driven through a fake coordination store, as the Transfer-labels panel drives it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ObsColumn } from '../../core/src/anndata/types.js';
import { LOW_CONFIDENCE_THRESHOLD, rampColor, UNKNOWN_COLOR } from '@scnym/core/vocabulary';
import type { ViewerEvent } from '../../plugin/src/host/api.js';
import type { DatasetSummary } from '../../plugin/src/shared/worker-messages.js';
import {
  fileSetColors,
  readFileSets,
  VitessceHost,
  type Coordination,
  type CoordinationBridge,
  type VitessceHostOptions,
} from '../../plugin/vitessce/src/adapter.js';
import {
  chooseEmbedding,
  setColumns,
  VIEW_TYPE,
  vitessceConfig,
} from '../../plugin/vitessce/src/config.js';
import {
  binLabel,
  binnedTree,
  categoricalTree,
  colouringOf,
  CONFIDENCE_EDGES,
  CONFIDENCE_NODE,
  findNode,
  hexToRgb,
  leafPaths,
  nodeMembers,
  PREDICTIONS_NODE,
  SELECTION_NODE,
  withColors,
  withNode,
  withoutNode,
  type SetLeaf,
} from '../../plugin/vitessce/src/sets.js';

const NAMES = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];

test('a categorical column becomes one coloured set per used label, in category order', () => {
  const labels = ['B', 'NK', 'B', 'CD4T', 'NK', 'B'];
  const { node, colors } = categoricalTree(PREDICTIONS_NODE, NAMES, labels, [
    'NK',
    'B',
    'CD4T',
    'pDC',
  ]);
  assert.equal(node.name, PREDICTIONS_NODE);
  assert.deepEqual(
    node.children.map((c) => c.name),
    ['NK', 'B', 'CD4T'], // pDC has no cell: left out
  );
  const b = node.children[1] as SetLeaf;
  assert.deepEqual(b.set, [
    ['c0', null],
    ['c2', null],
    ['c5', null],
  ]);
  // core's palette (tab20 order), by category index
  assert.deepEqual(node.children[0].color, hexToRgb('#1f77b4'));
  assert.deepEqual(b.color, hexToRgb('#ff7f0e'));
  assert.deepEqual(colors[2], { path: [PREDICTIONS_NODE, 'CD4T'], color: hexToRgb('#279e68') });
  // given colours are used; labels outside the categories are appended; Unknown is grey
  const withUnknown = categoricalTree(
    'x',
    NAMES,
    ['a', 'Unknown', 'a', 'b', 'a', 'a'],
    ['a', 'Unknown'],
  );
  assert.deepEqual(
    withUnknown.node.children.map((c) => [c.name, c.color]),
    [
      ['a', hexToRgb('#1f77b4')],
      ['Unknown', hexToRgb('#bdbdbd')],
      ['b', hexToRgb('#ff7f0e')], // Unknown takes no palette colour
    ],
  );
  assert.throws(() => categoricalTree('x', NAMES, ['a']), /1 labels for 6 cells/);
});

test('a numeric column becomes bins: the confidence thresholds for values in [0, 1]', () => {
  const confidence = Float32Array.from([0.2, 0.55, 0.95, 0.7, 0.9, NaN]);
  const { node, colors } = binnedTree(CONFIDENCE_NODE, NAMES, confidence);
  assert.deepEqual(
    node.children.map((c) => [c.name, nodeMembers(c)]),
    [
      ['< 0.5', ['c0']],
      ['0.5–0.7', ['c1']],
      ['0.7–0.9', ['c3']],
      ['≥ 0.9', ['c2', 'c4']], // NaN left out
    ],
  );
  // Each bin in the plot's colour for its middle (core's ramp over [0, 1]); the lowest bin ends
  // at core's low-confidence threshold, the one every front end uses.
  assert.equal(CONFIDENCE_EDGES[0], LOW_CONFIDENCE_THRESHOLD);
  assert.deepEqual(
    colors.map((c) => c.color),
    [0.25, 0.6, 0.8, 0.95].map((t) => hexToRgb(rampColor(t))),
  );
  // other ranges: three equal-width inner edges; empty bins are left out
  const wide = binnedTree('n_genes', NAMES, [0, 10, 20, 30, 40, 40]);
  assert.deepEqual(
    wide.node.children.map((c) => c.name),
    ['< 10', '10–20', '20–30', '≥ 30'],
  );
  assert.deepEqual(
    binnedTree('const', NAMES, [5, 5, 5, 5, 5, 5]).node.children.map((c) => c.name),
    ['all cells'],
  );
  assert.equal(binLabel(0.5, 0.7), '0.5–0.7');
  assert.equal(binLabel(null, 0.5), '< 0.5');
  assert.equal(binLabel(0.9, null), '≥ 0.9');
  assert.deepEqual(wide.colors.at(-1)?.color, hexToRgb(rampColor(0.875)));
});

test('trees and colours are replaced by name; paths, lookups and colouring detection', () => {
  const a = categoricalTree('A', NAMES, ['x', 'y', 'x', 'y', 'x', 'y']);
  const b = categoricalTree('B', NAMES, ['u', 'u', 'u', 'v', 'v', 'v']);
  let sets = withNode(null, a.node);
  sets = withNode(sets, b.node);
  assert.equal(sets.version, '0.1.3');
  const a2 = categoricalTree('A', NAMES, ['z', 'z', 'z', 'z', 'z', 'z']);
  sets = withNode(sets, a2.node);
  assert.deepEqual(
    sets.tree.map((n) => [n.name, n.children.length]),
    [
      ['A', 1],
      ['B', 2],
    ],
  );
  assert.deepEqual(
    withoutNode(sets, 'A').tree.map((n) => n.name),
    ['B'],
  );
  const colours = withColors(withColors(null, 'A', a.colors), 'B', b.colors);
  assert.equal(colours.length, 4);
  const replaced = withColors(colours, 'A', a2.colors);
  assert.deepEqual(
    replaced.map((c) => c.path.join('/')),
    ['B/u', 'B/v', 'A/z'],
  );
  assert.deepEqual(leafPaths(b.node), [
    ['B', 'u'],
    ['B', 'v'],
  ]);
  assert.deepEqual(nodeMembers(findNode(sets, ['B', 'v'])!), ['c3', 'c4', 'c5']);
  assert.equal(findNode(sets, ['B', 'w']), undefined);
  const trees = new Map([['B', leafPaths(b.node)]]);
  assert.equal(
    colouringOf(
      [
        ['B', 'v'],
        ['B', 'u'],
      ],
      trees,
    ),
    'B',
  );
  assert.equal(colouringOf([['B', 'v']], trees), null);
  assert.equal(colouringOf([['My Selections', 'Selection 1']], trees), null);
  assert.equal(colouringOf([], trees), null);
});

const SUMMARY: DatasetSummary = {
  nObs: 6,
  nVars: 3,
  columns: [
    { name: 'cell_type', kind: 'categorical', dtype: 'int8', nCategories: 2 },
    { name: 'n_genes', kind: 'numeric', dtype: 'int32' },
    { name: 'barcode', kind: 'string', dtype: 'string' },
  ],
  obsm: [
    { key: 'X_pca', shape: [6, 50] },
    { key: 'X_scnym', shape: [6, 256] },
    { key: 'X_umap', shape: [6, 2] },
  ],
};

/** The fake hosts' query: a writable q.zarr served at /data/query/, its sets from cell_type. */
const QUERY: Pick<VitessceHostOptions, 'dataset' | 'config' | 'summary' | 'setColumns'> = {
  dataset: { url: 'http://127.0.0.1:1/data/query/', format: 'zarr', name: 'q.zarr' },
  config: {
    query: { name: 'q.zarr', url: '/data/query/', format: 'zarr', writable: true },
    reference: null,
    model: null,
    labelKey: null,
    epochs: null,
  },
  summary: SUMMARY,
  setColumns: ['cell_type'],
};

test('the view config: AnnData-Zarr, UMAP, categorical columns as sets, three views on one scope', () => {
  assert.equal(chooseEmbedding(SUMMARY.obsm), 'X_umap');
  assert.equal(chooseEmbedding([{ key: 'X_tsne', shape: [6, 2] }]), 'X_tsne');
  assert.equal(chooseEmbedding([{ key: 'X_pca', shape: [6] }]), null);
  // scNym's 256-d latent space is no 2-D picture: never offered, even when it is the only one
  assert.equal(chooseEmbedding([{ key: 'X_scnym', shape: [6, 256] }]), null);
  assert.deepEqual(setColumns(SUMMARY.columns), ['cell_type']);
  const config = vitessceConfig({
    url: 'http://127.0.0.1:1/data/query/',
    name: 'q.zarr',
    columns: SUMMARY.columns,
    obsm: SUMMARY.obsm,
  }) as {
    datasets: { files: { fileType: string; url: string; options: Record<string, unknown> }[] }[];
    coordinationSpace: Record<string, Record<string, unknown>>;
    layout: { component: string; coordinationScopes: Record<string, string> }[];
  };
  const file = config.datasets[0].files[0];
  assert.equal(file.fileType, 'anndata.zarr');
  assert.equal(file.url, 'http://127.0.0.1:1/data/query/');
  assert.deepEqual(file.options.obsEmbedding, [
    { path: 'obsm/X_umap', embeddingType: 'UMAP', dims: [0, 1] },
  ]);
  assert.deepEqual(file.options.obsSets, [{ name: 'cell_type', path: 'obs/cell_type' }]);
  assert.deepEqual(
    config.layout.map((v) => v.component),
    ['scatterplot', 'obsSets', 'featureList', VIEW_TYPE],
  );
  for (const view of config.layout) {
    for (const [type, scope] of Object.entries(view.coordinationScopes)) {
      assert.ok(scope in config.coordinationSpace[type], `${view.component} ${type}`);
    }
  }
  assert.throws(
    () => vitessceConfig({ url: 'u', name: 'q', columns: [], obsm: [] }),
    /no 2-D obsm embedding/,
  );
});

/** A coordination store like Vitessce's: values set at once, read back. */
function fakeBridge(): CoordinationBridge & { state: Coordination; sets: number } {
  const bridge = {
    state: {
      additionalObsSets: null,
      obsSetSelection: [
        ['cell_type', 'B'],
        ['cell_type', 'T'],
      ],
      obsSetColor: [{ path: ['cell_type', 'B'], color: [1, 2, 3] }],
      obsSetExpansion: null,
      obsColorEncoding: 'cellSetSelection',
    } as Coordination,
    sets: 0,
    get: () => bridge.state,
    set: (values: Partial<Coordination>) => {
      bridge.sets++;
      bridge.state = { ...bridge.state, ...values };
    },
  };
  return bridge;
}

async function fakeHost() {
  const bridge = fakeBridge();
  const statuses: string[] = [];
  const columns: Record<string, ObsColumn> = {
    cell_type: {
      kind: 'categorical',
      codes: Int32Array.from([0, 0, 1, 1, 1, -1]),
      categories: ['B', 'T', 'unused'],
      ordered: false,
    },
    n_genes: { kind: 'numeric', dtype: 'int32', values: Float64Array.from([1, 2, 3, 4, 5, 6]) },
  };
  const host = await VitessceHost.create({
    bridge,
    reader: {
      obsNames: async () => [...NAMES],
      obsColumn: async (name) => {
        if (!columns[name]) throw new Error(`no column ${name}`);
        return columns[name];
      },
    },
    ...QUERY,
    status: (m) => statuses.push(m),
  });
  const events: ViewerEvent[] = [];
  host.on((e) => events.push(e));
  return { host, bridge, statuses, events };
}

test('VitessceHost: Annotate publishes the prediction and confidence trees and colours by them', async () => {
  const { host, bridge, events } = await fakeHost();
  assert.equal(host.currentColorBy(), 'cell_type');
  assert.deepEqual(host.selection(), [], 'a whole colouring tree is no selection');

  // what the panel does with a result
  host.addObsColumn('scNym', {
    kind: 'categorical',
    values: ['B', 'B', 'T', 'T', 'NK', 'T'],
    categories: ['B', 'NK', 'T'],
    colors: ['#111111', '#222222', '#333333'],
  });
  host.addObsColumn('scNym_confidence', {
    kind: 'numeric',
    values: Float32Array.from([0.95, 0.6, 0.3, 0.8, 0.99, 0.92]),
    range: [0, 1],
  });
  await host.colorBy('scNym');
  const sets = bridge.state.additionalObsSets!;
  assert.deepEqual(
    sets.tree.map((n) => n.name),
    [PREDICTIONS_NODE, CONFIDENCE_NODE],
  );
  assert.deepEqual(bridge.state.obsSetSelection, [
    [PREDICTIONS_NODE, 'B'],
    [PREDICTIONS_NODE, 'NK'],
    [PREDICTIONS_NODE, 'T'],
  ]);
  assert.equal(bridge.state.obsColorEncoding, 'cellSetSelection');
  assert.deepEqual(
    bridge.state.obsSetColor!.find((c) => c.path[1] === 'NK')!.color,
    [0x22, 0x22, 0x22],
  );
  assert.deepEqual(bridge.state.obsSetColor![0], { path: ['cell_type', 'B'], color: [1, 2, 3] });
  assert.deepEqual(bridge.state.obsSetExpansion, [[PREDICTIONS_NODE], [CONFIDENCE_NODE]]);
  assert.equal(host.currentColorBy(), 'scNym');
  assert.ok(events.some((e) => e.type === 'columns' && e.columns.includes('scNym_confidence')));

  // the added columns read back like the file's
  const added = await host.data().obsColumn('scNym');
  assert.equal(added.kind, 'categorical');
  if (added.kind === 'categorical') {
    assert.deepEqual(added.categories, ['B', 'NK', 'T']);
    assert.deepEqual([...added.codes], [0, 0, 2, 2, 1, 2]);
  }
  assert.deepEqual(
    host
      .data()
      .columns()
      .map((c) => c.name),
    ['cell_type', 'n_genes', 'barcode', 'scNym', 'scNym_confidence'],
  );
  assert.deepEqual(await host.data().obsNames(), NAMES);
  assert.deepEqual(host.data().embeddings(), ['X_pca', 'X_umap']);

  // colour by confidence: the bins are selected
  await host.colorBy('scNym_confidence');
  assert.deepEqual(
    bridge.state.obsSetSelection!.map((p) => p.join('/')),
    [
      'scNym confidence/< 0.5',
      'scNym confidence/0.5–0.7',
      'scNym confidence/0.7–0.9',
      'scNym confidence/≥ 0.9',
    ],
  );
  assert.equal(host.currentColorBy(), 'scNym_confidence');
  assert.deepEqual(host.selection(), []);

  // back to a file column: its sets, with the panel's palette where Vitessce gave none
  await host.colorBy('cell_type');
  assert.deepEqual(bridge.state.obsSetSelection, [
    ['cell_type', 'B'],
    ['cell_type', 'T'],
  ]);
  assert.deepEqual(
    bridge.state.obsSetColor!.filter((c) => c.path[0] === 'cell_type').map((c) => c.color),
    [[1, 2, 3], hexToRgb('#ff7f0e'), hexToRgb('#279e68')],
  );
  // a numeric file column is read and binned
  await host.colorBy('n_genes');
  assert.equal(bridge.state.additionalObsSets!.tree.at(-1)!.name, 'n_genes');
  await assert.rejects(host.colorBy('barcode'), /cannot be used for colouring/);
});

test('VitessceHost: a label has one colour in the file’s trees and the predictions tree', async () => {
  // as the page does: the file's sets read once, their colours by name into the config
  const reader = {
    obsNames: async () => [...NAMES],
    obsColumn: async (): Promise<ObsColumn> => ({
      kind: 'categorical',
      codes: Int32Array.from([0, 0, 1, 1, 2, 2]),
      categories: ['B', 'CD4T', 'NK'],
      ordered: false,
    }),
  };
  const fileSets = await readFileSets(reader, ['cell_type']);
  const labelColors = new Map<string, string>();
  const config = vitessceConfig({
    url: 'http://127.0.0.1:1/data/query/',
    name: 'q.zarr',
    columns: SUMMARY.columns,
    obsm: SUMMARY.obsm,
    setColors: fileSetColors(fileSets, labelColors),
  }) as { coordinationSpace: { obsSetColor: { A: Coordination['obsSetColor'] } } };
  const bridge = fakeBridge();
  bridge.state.obsSetColor = config.coordinationSpace.obsSetColor.A;
  const host = await VitessceHost.create({
    bridge,
    reader,
    ...QUERY,
    fileSets,
    labelColors,
    status: () => undefined,
  });
  // the model's classes in another order, one the file lacks, Unknown
  host.addObsColumn('scNym', {
    kind: 'categorical',
    codes: Int32Array.from([1, 1, 3, 3, 0, 2]),
    categories: ['NK', 'B', 'Unknown', 'CD4T', 'Mono'],
  });
  const color = (tree: string, name: string) =>
    bridge.state.obsSetColor!.find((c) => c.path[0] === tree && c.path[1] === name)?.color;
  for (const name of ['B', 'CD4T', 'NK']) {
    assert.ok(color('cell_type', name), name);
    assert.deepEqual(color(PREDICTIONS_NODE, name), color('cell_type', name), name);
  }
  assert.deepEqual(color(PREDICTIONS_NODE, 'Unknown'), hexToRgb(UNKNOWN_COLOR));
  assert.notDeepEqual(color(PREDICTIONS_NODE, 'NK'), color(PREDICTIONS_NODE, 'B'));
});

test('VitessceHost: selections come from the selected sets; setSelection publishes one', async () => {
  const { host, bridge, events } = await fakeHost();
  host.addObsColumn('scNym', { kind: 'categorical', values: ['B', 'B', 'T', 'T', 'NK', 'T'] });
  await host.colorBy('scNym');
  const seen: number[][] = [];
  host.onSelect((cells) => seen.push(cells));

  // a set checked in Vitessce's cell-set manager (or a lasso: "My Selections")
  bridge.state = { ...bridge.state, obsSetSelection: [[PREDICTIONS_NODE, 'T']] };
  host.coordinationChanged();
  assert.deepEqual(host.selection(), [2, 3, 5]);
  bridge.state = {
    ...bridge.state,
    additionalObsSets: withNode(bridge.state.additionalObsSets, {
      name: 'My Selections',
      children: [
        {
          name: 'Selection 1',
          set: [
            ['c4', null],
            ['c0', null],
          ],
        },
      ],
    }),
    obsSetSelection: [
      ['My Selections', 'Selection 1'],
      ['cell_type', 'T'],
    ],
  };
  host.coordinationChanged();
  assert.deepEqual(host.selection(), [0, 2, 3, 4]);
  host.coordinationChanged(); // unchanged: no second event
  assert.deepEqual(seen, [
    [2, 3, 5],
    [0, 2, 3, 4],
  ]);

  // the panel's "highlight low-confidence cells"
  host.setSelection([1, 5]);
  assert.deepEqual(bridge.state.obsSetSelection, [[SELECTION_NODE, '2 cells']]);
  assert.deepEqual(host.selection(), [1, 5]);
  assert.deepEqual(seen.at(-1), [1, 5]);
  // cleared: back to the colouring
  host.setSelection([]);
  assert.equal(findNode(bridge.state.additionalObsSets, [SELECTION_NODE]), undefined);
  assert.equal(bridge.state.obsSetSelection!.length, 3);
  assert.deepEqual(host.selection(), []);
  assert.deepEqual(seen.at(-1), []);

  // relabelling while shown keeps the prediction tree shown, with the new sets
  host.addObsColumn('scNym', {
    kind: 'categorical',
    values: ['B', 'B', 'T', 'T', 'NK (checked)', 'T'],
  });
  assert.deepEqual(
    bridge.state.obsSetSelection!.map((p) => p[1]),
    ['B', 'T', 'NK (checked)'],
  );
  // the user picking another whole tree in Vitessce is a colour change
  bridge.state = {
    ...bridge.state,
    obsSetSelection: [
      ['cell_type', 'B'],
      ['cell_type', 'T'],
    ],
  };
  host.coordinationChanged();
  assert.equal(host.currentColorBy(), 'cell_type');
  assert.ok(events.some((e) => e.type === 'colorBy' && e.column === 'cell_type'));
});

test('VitessceHost: obs names must match the dataset, and panels need an element', async () => {
  const bridge = fakeBridge();
  const options = {
    bridge,
    reader: {
      obsNames: async () => ['a'],
      obsColumn: async (): Promise<ObsColumn> => ({ kind: 'string', values: [] }),
    },
    dataset: { url: 'u', format: 'zarr' as const, name: 'q' },
    config: {
      query: { name: 'q', url: '/data/query/', format: 'zarr' as const, writable: false },
      reference: null,
      model: null,
      labelKey: null,
      epochs: null,
    },
    summary: SUMMARY,
    setColumns: [],
    status: () => undefined,
  };
  await assert.rejects(VitessceHost.create(options), /1 obs names for 6 cells/);
  const host = await VitessceHost.create({
    ...options,
    reader: { ...options.reader, obsNames: async () => NAMES },
  });
  assert.equal(host.currentColorBy(), null);
  assert.throws(
    () => host.registerPanel({ id: 'p', title: 'P', mount: () => undefined }),
    /no element for panels/,
  );
});

test("VitessceHost: colour by gene hands the gene to Vitessce's own gene colouring", async () => {
  const { host, bridge } = await fakeHost();
  host.addObsColumn('scNym', { kind: 'categorical', values: ['B', 'B', 'T', 'T', 'NK', 'T'] });
  await host.colorBy('scNym');
  bridge.state = { ...bridge.state, obsSetSelection: [[PREDICTIONS_NODE, 'T']] };
  host.coordinationChanged();
  await host.colorByGene('CD14');
  assert.deepEqual(bridge.state.featureSelection, ['CD14']);
  assert.equal(bridge.state.obsColorEncoding, 'geneSelection');
  // The selection stays what the sets say.
  assert.deepEqual(host.selection(), [2, 3, 5]);
});
