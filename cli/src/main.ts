#!/usr/bin/env node
/**
 * The `scnym` command line: one module per command (each parses its options, runs one function
 * of @scnym/core's workflow and prints the result), errors printed without stack traces.
 */
import { createRequire } from 'node:module';
import { isAbortError, isScnymError, withSystemErrorExplained } from '@scnym/core';
import { runAnnotate } from './annotate.js';
import { runEvaluate } from './evaluate.js';
import { runInspect } from './inspect.js';
import { runMerge } from './merge.js';
import { runPredict } from './predict.js';
import { runSaliency } from './saliency.js';
import { runTrain } from './train.js';
import { runView } from './view.js';
import { UsageError } from './args.js';

const COMMANDS: Record<string, { summary: string; run: (argv: string[]) => Promise<number> }> = {
  inspect: { summary: 'describe an AnnData file (.h5ad or .zarr)', run: runInspect },
  annotate: { summary: 'transfer labels: train on a reference, predict a query', run: runAnnotate },
  train: { summary: 'train a model on a labelled reference and save it', run: runTrain },
  predict: { summary: 'annotate a query with a saved model', run: runPredict },
  merge: { summary: "write 'predict --shard' outputs into their query", run: runMerge },
  evaluate: { summary: 'score predictions against known labels', run: runEvaluate },
  saliency: { summary: 'marker genes behind a class (gene attributions)', run: runSaliency },
  view: { summary: 'open a dataset in the viewer (Annotate, confidence, Save)', run: runView },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return [
    'usage: scnym <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    "run 'scnym <command> --help' for a command's options",
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 2;
  }
  if (name === '--version') {
    const own = createRequire(import.meta.url)('../package.json') as { version: string };
    console.log(own.version);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`scnym: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return command.run(rest);
}

const debug = process.argv.includes('--debug');
main(process.argv.slice(2).filter((a) => a !== '--debug')).then(
  (code) => {
    process.exitCode = code;
  },
  (caught: unknown) => {
    // Operating-system errors (EACCES, ENOSPC, …) in words, with the file and the fix.
    const err = debug ? caught : withSystemErrorExplained(caught);
    if (err instanceof UsageError) {
      console.error(`scnym: ${err.message}`);
      process.exitCode = 2;
    } else if (isScnymError(err) && !debug) {
      console.error(`error: ${err.message}`);
      process.exitCode = 1;
    } else if (isAbortError(err)) {
      console.error('cancelled');
      process.exitCode = 130;
    } else {
      console.error(
        debug || !(err instanceof Error)
          ? err
          : `error: ${err.message}\n  (run with --debug for details)`,
      );
      process.exitCode = 1;
    }
  },
);
