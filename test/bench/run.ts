/**
 * `npm run bench`: figures, not pass/fail. Each section compares against a baseline measured in
 * the same run (the original preset and the linear baseline for accuracy).
 *
 *   npm run bench                                  every pair, seeds 0 1 2
 *   npm run bench -- --pairs tiny --seeds 0        a quick look
 *   npm run bench -- --sections accuracy --pairs extra   the pairs of test/fixtures/pairs
 *   npm run bench -- --sections interpret          saliency markers, calibration, novel types
 *   npm run bench -- --sections accuracy --variants default,default+mixmatch,default+dan
 *                                                  scNym variants (accuracy.ts VARIANTS) vs linear
 *   npm run bench -- --sections novel --pairs all --seeds 0   AUROC of unknown scores, class removed
 *   npm run bench -- --sections speed              steps/s, s/epoch, cells/s: sparse vs dense
 *   npm run bench -- --sections speed --large      … and predicting 1M cells × 20k genes (~30 min)
 *   npm run bench -- --sections baseline           the same steps and run in PyTorch (python3-torch)
 *   npm run bench -- --sections write              a run's keys written safely into a 1M-cell query
 *   npm run bench -- --sections scale              scnym annotate + predict at 1k, 10k, 100k cells
 *   npm run bench -- --sections scale --large      … and 1M × 1M cells at 20k genes
 *   npm run bench -- --sections predict-scale      predict on 1 vs 2 threads, 1 vs 2 shards (and
 *                                                  Slurm tasks) on 100k × 2k; --large adds 1M × 20k
 *   npm run bench -- --sections viewer             `scnym view` on a 1M-cell query (headless Chromium)
 *   npm run bench -- --sections genes              colour by gene on a 100k-cell query: the cache, the viewer
 *   npm run bench -- --sections compare            the viewer's Compare after an edit, 1M cells: page vs worker
 */
import { parseArgs } from 'node:util';
import { benchAccuracy } from './accuracy.js';
import { benchCompare } from './compare.js';
import { benchBaseline } from './baseline.js';
import { benchGenes } from './genes.js';
import { benchInterpret } from './interpret.js';
import { benchNovel } from './novel.js';
import { expandPairs } from './pairs.js';
import { benchScale } from './scale.js';
import { benchPredictScale } from './predict-scale.js';
import { benchSpeed } from './speed.js';
import { benchViewer } from './viewer.js';
import { benchWrite } from './write.js';

const { values } = parseArgs({
  options: {
    pairs: { type: 'string' },
    seeds: { type: 'string' },
    sections: { type: 'string' },
    variants: { type: 'string' },
    large: { type: 'boolean' },
  },
});
const pairs = expandPairs(values.pairs ?? 'tiny,kang_ifnb');
const seeds = (values.seeds ?? '0,1,2').split(',').map(Number);
console.log(`# scnym-js benchmarks (${new Date().toISOString()}, node ${process.version})\n`);
const sections = (values.sections ?? 'accuracy,interpret,speed,baseline').split(',');
if (sections.includes('accuracy')) await benchAccuracy(pairs, seeds, values.variants?.split(','));
if (sections.includes('interpret')) await benchInterpret(seeds[0]);
if (sections.includes('novel')) await benchNovel(pairs, seeds);
if (sections.includes('speed')) await benchSpeed({ large: values.large });
if (sections.includes('baseline')) await benchBaseline(seeds[0]);
if (sections.includes('write')) await benchWrite();
if (sections.includes('scale')) await benchScale({ large: values.large });
if (sections.includes('predict-scale')) await benchPredictScale({ large: values.large });
if (sections.includes('viewer')) await benchViewer();
if (sections.includes('genes')) await benchGenes();
if (sections.includes('compare')) await benchCompare();
