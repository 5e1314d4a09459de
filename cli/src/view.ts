/**
 * `scnym view [QUERY] [--reference REF | --model DIR]`: starts the local viewer server
 * (@scnym/plugin's), prints the URL and opens a browser. With no QUERY it opens the bundled demo
 * pair (core's demo folder).
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { readLabels, ScnymError, systemErrorCode } from '@scnym/core';
import { loadModelDir, openAnnDataFile } from '@scnym/core/node';
import { startViewServer, type ViewServer, type ViewServerOptions } from '@scnym/plugin/server';
import { parseOrExplain, UsageError } from './args.js';

const HELP = `usage: scnym view [QUERY] [--reference FILE [--label-key KEY] | --model DIR] [options]

Opens QUERY (.h5ad or .zarr) in the scNym viewer: a scatterplot of its embedding and the
"Transfer labels" panel (Annotate with the reference or model, confidence, marker genes,
relabelling, Save). Without QUERY, opens the bundled demo (Kang et al. 2018 PBMCs: control as
the reference, IFN-β-stimulated as the query; the query is copied to a temporary folder first).

The server listens on 127.0.0.1 only and serves only the app and the given files, to a browser
that opened the printed URL: its ?token=… (new each run) sets a session cookie, and every
request without that cookie is refused, so other users of a shared machine cannot read or
write your data. Save writes only scNym's keys into QUERY (atomically). The files are checked
before the server starts: a file that is not AnnData, a --label-key that is not a column of the
reference or a --model that is not a model folder is reported here.

  --reference FILE   labelled reference offered by the panel
  --label-key KEY    its label column (default: cell_type when present)
  --model DIR        a saved model folder (scnym train --model-out) instead of a reference
  --epochs N         epochs the panel proposes (default: the preset's)
  --host NAME        scnym (default): our viewer; vitessce: Vitessce (scatterplot, cell-set
                     manager) with the panel as a plugin view (.zarr queries only)
  --port N           port (default: any free port)
  --read-only        disable Save (the panel offers a CSV download instead)
  --no-open          do not open a browser, just print the URL

examples:
  scnym view query.zarr --reference ref.h5ad --label-key cell_type
  scnym view --host vitessce                 # the demo in Vitessce`;

/**
 * What only the terminal can report well, checked before the server starts: the label column
 * and the model, with core's readers. (The server opens QUERY and REFERENCE itself, and refuses
 * a file that is not AnnData before it listens.)
 */
async function checkInputs(reference?: string, labelKey?: string, model?: string): Promise<void> {
  if (reference && labelKey) {
    const ad = await openAnnDataFile(reference);
    try {
      await readLabels(ad, labelKey);
    } finally {
      await ad.close();
    }
  }
  if (model) (await loadModelDir(model)).network.dispose();
}

/** The server's start, with a port already taken (or not ours to take) explained. */
async function startServer(options: ViewServerOptions): Promise<ViewServer> {
  try {
    return await startViewServer(options);
  } catch (err) {
    const code = systemErrorCode(err);
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new ScnymError(
        code === 'EADDRINUSE'
          ? `port ${options.port} is already in use`
          : `port ${options.port} needs privileges to listen on`,
        {
          hint: 'choose another --port, or leave --port out to take any free port',
          code: 'system',
          cause: err,
        },
      );
    }
    throw err;
  }
}

/** The bundled demo folder, shipped in @scnym/core's package (core/demo). */
function demoDir(): string {
  const core = createRequire(import.meta.url).resolve('@scnym/core/package.json');
  return join(dirname(core), 'demo');
}

export async function runView(argv: string[]): Promise<number> {
  const { values, positionals } = parseOrExplain(HELP, () =>
    parseArgs({
      args: argv,
      options: {
        reference: { type: 'string' },
        'label-key': { type: 'string' },
        model: { type: 'string' },
        epochs: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'read-only': { type: 'boolean' },
        'no-open': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    }),
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`view takes at most one QUERY\n\n${HELP}`);
  if (values.reference && values.model) {
    throw new UsageError('pass either --reference or --model, not both');
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be an integer from 0 to 65535 (got '${values.port}')`);
  }
  const epochs = values.epochs === undefined ? undefined : Number(values.epochs);
  if (epochs !== undefined && (!Number.isInteger(epochs) || epochs < 1)) {
    throw new UsageError(`--epochs must be a positive integer (got '${values.epochs}')`);
  }
  const host = values.host ?? 'scnym';
  if (host !== 'scnym' && host !== 'vitessce') {
    throw new UsageError(`--host must be scnym or vitessce (got '${values.host}')`);
  }
  let query = positionals[0];
  let reference = values.reference;
  let labelKey = values['label-key'];
  let demoCopy = false;
  if (!query) {
    // The demo query is copied first, so Save never changes the files shipped with scNym.
    const demo = demoDir();
    query = join(await mkdtemp(join(tmpdir(), 'scnym-demo-')), 'target.zarr');
    await cp(join(demo, 'target.zarr'), query, { recursive: true });
    demoCopy = true;
    if (!values.model) reference ??= join(demo, 'reference.zarr');
    labelKey ??= 'cell_type';
  }
  for (const [what, path] of [
    ['QUERY', query],
    ['--reference', reference],
    ['--model', values.model],
  ] as const) {
    if (path && !(await stat(path).catch(() => undefined))) {
      throw new ScnymError('no such file or folder', {
        file: path,
        hint: `check the ${what} path`,
        code: 'not-found',
      });
    }
  }

  await checkInputs(reference, labelKey, values.model);

  const server = await startServer({
    query,
    reference,
    model: values.model,
    labelKey,
    epochs,
    port,
    writable: !values['read-only'],
    host,
    onSave: (keys) => console.log(`saved ${keys.join(', ')} into ${query}`),
  });
  console.log(`scNym viewer: ${server.url}${host === 'vitessce' ? ' (in Vitessce)' : ''}`);
  console.log(`  query      ${query}${demoCopy ? ' (a copy of the demo; Save writes here)' : ''}`);
  if (reference) console.log(`  reference  ${reference}`);
  if (values.model) console.log(`  model      ${values.model}`);
  console.log('press Ctrl-C to stop');
  if (!values['no-open']) openBrowser(server.url);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}

/** Best effort: the platform's opener, silently skipped when there is none (e.g. a server). */
function openBrowser(url: string): void {
  const command =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return;
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // no opener: the URL is printed above
  }
}
