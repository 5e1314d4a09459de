/** `scnym merge`: put the shards of `scnym predict --shard` into the query, all at once. */
import { parseArgs } from 'node:util';
import { mergeShards } from '@scnym/core/node';
import { COMMON_OPTIONS, parseOrExplain, UsageError } from './args.js';
import { formatPrediction, summarizePrediction } from './predict.js';
import { createProgress, reportEvents } from './progress.js';

const HELP = `usage: scnym merge --query FILE [--out FILE] [--overwrite] SHARD… | DIR…

Writes the predictions of 'scnym predict --shard I/N' runs into the query they were made for:
the obs, obsm and uns keys one 'scnym predict' writes, the same to the bit, all at once or not
at all (in place, or a copy with --out). The shards must come from one model and one query, with
the same options, and cover every cell exactly once: a missing, repeated or foreign shard is
refused, naming it. Give the shard files, or the folder(s) they were written to. The shard
files are left as they are; remove them once the query is merged.

  --query FILE      the query the shards were predicted on (.h5ad or .zarr)
  --out FILE        write an annotated copy here instead of changing the query
  --overwrite       replace keys (or --out) that already exist
  --json            print a JSON summary on stdout
  --quiet           no progress output`;

export async function runMerge(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrExplain(HELP, () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        query: { type: 'string' },
        out: { type: 'string' },
        overwrite: { type: 'boolean' },
        json: COMMON_OPTIONS.json,
        quiet: COMMON_OPTIONS.quiet,
        help: COMMON_OPTIONS.help,
      },
    }),
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.query) throw new UsageError(`--query is required\n\n${HELP}`);
  if (positionals.length === 0) {
    throw new UsageError(`name the shard files or their folder\n\n${HELP}`);
  }
  const progress = createProgress(process.stderr, values.quiet);
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await mergeShards(
      { query: values.query, shards: positionals, out: values.out, overwrite: values.overwrite },
      { signal: controller.signal, onEvent: reportEvents(progress) },
    );
    progress.done();
    const summary = summarizePrediction(result.prediction);
    if (values.json) {
      console.log(
        JSON.stringify(
          { schema: 'scnym.merge/1', written: result.written, shards: result.shards, ...summary },
          null,
          2,
        ),
      );
    } else {
      console.log(
        `merged ${result.shards.length} shards\n` +
          formatPrediction(
            summary,
            result.written,
            result.keyAdded,
            result.prediction.embeddingDim > 0,
          ),
      );
    }
    return 0;
  } finally {
    progress.done();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
