/// <reference lib="dom" />
/**
 * `npm run bench -- --sections genes`: colour by gene at 100k cells. The 100k-cell scale query
 * (helpers/scale-data.ts: the demo's real genes, CSR X, ~250 stored values per cell) is copied
 * with an X_umap added (one blob per true class, so the viewer can draw it). Then:
 *
 * - the gene-major cache built in Node (plugin/src/server/gene-cache.ts): seconds, size on disk,
 *   the process's peak RSS, and one gene read (median and longest of 200);
 * - one gene request as the server answers it (gene-service.ts: the check that the dataset is
 *   unchanged, then the read), median and longest of 200;
 * - `scnym view` in headless Chromium with an empty cache: the first gene typed in the gene box
 *   (the cache is built then, unless the page's request at load already finished it) and then
 *   each of 20 genes until the legend shows it (wall time in the page's test driver);
 * - the dot plot's data path for 30 genes over all the cells: each gene's log1p(CPM) read from the
 *   cache and aggregated per class (core's groupExpression, over the query's 'truth' classes) in
 *   Node, and the same 30 genes fetched by the page (the route the dot plot reads).
 *
 *   SCNYM_BENCH_GENES_CELLS=100000   query cells
 */
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { openAnnDataFile } from '@scnym/core/node';
import { groupExpression, groupSizes } from '@scnym/core/scores';
import { GeneMajorCache } from '../../plugin/src/server/gene-cache.js';
import { GeneService } from '../../plugin/src/server/gene-service.js';
import { launchChromium, startView } from '../helpers/browser.js';
import { PYTHON } from '../helpers/paths.js';
import { scalePair } from '../helpers/scale-data.js';

const CELLS = Number(process.env.SCNYM_BENCH_GENES_CELLS ?? 100_000);
/** Genes in the dot plot's measurement (about the markers of 10–15 classes). */
const DOT_GENES = 30;

const ADD_UMAP = `
import anndata, numpy as np, sys
a = anndata.read_zarr(sys.argv[1])
codes = a.obs['truth'].astype('category').cat.codes.to_numpy()
rng = np.random.default_rng(0)
centres = rng.uniform(-10, 10, size=(codes.max() + 1, 2))
a.obsm['X_umap'] = (centres[codes] + rng.normal(size=(a.n_obs, 2))).astype('float32')
a.write_zarr(sys.argv[2])
`;

function du(path: string): string {
  return spawnSync('du', ['-sh', path], { encoding: 'utf8' }).stdout.split('\t')[0];
}

async function legend(page: Page, title: string): Promise<void> {
  await page
    .waitForFunction((t) => document.querySelector('#legend h2')?.textContent === t, title, {
      timeout: 5 * 60_000,
    })
    .catch(async (err: Error) => {
      const status = await page.locator('#gene-status').innerText();
      throw new Error(`no legend '${title}' (gene box: ${status}): ${err.message}`);
    });
}

export async function benchGenes(): Promise<void> {
  console.log(`## Colour by gene (${CELLS.toLocaleString('en-US')}-cell query)\n`);
  const pair = scalePair({ referenceCells: 100_000, queryCells: CELLS });
  const work = mkdtempSync(join(tmpdir(), 'scnym-bench-genes-'));
  let server: ChildProcess | undefined;
  let context: BrowserContext | undefined;
  try {
    const query = join(work, 'query.zarr');
    const made = spawnSync(PYTHON, ['-c', ADD_UMAP, pair.query, query], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(made.stderr);
    console.log(
      `query: ${pair.summary.query.cells} cells × ${pair.summary.genes} genes, ` +
        `${pair.summary.query.nnz.toLocaleString('en-US')} stored values (${du(query)} on disk)\n`,
    );

    // The cache on its own.
    const root = join(work, 'node-cache');
    const started = performance.now();
    const cache = await GeneMajorCache.open(query, { root });
    const buildS = (performance.now() - started) / 1000;
    const reads: number[] = [];
    const genes = cache.names.var_names;
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await cache.gene((i * 7919) % genes.length, i % 2 ? 'raw' : 'log1p');
      reads.push(performance.now() - t);
    }
    // The dot plot: 30 genes grouped by the query's classes.
    const ad = await openAnnDataFile(query);
    const truth = await ad.obsColumn('truth');
    await ad.close();
    if (truth.kind !== 'categorical') throw new Error('the scale query has no categorical truth');
    const nGroups = truth.categories.length;
    let dotRead = 0;
    let dotAggregate = 0;
    const t0 = performance.now();
    const sizes = groupSizes(truth.codes, nGroups);
    for (let i = 0; i < DOT_GENES; i++) {
      const t = performance.now();
      const values = await cache.gene((i * 4099) % genes.length, 'log1p');
      const u = performance.now();
      groupExpression(values, truth.codes, nGroups, sizes);
      dotAggregate += performance.now() - u;
      dotRead += u - t;
    }
    const dotAll = performance.now() - t0;
    await cache.close();
    reads.sort((a, b) => a - b);
    console.log('| step | figure |\n|---|---|');
    console.log(`| build the gene-major cache (Node) | ${buildS.toFixed(1)} s |`);
    console.log(`| its size on disk | ${du(root)} |`);
    console.log(
      `| peak RSS of this process so far | ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB |`,
    );
    console.log(
      `| one gene read (200 genes) | median ${reads[100].toFixed(1)} ms, longest ${reads[199].toFixed(1)} ms |`,
    );
    // The server's path: each request checks the dataset is unchanged, then reads the gene.
    const service = new GeneService(query, () => Promise.resolve(), root);
    await service.gene(0, 'log1p');
    const requests: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await service.gene((i * 7919) % genes.length, i % 2 ? 'raw' : 'log1p');
      requests.push(performance.now() - t);
    }
    await service.close();
    requests.sort((a, b) => a - b);
    console.log(
      `| one gene request in the server (GeneService: the dataset's check, then the read; 200 genes) | median ${requests[100].toFixed(1)} ms, longest ${requests[199].toFixed(1)} ms |`,
    );
    console.log(
      `| dot plot, ${DOT_GENES} genes × ${nGroups} classes (Node): read + aggregate | ${dotAll.toFixed(0)} ms (reads ${dotRead.toFixed(0)} ms, aggregation ${dotAggregate.toFixed(0)} ms) |`,
    );
    rmSync(root, { recursive: true, force: true });

    // The viewer, with an empty cache.
    process.env.SCNYM_CACHE_DIR = join(work, 'viewer-cache');
    const view = await startView([query, '--read-only']);
    server = view.server;
    const launched = await launchChromium(join(work, 'profile'), { width: 1400, height: 860 });
    context = launched.context;
    const page = launched.page;
    page.setDefaultTimeout(10 * 60_000);
    await page.goto(view.url);
    await page.waitForSelector('body[data-ready="true"]');
    const pick = ['CD14', 'LYZ', 'MS4A1', 'CD3E', 'NKG7', 'GNLY', 'FCGR3A', 'CD79A', 'IL7R'];
    for (let i = 0; pick.length < 21; i++) pick.push(genes[(i * 331) % genes.length]);
    const times: number[] = [];
    for (const gene of pick) {
      const t = Date.now();
      await page.fill('#gene-search', gene);
      await page.press('#gene-search', 'Enter');
      await legend(page, `${gene} · log1p(CPM)`);
      await page.waitForSelector(`#gene-status[data-gene="${gene}"]`);
      times.push(Date.now() - t);
    }
    // The dot plot's reads in the page (the cache is built now): 30 genes fetched in turn.
    const fetchMs = await page.evaluate(
      async ({ n, nGenes }) => {
        const t = performance.now();
        for (let i = 0; i < n; i++) {
          const r = await fetch(`/api/genes/${(i * 4099) % nGenes}?values=log1p`);
          await r.arrayBuffer();
        }
        return performance.now() - t;
      },
      { n: DOT_GENES, nGenes: genes.length },
    );
    const [first, ...rest] = times;
    rest.sort((a, b) => a - b);
    console.log(
      `| viewer: first gene after the page is ready (the cache built meanwhile) | ${(first / 1000).toFixed(2)} s |`,
    );
    console.log(
      `| viewer: each of the next ${rest.length} genes, typed to legend | median ${rest[rest.length >> 1]} ms, longest ${rest.at(-1)} ms |`,
    );
    console.log(
      `| viewer: the dot plot's ${DOT_GENES} gene reads, fetched by the page | ${fetchMs.toFixed(0)} ms |`,
    );
    console.log();
  } finally {
    server?.kill('SIGTERM');
    await context?.close().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}
