/**
 * A write's elements appear in a Zarr store all together or not at all. They are written into
 * a hidden staging group at the root (`.scnym-stage-ID`, which anndata never reads); then the
 * metadata of the final tree (the obs attributes with the new column order, the consolidated
 * metadata) is written into the stage too, so publishing needs no new space; then a journal
 * listing every rename is written, which commits the write. Publishing is only renames, replayed
 * by `recoverStaged` if the process died half-way; a stage without a journal is discarded.
 */
import { PRIVATE_PREFIX, STAGE_PREFIX, type Attrs, type PublishPlan } from '../hierarchy.js';
import { AnnDataError } from '../../errors.js';
import { encodeJson, type JsonObject } from './json.js';
import { listChildren, MetaIndex, type NodeMeta } from './meta-index.js';
import { consolidatedV2, EMPTY_CONSOLIDATED } from './new-metadata.js';
import { baseName, isWithin, join, parentOf } from './paths.js';
import type { WritableZarrStore, ZarrStore } from './store.js';

/** Per-element temporary names used by earlier versions of the writer (obs/.scnym-tmp-NAME). */
const LEGACY_TMP_PREFIX = `${PRIVATE_PREFIX}tmp-`;
const JOURNAL = 'journal.json';

interface Journal {
  /** Staged elements → their final paths (anything there is moved aside into the stage first). */
  moves: [string, string][];
  /** Staged metadata files → the metadata files they replace. */
  files: [string, string][];
}

export interface StoreAccess {
  store: WritableZarrStore;
  index: MetaIndex;
  source: string;
  zarrFormat: 2 | 3;
}

/** Prepares the final metadata, commits with the journal, then publishes by renames. */
export async function publishStaged(z: StoreAccess, plan: PublishPlan): Promise<void> {
  const { store, zarrFormat } = z;
  if (!store.list) {
    throw new AnnDataError('this store cannot be listed, so it cannot be written safely', {
      file: z.source,
      hint: 'write into a local copy of the store',
    });
  }
  const nodes = await finalTree(z, plan);
  const files: [string, string][] = [];
  const stageFile = async (target: string, doc: unknown) => {
    const key = join(plan.stage, `publish-${files.length}.json`);
    await store.set(key, encodeJson(doc, zarrFormat));
    files.push([key, target]);
  };
  for (const [path] of plan.attrs) {
    const node = nodes.get(path) as NodeMeta;
    if (zarrFormat === 2) await stageFile(join(path, '.zattrs'), node.attrs);
    else if (path !== '' || !z.index.consolidated)
      await stageFile(join(path, 'zarr.json'), node.doc);
  }
  if (z.index.consolidated) {
    if (zarrFormat === 2) await stageFile('.zmetadata', consolidatedV2(nodes));
    else await stageFile('zarr.json', consolidatedRootV3(nodes));
  }
  const journal: Journal = { moves: plan.moves, files };
  await store.set(join(plan.stage, JOURNAL), encodeJson(journal, zarrFormat));
  await applyJournal(store, plan.stage, journal);
  z.index.forget('');
  z.index.put('', await z.index.loadFromStore(''));
}

/**
 * Finishes what a killed writer left: a committed stage (with its journal) is published, an
 * uncommitted one removed, as are the per-element leftovers of earlier versions. The caller
 * holds the store's lock, so no live writer owns what is found. Returns what was done.
 */
export async function recoverStaged(
  store: WritableZarrStore,
): Promise<{ completed: number; discarded: number }> {
  const done = { completed: 0, discarded: 0 };
  if (!store.list) return done;
  for (const name of await store.list('')) {
    if (!name.startsWith(STAGE_PREFIX)) continue;
    const bytes = await store.get(join(name, JOURNAL));
    if (bytes) {
      await applyJournal(store, name, JSON.parse(new TextDecoder().decode(bytes)) as Journal);
      done.completed += 1;
    } else {
      await store.delete(name);
      done.discarded += 1;
    }
  }
  for (const parent of ['obs', 'obsm', 'uns']) {
    for (const name of await store.list(parent)) {
      if (!name.startsWith(LEGACY_TMP_PREFIX)) continue;
      await store.delete(join(parent, name));
      done.discarded += 1;
    }
  }
  return done;
}

/** Every rename of the journal not yet done, then the stage (with what was replaced) removed. */
async function applyJournal(
  store: WritableZarrStore,
  stage: string,
  journal: Journal,
): Promise<void> {
  for (const [i, [from, to]] of journal.moves.entries()) {
    if (!(await present(store, from))) continue; // published before the process died
    if (await present(store, to)) await store.rename(to, join(stage, `replaced-${i}`));
    await store.rename(from, to);
  }
  for (const [from, to] of journal.files) {
    if (await present(store, from)) await store.rename(from, to);
  }
  await store.delete(stage);
}

async function present(store: WritableZarrStore, key: string): Promise<boolean> {
  return ((await store.list?.(parentOf(key))) ?? []).includes(baseName(key));
}

/** The metadata of every node once the plan is published, read afresh from the store. */
async function finalTree(z: StoreAccess, plan: PublishPlan): Promise<Map<string, NodeMeta>> {
  const fresh = new MetaIndex(z.store, z.source, z.zarrFormat);
  const nodes = await walkNodes(z.store, fresh, z.source, '');
  for (const [from, to] of plan.moves) {
    for (const path of [...nodes.keys()]) if (isWithin(path, to)) nodes.delete(path);
    for (const [path, node] of await walkNodes(z.store, fresh, z.source, from)) {
      nodes.set(to + path.slice(from.length), node);
    }
  }
  for (const [path, attrs] of plan.attrs) {
    const node = nodes.get(path);
    if (!node) throw new AnnDataError('no such element', { file: z.source, element: path });
    nodes.set(path, withAttrs(node, attrs, z.zarrFormat));
  }
  return nodes;
}

function withAttrs(node: NodeMeta, attrs: Attrs, zarrFormat: 2 | 3): NodeMeta {
  const doc = zarrFormat === 3 ? { ...node.doc, attributes: attrs } : node.doc;
  return { ...node, attrs: structuredClone(attrs), doc };
}

/**
 * The node at `from` and everything under it, read from the store (parents first). scNym's
 * private names are skipped: they are never part of the data.
 */
export async function walkNodes(
  store: ZarrStore,
  index: MetaIndex,
  source: string,
  from: string,
): Promise<Map<string, NodeMeta>> {
  const top = await index.get(from);
  const nodes = new Map<string, NodeMeta>();
  if (!top) return nodes;
  nodes.set(from, top);
  const queue = top.kind === 'group' ? [from] : [];
  while (queue.length > 0) {
    const group = queue.shift() as string;
    for (const name of (await listChildren(store, index, group, source)).sort()) {
      const path = join(group, name);
      const node = await index.get(path);
      if (!node) continue;
      nodes.set(path, node);
      if (node.kind === 'group') queue.push(path);
    }
  }
  return nodes;
}

/** The root zarr.json of a v3 store with its consolidated metadata rebuilt from `nodes`. */
export function consolidatedRootV3(nodes: Map<string, NodeMeta>): JsonObject {
  const root = nodes.get('') as NodeMeta;
  const metadata: JsonObject = {};
  for (const [path, node] of nodes) {
    if (path === '') continue;
    metadata[path] =
      node.kind === 'group' ? { ...node.doc, consolidated_metadata: EMPTY_CONSOLIDATED } : node.doc;
  }
  return {
    ...root.doc,
    consolidated_metadata: { kind: 'inline', must_understand: false, metadata },
  };
}
