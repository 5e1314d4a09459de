/**
 * Interpretation and calibration on kang_ifnb, full-length runs of the project default:
 *
 * - temperature scaling: the fitted T and ECE before → after on the reference selection split
 *   (where it is fitted) and on the stimulated target (never seen by the fit);
 * - marker genes: top 10 per class for B, CD14+Mono and NK with each saliency method, at the
 *   original's settings (integrated gradients M = 300, expected gradients 100 draws);
 * - novel cell types: a reference without B (and one without NK), `new_identity_discovery`
 *   (and `no_new_identity` for comparison), AUROC of low confidence for novel vs known target
 *   cells and the share labelled 'Unknown' (threshold 0.5).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { predictAnnData, trainOnAnnData } from '../../core/src/annotate.js';
import { initBackend } from '../../core/src/backend.js';
import { calibrationReport } from '../../core/src/calibration.js';
import { evaluatePredictions } from '../../core/src/evaluate.js';
import type { SaliencyMethod } from '../../core/src/interpret/gradients.js';
import { saliencyAnnData } from '../../core/src/interpret/saliency.js';
import { openAnnDataFile } from '../../core/src/node/open.js';
import { readLabels } from '../../core/src/prepare.js';
import type { ConfigName } from '../../core/src/train/options.js';
import { PYTHON, sharedFile } from '../helpers/paths.js';

const REFERENCE = sharedFile('kang_ifnb', 'reference.h5ad');
const TARGET = sharedFile('kang_ifnb', 'target.h5ad');

async function truthNames(path: string): Promise<(string | null)[]> {
  const ad = await openAnnDataFile(path);
  try {
    const l = await readLabels(ad, 'cell_type');
    return Array.from(l.codes, (c) => (c < 0 ? null : l.names[c]));
  } finally {
    await ad.close();
  }
}

export async function benchInterpret(seed = 0): Promise<void> {
  const backend = await initBackend('auto');
  console.log(`## Interpretation and calibration (kang_ifnb, backend ${backend}, seed ${seed})\n`);
  const reference = await openAnnDataFile(REFERENCE);
  const target = await openAnnDataFile(TARGET);
  const truth = await truthNames(TARGET);
  try {
    const started = performance.now();
    const trained = await trainOnAnnData(reference, target, {
      labelKey: 'cell_type',
      overrides: { seed },
    });
    const trainSeconds = (performance.now() - started) / 1000;
    const { model, card, calibration } = trained;

    // Temperature scaling.
    console.log(`### Temperature scaling (trained in ${trainSeconds.toFixed(0)} s)\n`);
    const targetEce = async (temperature: number) => {
      const p = await predictAnnData(model, target, { embedding: false, temperature });
      const index = new Map(model.classNames.map((c, i) => [c, i]));
      const codes = Int32Array.from(truth, (t) => (t === null ? -1 : (index.get(t) ?? -1)));
      return calibrationReport(codes, p.codes, p.confidence).ece;
    };
    if (calibration) {
      const before = await targetEce(1);
      const after = await targetEce(calibration.fitted);
      console.log('| split | cells | ECE T=1 | ECE fitted T | NLL T=1 | NLL fitted T |');
      console.log('|---|---|---|---|---|---|');
      console.log(
        `| reference selection (fit) | ${calibration.nCells} | ${calibration.eceBefore.toFixed(3)} | ${calibration.eceAfter.toFixed(3)} | ${calibration.nllBefore.toFixed(3)} | ${calibration.nllAfter.toFixed(3)} |`,
      );
      console.log(
        `| kang target | ${truth.length} | ${before.toFixed(3)} | ${after.toFixed(3)} | | |`,
      );
      console.log(
        `\nfitted T = ${calibration.fitted.toFixed(3)}; ${calibration.applied ? 'applied (it lowered the selection ECE)' : 'not applied (it did not lower the selection ECE)'}; stored temperature ${card.temperature}\n`,
      );
    }

    // Marker genes.
    console.log('### Marker genes (top 10, cells predicted as the class, at most 200)\n');
    console.log('| class | method | cells | seconds | top 10 |');
    console.log('|---|---|---|---|---|');
    for (const className of ['B', 'CD14+Mono', 'NK']) {
      for (const method of ['gradient', 'integrated', 'expected'] as SaliencyMethod[]) {
        const t = performance.now();
        const r = await saliencyAnnData(
          model,
          target,
          { className, method, steps: 300, samples: 100, maxCells: 200, top: 10, seed },
          {},
          reference,
        );
        console.log(
          `| ${className} | ${method} | ${r.cells.nExplained} | ${((performance.now() - t) / 1000).toFixed(1)} | ${r.top.map((g) => g.gene).join(', ')} |`,
        );
      }
    }
    model.network.dispose();
  } finally {
    await reference.close();
    await target.close();
  }
  await benchNovel(seed, truth);
}

async function benchNovel(seed: number, truth: (string | null)[]): Promise<void> {
  console.log('\n### Novel cell types (class left out of the reference)\n');
  console.log(
    '| left out | config | AUROC (novel vs known) | mean conf. novel | mean conf. known | Unknown novel | Unknown known | accuracy known | seconds |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  const dir = mkdtempSync(join(tmpdir(), 'scnym-bench-'));
  try {
    const runs: [string, ConfigName][] = [
      ['B', 'new_identity_discovery'],
      ['B', 'no_new_identity'],
      ['NK', 'new_identity_discovery'],
    ];
    for (const [drop, config] of runs) {
      const path = join(dir, `reference_no_${drop}.h5ad`);
      const py = spawnSync(
        PYTHON,
        [
          '-c',
          `import anndata
a = anndata.read_h5ad(${JSON.stringify(REFERENCE)})
a = a[a.obs['cell_type'] != ${JSON.stringify(drop)}].copy()
a.obs['cell_type'] = a.obs['cell_type'].cat.remove_unused_categories()
a.write_h5ad(${JSON.stringify(path)})`,
        ],
        { encoding: 'utf8' },
      );
      if (py.status !== 0) throw new Error(py.stderr);
      const reference = await openAnnDataFile(path);
      const target = await openAnnDataFile(TARGET);
      try {
        const t = performance.now();
        const { model, card } = await trainOnAnnData(reference, target, {
          labelKey: 'cell_type',
          config,
          overrides: { seed },
        });
        const p = await predictAnnData({ ...model, card }, target, {
          embedding: false,
          unknownThreshold: 0.5,
        });
        const seconds = (performance.now() - t) / 1000;
        const report = evaluatePredictions({
          truth,
          predicted: p.labels,
          confidence: p.confidence,
          bestClass: Array.from(p.codes, (c) => model.classNames[c]),
          modelClasses: model.classNames,
        });
        const v = report.novelty!;
        const known = truth.map((t) => t !== null && t !== drop);
        const knownHits = p.labels.filter((l, i) => known[i] && l === truth[i]).length;
        const nKnown = known.filter(Boolean).length;
        console.log(
          `| ${drop} | ${config} | ${v.auroc.toFixed(3)} | ${v.meanConfidenceNovel.toFixed(3)} | ${v.meanConfidenceKnown.toFixed(3)} | ${(100 * v.unknownRateNovel).toFixed(1)}% | ${(100 * v.unknownRateKnown).toFixed(1)}% | ${(knownHits / nKnown).toFixed(3)} | ${seconds.toFixed(0)} |`,
        );
        model.network.dispose();
      } finally {
        await reference.close();
        await target.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('');
}
