// The linear head (core/src/linear/head.ts, training option linearBlend, issue 17): the default
// preset fits a class-balanced softmax regression on the network's training split and averages
// its probabilities with the network's; the card carries it, so a model predicts the same from
// memory and from its files, and the blend is what the two models give apart.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import {
  initBackend,
  MODEL_FORMAT_VERSION,
  modelFromFiles,
  modelToFiles,
  predictAnnData,
  predictLinear,
  prepareTraining,
  readLabels,
  resolveOptions,
  samplingOf,
  SCNYM_JSON,
  trainLinear,
  trainOnAnnData,
  type ModelCard,
} from '@scnym/core';
import { openAnnDataFile } from '@scnym/core/node';
import { runScnym } from '../helpers/cli.js';
import { sharedFile } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const OVERRIDES = { seed: 0, nEpochs: 4, minEpochs: 2 };

before(async () => {
  await initBackend('auto');
});

async function kang() {
  return {
    reference: await openAnnDataFile(sharedFile('kang_ifnb', 'reference.h5ad')),
    target: await openAnnDataFile(sharedFile('kang_ifnb', 'target.h5ad')),
  };
}

test('default: the card carries the linear head, and predictions blend it with the network as the two models give apart', async () => {
  const { reference, target } = await kang();
  try {
    const trained = await trainOnAnnData(reference, target, {
      labelKey: 'cell_type',
      overrides: OVERRIDES,
    });
    const { model, card } = trained;
    assert.ok(card.linear, 'the card holds a linear head');
    assert.equal(card.linear.blend, 0.5);
    assert.equal(card.linear.bias.length, model.classNames.length);
    assert.equal(card.linear.fit.nTrain, model.split.train.length);

    const blended = await predictAnnData({ ...model, card }, target, { embedding: false });
    const network = await predictAnnData(
      { ...model, card: { ...card, linear: undefined } },
      target,
      { embedding: false },
    );
    // The linear model apart, trained the same way on the same split (float64, not stored).
    const options = resolveOptions('default', undefined, OVERRIDES);
    const prepared = await prepareTraining(reference, target, {
      labelKey: 'cell_type',
      sampling: samplingOf(options),
    });
    const linear = await trainLinear(prepared.data, model.split.train, { standardize: false });
    const alone = predictLinear(linear, prepared.data.unlabeled!).probabilities;
    assert.equal(alone.length, blended.probabilities.length);
    let worst = 0;
    for (let i = 0; i < alone.length; i++) {
      const expected = 0.5 * network.probabilities[i] + 0.5 * alone[i];
      worst = Math.max(worst, Math.abs(blended.probabilities[i] - expected));
    }
    assert.ok(worst < 1e-4, `blend differs from the two models' average by ${worst}`);
    // It changes some calls: the head is really used.
    let changed = 0;
    for (let c = 0; c < blended.nCells; c++) if (blended.codes[c] !== network.codes[c]) changed++;
    assert.ok(changed > 0, 'the blend changed no cell');

    // The summary's held-out accuracy is the model's as it predicts (head included).
    assert.equal(typeof card.linear.fit.networkHeldOutAccuracy, 'number');
    const onReference = await predictAnnData({ ...model, card }, reference, { embedding: false });
    const truth = await readLabels(reference, 'cell_type');
    const held = model.split.heldOut;
    let right = 0;
    for (const r of held)
      if (model.classNames[onReference.codes[r]] === truth.names[truth.codes[r]]) right++;
    assert.equal(model.summary.heldOutAccuracy, right / held.length);

    // From the files: the same bits.
    const files = await modelToFiles(model.network, card);
    const loaded = await modelFromFiles(async (name) => files.get(name), 'model');
    assert.equal(loaded.card.formatVersion, MODEL_FORMAT_VERSION);
    const again = await predictAnnData(loaded, target, { embedding: false });
    assert.deepEqual(again.probabilities, blended.probabilities);
    assert.deepEqual(again.codes, blended.codes);
    model.network.dispose();
    loaded.network.dispose();
  } finally {
    await reference.close();
    await target.close();
  }
});

test('no linear head with linearBlend 0 or the original preset; a damaged one is refused naming the field', async () => {
  const { reference, target } = await kang();
  try {
    for (const [preset, overrides] of [
      ['default', { ...OVERRIDES, nEpochs: 1, minEpochs: 0, linearBlend: 0 }],
      ['original', { ...OVERRIDES, nEpochs: 1, minEpochs: 0 }],
    ] as const) {
      const { model, card } = await trainOnAnnData(reference, null, {
        labelKey: 'cell_type',
        preset,
        overrides,
      });
      assert.equal(card.linear, undefined, preset);
      if (preset === 'original') {
        const files = await modelToFiles(model.network, card);
        const edit = (change: (c: ModelCard) => void) => {
          const c = JSON.parse(new TextDecoder().decode(files.get(SCNYM_JSON))) as ModelCard;
          change(c);
          const copy = new Map(files);
          copy.set(SCNYM_JSON, new TextEncoder().encode(JSON.stringify(c)));
          return modelFromFiles(async (name) => copy.get(name), 'm');
        };
        const head = {
          blend: 0.5,
          input: 'log1p-cp10k' as const,
          weights: 'AAAA',
          bias: card.classNames.map(() => 0),
          fit: { c: 1, iterations: 1, converged: true, nTrain: 1, seconds: 0 },
        };
        await assert.rejects(
          edit((c) => (c.linear = head)),
          /m\/scnym\.json: linear: weights hold 3 bytes, not the \d+ of \d+ float32 values \(\d+ genes × 7 classes\)/,
        );
        await assert.rejects(
          edit((c) => (c.linear = { ...head, blend: 2 })),
          /linear: blend must be a number in \(0, 1\]/,
        );
      }
      model.network.dispose();
    }
  } finally {
    await reference.close();
    await target.close();
  }
});

test('scnym train --linear-blend: the share in the card, 0 for none, outside [0, 1] refused', () => {
  const dir = tempDir();
  const train = (out: string, ...extra: string[]) =>
    runScnym(
      [
        'train',
        '--reference',
        sharedFile('tiny', 'reference.h5ad'),
        '--label-key',
        'cell_type',
        '--model-out',
        join(dir, out),
        '--epochs',
        '2',
        ...extra,
      ],
      300_000,
    );
  const card = (out: string) =>
    JSON.parse(readFileSync(join(dir, out, 'scnym.json'), 'utf8')) as ModelCard;
  assert.equal(train('default').status, 0);
  assert.equal(card('default').linear?.blend, 0.5);
  assert.equal(train('quarter', '--linear-blend', '0.25').status, 0);
  assert.equal(card('quarter').linear?.blend, 0.25);
  assert.equal(train('none', '--linear-blend', '0').status, 0);
  assert.equal(card('none').linear, undefined);
  const bad = train('bad', '--linear-blend', '1.5');
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /--linear-blend must be a number in \[0, 1\] \(got '1\.5'\)/);
});
