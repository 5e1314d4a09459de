/**
 * What a save leaves for the next session of the viewer: the model beside the dataset
 * (`<dataset>.scnym-model`, core's model folder; the rule is MODEL_BESIDE_SUFFIX's in core's
 * vocabulary) recorded in uns `scNym_model`, and, read back on load, what the query holds of an
 * earlier save (train results, markers, the model if it is still the one recorded).
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, lstat, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { cardBytes, SCNYM_JSON, type AnnData, type Annotations } from '@scnym/core';
import { ScnymError } from '@scnym/core/errors';
import {
  modelDigest,
  modelDirDigest,
  readModelDirFiles,
  saveModelDir,
  tidyModelDir,
  writeAnnotationsToFile,
} from '@scnym/core/node';
import {
  annotationKeys,
  DEFAULT_KEY_ADDED,
  modelBesideName,
  type ModelRecord,
} from '@scnym/core/vocabulary';
import type { SavedState } from '../shared/save-format.js';

const KEYS = annotationKeys(DEFAULT_KEY_ADDED);

/** The model folder beside the query (which may not exist). */
export function modelBesidePath(queryPath: string): string {
  return join(dirname(queryPath), modelBesideName(basename(queryPath)));
}

/**
 * A save writes the model folder, then the predictions with its record; a kill between the two
 * leaves a folder the dataset does not record. So the folder's card carries, in
 * provenance.savedBeside, a digest of the dataset's real path and of the model's files without
 * that stamp: a folder whose stamp matches is one a Save made beside this very dataset, unchanged
 * since, and the next Save may replace it. A copy beside another dataset, or an edited folder,
 * does not match.
 */
const STAMP = 'savedBeside';

function cardOf(files: ReadonlyMap<string, Uint8Array>): Record<string, unknown> | null {
  try {
    const card: unknown = JSON.parse(new TextDecoder().decode(files.get(SCNYM_JSON)));
    return isRecord(card) ? card : null;
  } catch {
    return null;
  }
}

/** The stamp for these files (their card without a stamp) beside this dataset. */
async function stampOf(
  queryPath: string,
  files: ReadonlyMap<string, Uint8Array>,
  card: Record<string, unknown>,
): Promise<string> {
  const provenance = isRecord(card.provenance) ? { ...card.provenance } : {};
  delete provenance[STAMP];
  const unstamped = new Map(files).set(SCNYM_JSON, cardBytes({ ...card, provenance }));
  const hash = createHash('sha256');
  hash.update(`${await realpath(queryPath)}\0${modelDigest(unstamped)}`);
  return `sha256:${hash.digest('hex')}`;
}

/** The files with their card stamped as saved beside this dataset. */
async function stamped(
  queryPath: string,
  files: Map<string, Uint8Array>,
): Promise<Map<string, Uint8Array>> {
  const card = cardOf(files);
  if (!card) return files; // decodeSaveModel already refused a card that is not JSON
  const stamp = await stampOf(queryPath, files, card);
  const provenance = isRecord(card.provenance) ? card.provenance : {};
  return new Map(files).set(
    SCNYM_JSON,
    cardBytes({ ...card, provenance: { ...provenance, [STAMP]: stamp } }),
  );
}

/**
 * Whether the folder holding `files` is ours to replace: the one the dataset records (its
 * digest), or one a Save made beside this dataset and left unchanged (see STAMP).
 */
async function isOurs(
  files: ReadonlyMap<string, Uint8Array>,
  recorded: ModelRecord | null,
  name: string,
  queryPath: string,
): Promise<boolean> {
  if (
    recorded?.where === 'beside' &&
    recorded.path === name &&
    modelDigest(files) === recorded.digest
  )
    return true;
  const card = cardOf(files);
  if (!card || !isRecord(card.provenance)) return false;
  const stamp = card.provenance[STAMP];
  return typeof stamp === 'string' && stamp === (await stampOf(queryPath, files, card));
}

/**
 * Writes the model beside the query when the query's folder lets us and the path is free or the
 * model folder an earlier save made: recorded in the query's uns with its digest, or stamped by
 * a Save beside this dataset whose record a kill kept out (see STAMP), unchanged since.
 * Otherwise leaves whatever is there untouched and says why: a model folder that is not ours
 * (the user's own `scnym train --model-out`, or ours edited since) is not ours to replace. Never
 * throws for a model that cannot be written: the predictions are saved either way.
 */
export async function saveModelBeside(
  queryPath: string,
  files: Map<string, Uint8Array>,
  recorded: ModelRecord | null,
): Promise<ModelRecord> {
  const target = modelBesidePath(queryPath);
  const name = basename(target);
  const none = (reason: string): ModelRecord => ({ path: '', digest: '', where: 'none', reason });
  const existing = await lstat(target).catch(() => undefined);
  if (existing?.isDirectory()) {
    // One read of the folder's files for both checks.
    const found = await readModelDirFiles(target).catch(() => null);
    if (!found || !(await isOurs(found, recorded, name, queryPath))) {
      return none(
        `the model was not saved: ${name} is not the model folder an earlier Save made here ` +
          '(none is recorded in the dataset, or its files changed since); scNym leaves it ' +
          'untouched (move or rename it to save the model there)',
      );
    }
  }
  // A folder without write permission was protected on purpose, even from root (as targets.ts).
  const folder = await stat(dirname(target));
  const folderWritable =
    (folder.mode & 0o222) !== 0 &&
    (await access(dirname(target), constants.W_OK).then(
      () => true,
      () => false,
    ));
  if (!folderWritable) {
    return none(`the model was not saved: the folder holding ${basename(queryPath)} is read-only`);
  }
  try {
    const digest = await saveModelDir(target, await stamped(queryPath, files), {
      overwrite: true,
      inputs: [queryPath],
    });
    return { path: name, digest, where: 'beside' };
  } catch (err) {
    if (!(err instanceof ScnymError)) throw err;
    // The problem without the folder's path (the page sees this) or the CLI's flags.
    const first = err.message.split('\n')[0];
    const prefix = `${err.file ?? ''}: `;
    const problem = (first.startsWith(prefix) ? first.slice(prefix.length) : first).replace(
      /: --overwrite .*$/,
      '',
    );
    return none(
      `the model was not saved: ${name} ${problem}; scNym leaves it untouched ` +
        '(move or rename it to save the model there)',
    );
  }
}

/**
 * A save: the model first (when sent), its record into uns `scNym_model`, then the predictions.
 * Resolves to the model's record, or null when no model was sent.
 */
export async function writeSave(
  queryPath: string,
  annotations: Annotations,
  model: Map<string, Uint8Array> | null,
  recorded: ModelRecord | null,
): Promise<ModelRecord | null> {
  const record = model ? await saveModelBeside(queryPath, model, recorded) : null;
  const withRecord: Annotations = record
    ? { ...annotations, uns: { ...annotations.uns, [KEYS.model]: { ...record } } }
    : annotations;
  await writeAnnotationsToFile(queryPath, withRecord, { overwrite: true });
  return record;
}

/** An uns value when present (null when the key is absent or unreadable). */
async function unsOrNull(ad: AnnData, keys: Set<string>, key: string): Promise<unknown> {
  if (!keys.has(key)) return null;
  return ad.uns(key).catch(() => null);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** uns `<key>_model` as a record, or null when it is absent or not one. */
function modelRecord(model: unknown): ModelRecord | null {
  if (!isRecord(model)) return null;
  return {
    path: String(model.path ?? ''),
    digest: String(model.digest ?? ''),
    where: model.where === 'beside' || model.where === 'given' ? model.where : 'none',
    ...(typeof model.reason === 'string' ? { reason: model.reason } : {}),
  };
}

/** The model an earlier save recorded in the query (uns `scNym_model`), or null. */
export async function recordedModel(ad: AnnData): Promise<ModelRecord | null> {
  return modelRecord(await unsOrNull(ad, new Set(await ad.unsKeys()), KEYS.model));
}

/**
 * What an earlier save left in the query: its train results and markers as written, and the
 * model it recorded, available only when it is our folder beside the query, a real folder (no
 * link) whose files still have the recorded digest.
 */
export async function savedState(ad: AnnData, queryPath: string): Promise<SavedState> {
  const keys = new Set(await ad.unsKeys());
  const trainResults = await unsOrNull(ad, keys, KEYS.trainResults);
  const markers = await unsOrNull(ad, keys, KEYS.markers);
  const model = await unsOrNull(ad, keys, KEYS.model);
  const state: SavedState = {
    trainResults: isRecord(trainResults) ? jsonSafe(trainResults) : null,
    markers: isRecord(markers) ? jsonSafe(markers) : null,
    model: null,
  };
  const record = modelRecord(model);
  if (!record) return state;
  state.model = { record, available: false };
  if (record.where !== 'beside') {
    state.model.problem =
      record.where === 'given'
        ? `the predictions were made by the model at ${record.path} (not beside the dataset)`
        : (record.reason ?? 'no model was saved with the predictions');
    return state;
  }
  const dir = modelBesidePath(queryPath);
  await tidyModelDir(dir).catch(() => undefined);
  const info = await lstat(dir).catch(() => undefined);
  if (!info?.isDirectory() || record.path !== basename(dir)) {
    state.model.problem = `the model folder ${record.path} is no longer beside ${basename(queryPath)}`;
    return state;
  }
  const digest = await modelDirDigest(dir).catch(() => '');
  if (digest !== record.digest) {
    state.model.problem = `${record.path} is not the model that was saved (its files differ): not loaded`;
    return state;
  }
  state.model.available = true;
  return state;
}

/** Uns values as JSON (bigints as numbers, typed arrays as lists). */
function jsonSafe(value: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => {
      if (typeof v === 'bigint') return Number(v);
      if (isRecord(v) && v.kind === 'array' && v.data)
        return Array.from(v.data as ArrayLike<number>);
      return v;
    }),
  ) as Record<string, unknown>;
}
