/**
 * The jobs the worker runs, each one call of core's workflow over files (annotateFiles,
 * trainFiles, predictFiles, explainFile from @scnym/core/node; evaluate from @scnym/core), the
 * same the `scnym` CLI runs, turned into what the extension shows. The job's context is the
 * workflow's control: its signal cancels, its one listener relays the events to the host.
 */
import { basename } from 'node:path';
import {
  evaluate,
  readLabels,
  ScnymError,
  type AnnData,
  type Prediction,
  type TrainRequest,
  type TrainResult,
  type WorkflowControl,
} from '@scnym/core';
import {
  annotateFiles,
  explainFile,
  loadModelDir,
  openAnnDataFile,
  predictFiles,
  saveLabelsFile,
  trainFiles,
} from '@scnym/core/node';
import { annotationKeys, categoryColors } from '@scnym/core/vocabulary';
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

export interface JobContext extends WorkflowControl {
  signal: AbortSignal;
  /** The TensorFlow.js backend the worker runs on ('none' for jobs without a model). */
  backend: string;
}

type Job<T extends JobRequest['type']> = Extract<JobRequest, { type: T }>;

export async function runJob(job: JobRequest, ctx: JobContext): Promise<JobResult> {
  switch (job.type) {
    case 'columns':
      return columns(job.path);
    case 'annotate':
      return annotate(job, ctx);
    case 'train':
      return train(job, ctx);
    case 'predict':
      return predict(job, ctx);
    case 'saliency':
      return saliency(job, ctx);
    case 'evaluate':
      return { type: 'evaluate', results: await resultsOf(job.dataset, job.keyAdded, ctx, job) };
    case 'results':
      return { type: 'results', results: await resultsOf(job.dataset, job.keyAdded, ctx) };
    case 'saveLabels': {
      const { path, keyAdded, codes, categories } = job;
      return {
        type: 'saveLabels',
        written: await saveLabelsFile(path, { keyAdded, codes, categories }, ctx),
      };
    }
  }
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

async function annotate(job: Job<'annotate'>, ctx: JobContext): Promise<JobResult> {
  const result = await annotateFiles(
    {
      reference: job.reference,
      query: job.query,
      modelOut: job.modelOut,
      overwrite: job.overwrite,
    },
    { ...trainRequest(job.labelKey, job.domainKey, job.settings), keyAdded: job.keyAdded },
    ctx,
  );
  try {
    const results = await resultsFromPrediction(job.query, job.keyAdded, result.prediction);
    results.training = trainingInfo(result, ctx.backend);
    return { type: 'annotate', written: result.written, modelDir: job.modelOut, results };
  } finally {
    result.model.network.dispose();
  }
}

async function train(job: Job<'train'>, ctx: JobContext): Promise<JobResult> {
  const result = await trainFiles(
    {
      reference: job.reference,
      query: job.query,
      modelOut: job.modelOut,
      overwrite: job.overwrite,
    },
    trainRequest(job.labelKey, job.domainKey, job.settings),
    ctx,
  );
  const training = trainingInfo(result, ctx.backend);
  result.model.network.dispose();
  return { type: 'train', modelDir: job.modelOut, training };
}

async function predict(job: Job<'predict'>, ctx: JobContext): Promise<JobResult> {
  const output = await predictFiles(
    { model: job.model, query: job.query, overwrite: job.overwrite },
    { keyAdded: job.keyAdded, geneKey: job.geneKey },
    ctx,
  );
  return {
    type: 'predict',
    written: output.written,
    results: await resultsFromPrediction(job.query, job.keyAdded, output.prediction),
  };
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

/** The predictions already in a file (and, with truthKey, core's evaluation of them). */
async function resultsOf(
  path: string,
  keyAdded: string,
  ctx: JobContext,
  scored?: { truthKey: string },
): Promise<ResultsModel> {
  const keys = annotationKeys(keyAdded);
  const ad = await openAnnDataFile(path);
  try {
    // Core's evaluation checks the columns and explains what is missing; run it first.
    const evaluation = scored
      ? await evaluate(ad, { truthKey: scored.truthKey, predKey: keyAdded }, ctx)
      : undefined;
    const predicted = await labelsOf(ad, keys.label);
    const conf = await ad.obsColumn(keys.confidence);
    if (conf.kind !== 'numeric') {
      throw new ScnymError(`is ${conf.kind}, not numeric`, {
        file: path,
        element: `obs/${keys.confidence}`,
        hint: 'predict the file again with scNym (Predict with Model…)',
        code: 'bad-input',
      });
    }
    return summarizeResults({
      dataset: basename(path),
      path,
      keyAdded,
      cellNames: await ad.obsNames(),
      labels: predicted.map((l) => l ?? ''),
      confidence: Float32Array.from(conf.values, (v) => (Number.isFinite(v) ? v : 0)),
      probabilities: await storedProbabilities(ad, keys.probabilities, keys.classes),
      colors: await storedColors(ad, keys.label, keys.colors),
      evaluation,
      truthKey: scored?.truthKey,
    });
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

async function saliency(job: Job<'saliency'>, ctx: JobContext): Promise<JobResult> {
  const started = performance.now();
  const model = await loadModelDir(job.model);
  try {
    const { classes, groupby } = await classesToExplain(job, model.classNames);
    const results = await explainFile(
      { model: { ...model, source: job.model }, data: job.dataset },
      {
        classes,
        method: job.method,
        top: job.top,
        maxCells: job.maxCells,
        groupby,
        geneKey: job.geneKey,
        // Fewer draws / steps than the CLI's defaults: an interactive view, not a final figure.
        samples: 50,
        steps: 50,
      },
      ctx,
    );
    const palette = categoryColors(model.classNames);
    const explained: SaliencyClass[] = results
      .filter((r) => r.cells.nExplained > 0)
      .map((r) => ({
        name: r.className,
        color: palette[model.classNames.indexOf(r.className)] ?? '#888888',
        nCells: r.cells.nMatching,
        nExplained: r.cells.nExplained,
        genes: r.top.map((g) => g.gene),
        scores: r.top.map((g) => g.score),
      }));
    return {
      type: 'saliency',
      saliency: {
        dataset: basename(job.dataset),
        path: job.dataset,
        model: job.model,
        method: job.method,
        classes: explained,
        seconds: (performance.now() - started) / 1000,
      },
    };
  } finally {
    model.network.dispose();
  }
}

/**
 * Which cells stand for each class: those labelled so in the file when it holds the column
 * (the written predictions, no re-prediction; only the classes it has), else those the model
 * predicts as the class.
 */
async function classesToExplain(
  job: Job<'saliency'>,
  modelClasses: readonly string[],
): Promise<{ classes: readonly string[]; groupby?: string }> {
  const wanted = job.classes ?? modelClasses;
  if (!job.groupby) return { classes: wanted };
  const data = await openAnnDataFile(job.dataset);
  try {
    if (!(await data.obsColumnNames()).includes(job.groupby)) return { classes: wanted };
    const groups = new Set((await readLabels(data, job.groupby)).names);
    return { classes: wanted.filter((c) => groups.has(c)), groupby: job.groupby };
  } finally {
    await data.close();
  }
}
