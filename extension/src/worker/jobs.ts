/**
 * The jobs the worker runs, each a composition of the functions the `scnym` CLI uses
 * (trainFiles, predictFile, writePredictions, saveModelDir, saliencyAnnData, evaluateAnnData):
 * one implementation of each step, whatever the front end.
 */
import { basename } from 'node:path';
import type { AnnData } from '../../../core/src/anndata/types.js';
import { ScnymError } from '../../../core/src/errors.js';
import { readLabels } from '../../../core/src/prepare.js';
import type { TrainRequest } from '../../../core/src/annotate.js';
import { annotationKeys } from '../../../core/src/vocabulary.js';
import { modelToFiles } from '../../../core/src/model/files.js';
import { loadModelDir, saveModelDir } from '../../../core/src/node/model-dir.js';
import { openAnnDataFile } from '../../../core/src/node/open.js';
import { saliencyAnnData } from '../../../core/src/interpret/saliency.js';
import { evaluateAnnData } from '../../../core/src/evaluate.js';
import { checkWriteTargets, predictFile, writePredictions } from '../../../core/src/cli/outputs.js';
import { trainFiles } from '../../../core/src/cli/train.js';
import type { Session } from '../../../core/src/cli/session.js';
import type { TrainResult } from '../../../core/src/annotate.js';
import type { Prediction } from '../../../core/src/predict.js';
import { categoryColors } from '../../../core/src/colors.js';
import type {
  ColumnChoice,
  JobRequest,
  JobResult,
  ResultsModel,
  SaliencyClass,
  TrainSettings,
  TrainingInfo,
} from '../messages.js';
import { summarizeResults } from '../results.js';

export interface JobContext {
  signal: AbortSignal;
  backend: string;
  progress: (stage: string, done: number, total: number, detail?: string) => void;
  warn: (message: string) => void;
}

export async function runJob(job: JobRequest, ctx: JobContext): Promise<JobResult> {
  switch (job.type) {
    case 'columns':
      return columns(job.path);
    case 'annotate':
      return annotate(job, ctx);
    case 'train':
      return train(job, ctx);
    case 'predict':
      return predictJob(job, ctx);
    case 'saliency':
      return saliency(job, ctx);
    case 'evaluate':
      return {
        type: 'evaluate',
        results: await resultsOf(job.dataset, job.keyAdded, job.truthKey),
      };
    case 'results':
      return { type: 'results', results: await resultsOf(job.dataset, job.keyAdded) };
  }
}

/** The CLI's Session, reporting to the extension host instead of stderr. */
function session(ctx: JobContext): Session {
  return {
    signal: ctx.signal,
    backend: ctx.backend,
    warn: ctx.warn,
    note: ctx.warn, // shown in the output channel like warnings
    progress: { update: ctx.progress, done: () => undefined },
    close: () => undefined,
  };
}

function trainRequest(labelKey: string, domainKey: string | undefined, s: TrainSettings) {
  const request: TrainRequest = {
    labelKey,
    domainKey,
    preset: s.preset,
    config: s.config,
    overrides: { seed: s.seed, ...(s.epochs ? { nEpochs: s.epochs } : {}) },
    geneKey: s.geneKey,
  };
  return request;
}

async function columns(path: string): Promise<JobResult> {
  const ad = await openAnnDataFile(path);
  try {
    const names = await ad.obsColumnNames();
    const infos = await Promise.all(names.map((n) => ad.obsColumnInfo(n)));
    const choices: ColumnChoice[] = infos.map((c) => ({
      name: c.name,
      kind:
        c.kind === 'categorical' || c.kind === 'numeric' || c.kind === 'bool' || c.kind === 'string'
          ? c.kind
          : 'other',
      nCategories: c.nCategories,
    }));
    return { type: 'columns', nObs: ad.nObs, columns: choices };
  } finally {
    await ad.close();
  }
}

function trainingInfo(result: TrainResult, backend: string): TrainingInfo {
  const s = result.model.summary;
  return {
    backend,
    seconds: s.seconds,
    epochs: s.epochsRun,
    valAccuracy: s.heldOutAccuracy,
    classNames: result.model.classNames,
    nReference: (result.card.provenance.reference as { nCells?: number } | undefined)?.nCells ?? 0,
    nGenes: result.model.genes.length,
  };
}

async function annotate(
  job: Extract<JobRequest, { type: 'annotate' }>,
  ctx: JobContext,
): Promise<JobResult> {
  const s = session(ctx);
  const request = trainRequest(job.labelKey, job.domainKey, job.settings);
  const inputs = [job.reference, job.query];
  // Refused outputs are reported before training, not after it.
  await checkWriteTargets({ query: job.query, modelOut: job.modelOut, overwrite: true, inputs });
  const result = await trainFiles(job.reference, job.query, request, s);
  try {
    const threshold = job.settings.config === 'new_identity_discovery' ? 0.5 : undefined;
    const prediction = await predictFile(
      { ...result.model, card: result.card },
      job.query,
      // The query's genes as training matched them.
      {
        matrix: request.matrix,
        geneKey: result.geneKeys.query ?? undefined,
        unknownThreshold: threshold,
      },
      s,
    );
    // Nothing is written once the user has cancelled.
    ctx.signal.throwIfAborted();
    ctx.progress('saving', 0, 1);
    await saveModelDir(job.modelOut, await modelToFiles(result.model.network, result.card), {
      overwrite: true,
      inputs,
      signal: ctx.signal,
      onNotice: ctx.warn,
    });
    const written = await writePredictions(
      prediction,
      result.card,
      { query: job.query, keyAdded: job.keyAdded, overwrite: job.overwrite, inputs },
      s,
    );
    ctx.progress('saving', 1, 1);
    const results = await resultsFromPrediction(job.query, job.keyAdded, prediction);
    results.training = trainingInfo(result, ctx.backend);
    return { type: 'annotate', written, modelDir: job.modelOut, results };
  } finally {
    result.model.network.dispose();
  }
}

async function train(
  job: Extract<JobRequest, { type: 'train' }>,
  ctx: JobContext,
): Promise<JobResult> {
  const request = trainRequest(job.labelKey, job.domainKey, job.settings);
  const inputs = [job.reference, ...(job.query ? [job.query] : [])];
  await checkWriteTargets({ modelOut: job.modelOut, overwrite: job.overwrite, inputs });
  const result = await trainFiles(job.reference, job.query, request, session(ctx));
  try {
    ctx.signal.throwIfAborted();
    await saveModelDir(job.modelOut, await modelToFiles(result.model.network, result.card), {
      overwrite: job.overwrite,
      inputs,
      signal: ctx.signal,
      onNotice: ctx.warn,
    });
    return { type: 'train', modelDir: job.modelOut, training: trainingInfo(result, ctx.backend) };
  } finally {
    result.model.network.dispose();
  }
}

async function predictJob(
  job: Extract<JobRequest, { type: 'predict' }>,
  ctx: JobContext,
): Promise<JobResult> {
  await checkWriteTargets({ query: job.query, inputs: [job.model] });
  const model = await loadModelDir(job.model);
  try {
    const threshold = model.card.training.config === 'new_identity_discovery' ? 0.5 : undefined;
    const prediction = await predictFile(
      { ...model, source: job.model },
      job.query,
      { unknownThreshold: threshold, geneKey: job.geneKey },
      session(ctx),
    );
    ctx.signal.throwIfAborted();
    const written = await writePredictions(
      prediction,
      model.card,
      { query: job.query, keyAdded: job.keyAdded, overwrite: job.overwrite, inputs: [job.model] },
      session(ctx),
    );
    return {
      type: 'predict',
      written,
      results: await resultsFromPrediction(job.query, job.keyAdded, prediction),
    };
  } finally {
    model.network.dispose();
  }
}

async function resultsFromPrediction(
  path: string,
  keyAdded: string,
  p: Prediction,
): Promise<ResultsModel> {
  const ad = await openAnnDataFile(path);
  let cellNames: string[];
  try {
    cellNames = await ad.obsNames();
  } finally {
    await ad.close();
  }
  return summarizeResults({
    dataset: basename(path),
    path,
    keyAdded,
    cellNames,
    labels: p.labels,
    confidence: p.confidence,
    classNames: p.classNames,
    probabilities: {
      data: p.probabilities,
      nClasses: p.classNames.length,
      classNames: p.classNames,
    },
  });
}

/** The predictions already in a file (and, with truthKey, scored against that column). */
async function resultsOf(path: string, keyAdded: string, truthKey?: string): Promise<ResultsModel> {
  const keys = annotationKeys(keyAdded);
  const ad = await openAnnDataFile(path);
  try {
    // evaluateAnnData checks the columns and explains what is missing; run it first.
    const report = truthKey ? await evaluateAnnData(ad, { truthKey, predKey: keyAdded }) : null;
    const predicted = await labelsOf(ad, keys.label);
    const conf = await ad.obsColumn(keys.confidence);
    if (conf.kind !== 'numeric') {
      throw new Error(`${path}: obs/${keys.confidence} is ${conf.kind}, not numeric`);
    }
    const cellNames = await ad.obsNames();
    const probabilities = await storedProbabilities(ad, keys.probabilities, keys.classes);
    const colors = await storedColors(ad, keys.label, keys.colors);
    const truth = truthKey ? await labelsOf(ad, truthKey) : undefined;
    const results = summarizeResults({
      dataset: basename(path),
      path,
      keyAdded,
      cellNames,
      labels: predicted.map((l) => l ?? ''),
      confidence: Float32Array.from(conf.values, (v) => (Number.isFinite(v) ? v : 0)),
      probabilities,
      colors,
      truth,
      truthKey,
    });
    if (report && results.evaluation) results.evaluation.ece = report.calibration.ece;
    return results;
  } finally {
    await ad.close();
  }
}

async function labelsOf(ad: AnnData, key: string): Promise<(string | null)[]> {
  const labels = await readLabels(ad, key);
  return Array.from(labels.codes, (c) => (c < 0 ? null : labels.names[c]));
}

async function storedProbabilities(ad: AnnData, key: string, classesKey: string) {
  const [obsm, uns] = await Promise.all([ad.obsmKeys(), ad.unsKeys()]);
  if (!obsm.includes(key) || !uns.includes(classesKey)) return undefined;
  const classNames = await ad.uns(classesKey);
  if (!Array.isArray(classNames)) return undefined;
  const m = await ad.obsm(key);
  if (m.shape[1] !== classNames.length) return undefined;
  return {
    data: Float32Array.from(m.data),
    nClasses: m.shape[1],
    classNames: classNames.map(String),
  };
}

/** The dataset's own colours for the label column (uns `<key>_colors`), else core's palette. */
async function storedColors(ad: AnnData, labelKey: string, colorsKey: string) {
  const col = await ad.obsColumn(labelKey);
  if (col.kind !== 'categorical') return undefined;
  const uns = await ad.unsKeys();
  const stored = uns.includes(colorsKey) ? await ad.uns(colorsKey) : null;
  const colors =
    Array.isArray(stored) && stored.length === col.categories.length
      ? stored.map(String)
      : categoryColors(col.categories);
  return Object.fromEntries(col.categories.map((c, i) => [c, colors[i]]));
}

async function saliency(
  job: Extract<JobRequest, { type: 'saliency' }>,
  ctx: JobContext,
): Promise<JobResult> {
  const started = performance.now();
  const model = await loadModelDir(job.model);
  const data = await openAnnDataFile(job.dataset);
  try {
    const groupby =
      job.groupby && (await data.obsColumnNames()).includes(job.groupby) ? job.groupby : undefined;
    const groups = new Set(groupby ? (await readLabels(data, groupby)).names : []);
    const names = (job.classes ?? model.classNames).filter((c) => !groupby || groups.has(c));
    const palette = categoryColors(model.classNames);
    const classes: SaliencyClass[] = [];
    for (const [i, className] of names.entries()) {
      ctx.signal.throwIfAborted();
      ctx.progress('saliency', i, names.length, className);
      const r = await saliencyAnnData(
        { ...model, source: job.model },
        data,
        {
          className,
          method: job.method,
          top: job.top,
          maxCells: job.maxCells,
          // The cells labelled so in the file, when it holds the predictions: no re-prediction.
          groupby: groupby && groups.has(className) ? groupby : undefined,
          geneKey: job.geneKey,
          // Fewer draws / steps than the CLI's defaults: an interactive view, not a final figure.
          samples: 50,
          steps: 50,
        },
        { signal: ctx.signal, onWarning: ctx.warn },
      ).catch((err: unknown) => {
        // A class nothing is predicted as has no cells to explain; leave it out.
        if (err instanceof ScnymError && /no cell/.test(err.message)) return null;
        throw err;
      });
      if (!r || r.cells.nExplained === 0) continue;
      classes.push({
        name: className,
        color: palette[model.classNames.indexOf(className)] ?? '#888888',
        nCells: r.cells.nMatching,
        nExplained: r.cells.nExplained,
        genes: r.top.map((g) => g.gene),
        scores: r.top.map((g) => g.score),
      });
    }
    ctx.progress('saliency', names.length, names.length);
    return {
      type: 'saliency',
      saliency: {
        dataset: basename(job.dataset),
        path: job.dataset,
        model: job.model,
        method: job.method,
        classes,
        seconds: (performance.now() - started) / 1000,
      },
    };
  } finally {
    await data.close();
    model.network.dispose();
  }
}
