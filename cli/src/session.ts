/**
 * What the model commands share while core's workflow runs: the backend, Ctrl-C → AbortSignal,
 * and the workflow's events on stderr (progress, warnings, notices).
 */
import { initBackend, type WorkflowControl } from '@scnym/core';
import { parseBackend } from './args.js';
import { createProgress, reportEvents, type Progress } from './progress.js';

export interface Session {
  /** What core's workflow functions take: the cancel signal and the event listener. */
  control: Required<WorkflowControl>;
  progress: Progress;
  backend: string;
  close: () => void;
}

/** Signals that cancel a run: Ctrl-C, `kill`, a closed terminal. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Starts the backend and wires Ctrl-C (and SIGTERM, SIGHUP) to cancel; a second one exits at
 * once. A write is cancelled up to the moment it is published, so the files stay as they were.
 */
export async function startSession(options: {
  quiet?: boolean;
  backend?: string;
}): Promise<Session> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted)
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    process.stderr.write(
      `\ncancelling… (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to quit at once)\n`,
    );
    controller.abort();
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  const backend = await initBackend(parseBackend(options.backend));
  const progress = createProgress(process.stderr, options.quiet);
  return {
    control: { signal: controller.signal, onEvent: reportEvents(progress) },
    progress,
    backend,
    close: () => {
      progress.done();
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
    },
  };
}
