/**
 * The extension host's side of the worker_thread that runs core: one worker per job (training,
 * prediction, saliency…) or per viewer (data reads). Typed messages only (messages.ts).
 */
import { Worker } from 'node:worker_threads';
import { AbortError, ScnymError } from '@scnym/core/errors';
import type { DataRequest, DataResponse } from '@scnym/plugin/data-messages';
import type { FromWorker, GeneRequest, GeneResponse, JobRequest, JobResult } from './messages.js';

export type JobEvent = Extract<FromWorker, { type: 'progress' | 'warning' | 'notice' }>;

type WorkerError = Extract<FromWorker, { type: 'error' }>;

/**
 * A job that failed in the worker, as core threw it: the message (hint included), and the
 * stable code, hint, file and element, so `isScnymError(err, 'no-shared-genes')` works here too.
 * A cancelled job rejects with core's AbortError instead.
 */
export class JobError extends ScnymError {
  override readonly name = 'JobError';
  override readonly hint?: string;
  override readonly file?: string;
  override readonly element?: string;

  constructor({ message, code, hint, file, element }: Omit<WorkerError, 'type'>) {
    // The message is already formatted (file, element, hint); keep it as it is.
    super(message, { code });
    this.hint = hint;
    this.file = file;
    this.element = element;
  }
}

/** How long a cancelled job may take to stop by itself before the thread is terminated. */
const CANCEL_GRACE_MS = 5_000;

export class WorkerClient {
  private readonly worker: Worker;
  private exited = false;
  private dataListener: ((r: DataResponse) => void) | null = null;
  private geneListener: ((r: GeneResponse) => void) | null = null;
  private jobListener: ((m: FromWorker) => void) | null = null;

  /** `script` is dist/worker.mjs. */
  constructor(script: string) {
    this.worker = new Worker(script);
    this.worker.on('message', (m: FromWorker) => {
      if (m.type === 'data') this.dataListener?.(m.response);
      else if (m.type === 'gene') this.geneListener?.(m.response);
      else this.jobListener?.(m);
    });
    this.worker.on('error', (e) => this.jobListener?.({ type: 'error', message: e.message }));
    this.worker.on('exit', (code) => {
      this.exited = true;
      this.jobListener?.({
        type: 'error',
        message: `the scNym worker stopped (exit code ${code})`,
      });
    });
  }

  /**
   * Runs one job. `signal` cancels it: the worker is asked to stop (core checks the signal
   * between steps and before writing, so the user's files are left untouched) and is
   * terminated if it has not stopped after a grace period. A cancelled job rejects with
   * core's AbortError, a failed one with a JobError.
   */
  run(job: JobRequest, onEvent: (e: JobEvent) => void, signal?: AbortSignal): Promise<JobResult> {
    if (this.jobListener) {
      return Promise.reject(
        new JobError({ message: 'the worker is already running a job', code: 'busy' }),
      );
    }
    return new Promise<JobResult>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        this.jobListener = null;
        signal?.removeEventListener('abort', onAbort);
        if (timer) clearTimeout(timer);
      };
      const onAbort = () => {
        this.worker.postMessage({ type: 'cancel' });
        timer = setTimeout(() => {
          finish();
          void this.worker.terminate();
          reject(new AbortError());
        }, CANCEL_GRACE_MS);
      };
      this.jobListener = (m) => {
        if (m.type === 'progress' || m.type === 'warning' || m.type === 'notice') onEvent(m);
        else if (m.type === 'done') {
          finish();
          resolve(m.result);
        } else if (m.type === 'cancelled') {
          finish();
          reject(new AbortError());
        } else if (m.type === 'error') {
          finish();
          reject(signal?.aborted ? new AbortError() : new JobError(m));
        }
      };
      if (signal?.aborted) {
        finish();
        reject(new AbortError());
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.worker.postMessage({ type: 'job', job });
    });
  }

  /** Viewer reads: responses arrive through `onData`, matched by the request's id. */
  postData(request: DataRequest): void {
    this.worker.postMessage({ type: 'data', request });
  }

  onData(listener: (r: DataResponse) => void): void {
    this.dataListener = listener;
  }

  /** The viewer's gene reads of `path`: responses arrive through `onGene`, matched by id. */
  postGene(path: string, request: GeneRequest): void {
    this.worker.postMessage({ type: 'gene', path, request });
  }

  onGene(listener: (r: GeneResponse) => void): void {
    this.geneListener = listener;
  }

  get alive(): boolean {
    return !this.exited;
  }

  dispose(): void {
    void this.worker.terminate();
  }
}
