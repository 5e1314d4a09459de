// The novelty score (core/src/novelty/, issue 17): the model card carries the reference's
// principal components and a sample of its cells; prediction writes each cell's mean distance to
// its nearest reference cells, in units of the held-out reference cells' median. Checked against
// numpy on real cells: the components against an SVD, the scores against a brute-force search
// over the card's own numbers, and the score against a class removed from the reference.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import {
  auroc,
  initBackend,
  MODEL_FORMAT_VERSION,
  modelFromFiles,
  modelToFiles,
  NearestPoints,
  predictAnnData,
  readLabels,
  SCNYM_JSON,
  sparsePca,
  trainOnAnnData,
  type ModelCard,
} from '@scnym/core';
import { openAnnDataFile } from '@scnym/core/node';
import { annotationKeys } from '@scnym/core/vocabulary';
import { PYTHON, sharedFile } from '../helpers/paths.js';
import { tempDir } from '../helpers/tmp.js';

const OVERRIDES = { seed: 0, nEpochs: 1, minEpochs: 0 };

before(async () => {
  await initBackend('auto');
});

function python(code: string, ...args: string[]): string {
  const r = spawnSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test("sparsePca: the leading components and variances of real cells are numpy's SVD", () => {
  // kang_ifnb's reference, log1p(CP10k) of its 500 most variable genes, centred by sparsePca.
  const out = JSON.parse(
    python(
      `import anndata, numpy as np, scipy.sparse as sp, json, sys
a = anndata.read_h5ad(sys.argv[1])
X = sp.csr_matrix(a.X).astype(np.float64)
s = np.asarray(X.sum(1)).ravel(); s[s == 0] = 1
X = sp.diags(1e4 / s) @ X; X.data = np.log1p(X.data)
v = np.asarray(X.multiply(X).mean(0)).ravel() - np.asarray(X.mean(0)).ravel() ** 2
X = sp.csr_matrix(X[:, np.sort(np.argsort(-v)[:500])])
D = X.toarray(); D -= D.mean(0)
U, S, Vt = np.linalg.svd(D, full_matrices=False)
print(json.dumps({"indptr": X.indptr.tolist(), "indices": X.indices.tolist(), "data": X.data.tolist(),
  "shape": X.shape, "variance": (S[:10] ** 2 / (X.shape[0] - 1)).tolist(), "components": Vt[:10].tolist()}))`,
      sharedFile('kang_ifnb', 'reference.h5ad'),
    ),
  ) as {
    indptr: number[];
    indices: number[];
    data: number[];
    shape: [number, number];
    variance: number[];
    components: number[][];
  };
  const [nRows, nCols] = out.shape;
  const m = {
    nRows,
    nCols,
    indptr: Int32Array.from(out.indptr),
    indices: Int32Array.from(out.indices),
    data: Float32Array.from(out.data),
  };
  const pca = sparsePca(m, 10, 0);
  for (let j = 0; j < 6; j++) {
    const relative = Math.abs(pca.variance[j] - out.variance[j]) / out.variance[j];
    assert.ok(relative < 1e-3, `component ${j}: variance ${pca.variance[j]} vs ${out.variance[j]}`);
    let dot = 0;
    for (let c = 0; c < nCols; c++) dot += pca.components[c * 10 + j] * out.components[j][c];
    assert.ok(Math.abs(dot) > 0.999, `component ${j}: |cos| ${Math.abs(dot)} with numpy's`);
  }
  // The same seed gives the same bits; the components are orthonormal.
  assert.deepEqual(sparsePca(m, 10, 0).components, pca.components);
  for (let a = 0; a < 10; a++) {
    for (let b = a; b < 10; b++) {
      let dot = 0;
      for (let c = 0; c < nCols; c++)
        dot += pca.components[c * 10 + a] * pca.components[c * 10 + b];
      assert.ok(Math.abs(dot - (a === b ? 1 : 0)) < 1e-9, `components ${a}·${b} = ${dot}`);
    }
  }
});

test('NearestPoints: the mean distance to the k nearest equals a brute-force search', () => {
  // Points spread like principal components: a wide first axis, narrower ones after it.
  let state = 12345;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5;
  const dim = 10;
  const n = 3000;
  const points = Float32Array.from({ length: n * dim }, (_, i) => next() * (10 / (1 + (i % dim))));
  const index = new NearestPoints(points, dim, 10);
  for (let q = 0; q < 300; q++) {
    // Queries inside the cloud, beyond its ends, and on points themselves.
    const query =
      q % 3 === 2
        ? Array.from(points.subarray(q * dim, q * dim + dim))
        : Array.from({ length: dim }, (_, d) => (next() * (q % 3 ? 40 : 10)) / (1 + d));
    const all = Array.from({ length: n }, (_, i) => {
      let s = 0;
      for (let d = 0; d < dim; d++) s += (query[d] - points[i * dim + d]) ** 2;
      return s;
    }).sort((a, b) => a - b);
    const expected = all.slice(0, 10).reduce((s, d2) => s + Math.sqrt(d2), 0) / 10;
    assert.ok(
      Math.abs(index.meanDistance(query) - expected) < 1e-9 * Math.max(1, expected),
      `query ${q}`,
    );
  }
});

test('the card carries the novelty reference; predictions score it as numpy does from the card, the same from files, and cells of a removed class score high', async () => {
  const dir = tempDir();
  const referencePath = join(dir, 'reference-without-B.h5ad');
  const targetPath = sharedFile('kang_ifnb', 'target.h5ad');
  python(
    `import anndata, sys
a = anndata.read_h5ad(sys.argv[1]); a = a[a.obs["cell_type"] != "B"].copy()
a.obs["cell_type"] = a.obs["cell_type"].cat.remove_unused_categories(); a.write_h5ad(sys.argv[2])`,
    sharedFile('kang_ifnb', 'reference.h5ad'),
    referencePath,
  );
  const reference = await openAnnDataFile(referencePath);
  const target = await openAnnDataFile(targetPath);
  try {
    const { model, card } = await trainOnAnnData(reference, target, {
      labelKey: 'cell_type',
      overrides: OVERRIDES,
    });
    const novelty = card.novelty;
    assert.ok(novelty, 'the card holds a novelty reference');
    assert.equal(novelty.nComponents, 10);
    assert.equal(novelty.k, 10);
    assert.equal(novelty.genes.length, 2000);
    // Every labelled reference cell (≤ 5,000 of them) is a point.
    const { train, selection, heldOut } = model.split;
    const nReference = train.length + selection.length + heldOut.length;
    assert.equal(novelty.nPoints, Math.min(5000, nReference));
    assert.equal(novelty.fit.nFit, Math.min(10000, nReference));
    // By construction half the reference cells score below 1.
    assert.ok(
      novelty.fit.q90 > 1 && novelty.fit.q99 >= novelty.fit.q90,
      JSON.stringify(novelty.fit),
    );

    const prediction = await predictAnnData({ ...model, card }, target, { embedding: false });
    assert.equal(prediction.novelty.length, prediction.nCells);

    // numpy, from the card's numbers and the file's counts: log1p(CP10k) over all the file's
    // genes, the card's genes, centred, projected, a brute-force search of its points, and what
    // the projection leaves.
    const cardFile = join(dir, 'card.json');
    writeFileSync(cardFile, JSON.stringify(card));
    const expected = Float64Array.from(
      python(
        `import anndata, numpy as np, scipy.sparse as sp, json, sys, base64
c = json.load(open(sys.argv[1])); n = c["novelty"]
f32 = lambda s: np.frombuffer(base64.b64decode(s), dtype="<f4").astype(np.float64)
a = anndata.read_h5ad(sys.argv[2])
X = sp.csr_matrix(a.X).astype(np.float64); s = np.asarray(X.sum(1)).ravel(); s[s == 0] = 1
X = sp.diags(1e4 / s) @ X; X.data = np.log1p(X.data)
col = {g: i for i, g in enumerate(a.var_names)}
X = X[:, [col[c["genes"][g]] for g in n["genes"]]].toarray()
d = n["nComponents"]
Y = (X - f32(n["mean"])) @ f32(n["components"]).reshape(-1, d)
P = f32(n["points"]).reshape(-1, d)
D = np.sqrt(np.maximum(((Y[:, None, :] - P[None, :, :]) ** 2).sum(2), 0)); D.sort(1)
r = np.sqrt(np.maximum(((X - f32(n["mean"])) ** 2).sum(1) - (Y ** 2).sum(1), 0))
s = n["scales"]; score = (D[:, :n["k"]].mean(1) / s["distance"] + r / s["residual"]) / s["total"]
print(" ".join("%.9g" % v for v in score))`,
        cardFile,
        targetPath,
      )
        .trim()
        .split(' '),
      Number,
    );
    assert.equal(expected.length, prediction.nCells);
    let worst = 0;
    for (let i = 0; i < expected.length; i++)
      worst = Math.max(worst, Math.abs(prediction.novelty[i] - expected[i]) / expected[i]);
    assert.ok(worst < 1e-4, `scores differ from numpy's by up to ${worst} (relative)`);

    // The removed class: its cells are the farthest (bench: 0.85–0.97 across seeds).
    const truth = await readLabels(target, 'cell_type');
    const isB = Array.from(truth.codes, (c) => c >= 0 && truth.names[c] === 'B');
    const separation = auroc(prediction.novelty, isB);
    assert.ok(separation > 0.8, `AUROC of the novelty score for B cells: ${separation}`);

    // The annotations: obs scNym_novelty.
    const keys = annotationKeys();
    assert.equal(keys.novelty, 'scNym_novelty');

    // From the files: the same bits; a damaged reference is refused naming the field.
    const files = await modelToFiles(model.network, card);
    const loaded = await modelFromFiles(async (name) => files.get(name), 'model');
    assert.equal(loaded.card.formatVersion, MODEL_FORMAT_VERSION);
    const again = await predictAnnData(loaded, target, { embedding: false });
    assert.deepEqual(again.novelty, prediction.novelty);
    const edit = (change: (c: ModelCard) => void) => {
      const c = JSON.parse(new TextDecoder().decode(files.get(SCNYM_JSON))) as ModelCard;
      change(c);
      const copy = new Map(files);
      copy.set(SCNYM_JSON, new TextEncoder().encode(JSON.stringify(c)));
      return modelFromFiles(async (name) => copy.get(name), 'm');
    };
    await assert.rejects(
      edit((c) => (c.novelty = { ...novelty, points: 'AAAA' })),
      /m\/scnym\.json: novelty: points hold 3 bytes, not the \d+ of \d+ float32 values/,
    );
    await assert.rejects(
      edit((c) => (c.novelty = { ...novelty, genes: [3, 2] })),
      /novelty: genes must be ascending indices of the model's \d+ genes/,
    );
    model.network.dispose();
    loaded.network.dispose();
  } finally {
    await reference.close();
    await target.close();
  }
});
