"""PyTorch baseline for `npm run bench -- --sections baseline` (test/bench/baseline.ts).

Our own PyTorch version of scnym-js's network and of one training step of its `original` preset
(written for this benchmark from core/src/{model,train} and docs/scnym-reference.md, not taken
from calico/scnym), so that TF.js and PyTorch can be timed on the same data in one run:

  network    [Linear -> BatchNorm1d -> Dropout(0.5) -> ReLU] x 3 (256 wide) -> Linear(k), and the
             domain adversary Linear(256, 256) -> ReLU -> Linear(n_domains) behind gradient
             reversal (identity forward, -lambda * grad backward)
  full step  eval-mode teacher on the unlabelled batch (no augmentation: augment_pseudolabels is
             off in the original's configs), sharpening T=0.5; log1p_drop(0.1) on the labelled
             batch; MixUp (Beta(0.3, 0.3), gamma = max(gamma, 1 - gamma), one permutation) over
             [confident unlabelled; labelled]; supervised soft cross-entropy; consistency MSE
             (sum over classes, mean over unlabelled rows, masked by confidence); the adversary's
             cross-entropy on [augmented labelled; unlabelled]; one Adadelta step (lr 1, rho 0.9,
             eps 1e-6, weight decay 1e-4) over classifier and adversary
  sup step   no unlabelled data: forward, cross-entropy, backward, Adadelta (the plain MLP step)

Data come from the TS side as raw little-endian CSR files (see baseline.ts `writeCase`), or for
`train --h5ad` straight from the .h5ad files (log1p(CPM) over each file's genes, shared genes).

  steps  --data DIR --threads N --steps N      steps/s of the sup and full step per case in DIR
  train  --data DIR/CASE | --h5ad REF TARGET   a full run: fixed epochs (default 100, no early
         --threads N [--epochs 100]            stopping), 81/9/10 split, model selection on the
                                               9% from epoch 20, then predicting the target

Each result is one JSON line on stdout. Run with OPENBLAS_NUM_THREADS=1 (and OMP/MKL): torch's
intra-op threads and OpenBLAS's own threads otherwise oversubscribe the cores. With glibc's
default malloc every 7-14 MB tensor is mmap'ed and unmapped again; GLIBC_TUNABLES=
glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295 keeps that memory
(baseline.ts measures both).
"""

import argparse
import copy
import json
import math
import os
import sys
import time

STARTED = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

CPM = 1e6


# --------------------------------------------------------------------------------------------
# Network


class Classifier(nn.Module):
    def __init__(self, n_genes, n_classes, n_hidden=256, n_blocks=3, dropout=0.5):
        super().__init__()
        layers = []
        width = n_genes
        for _ in range(n_blocks):
            layers += [
                nn.Linear(width, n_hidden),
                nn.BatchNorm1d(n_hidden),
                nn.Dropout(dropout),
                nn.ReLU(),
            ]
            width = n_hidden
        self.embed = nn.Sequential(*layers)
        self.classif = nn.Linear(n_hidden, n_classes)

    def forward(self, x):
        return self.classif(self.embed(x))


class ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.scale * grad, None


class Adversary(nn.Module):
    def __init__(self, n_hidden=256, n_domains=2, width=256):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_hidden, width), nn.ReLU(), nn.Linear(width, n_domains)
        )

    def forward(self, embedding, scale):
        return self.net(ReverseGradient.apply(embedding, scale))


def soft_cross_entropy(logits, targets):
    return -(targets * F.log_softmax(logits, dim=1)).sum(1).mean()


def sharpen(p, temperature):
    powered = p ** (1.0 / temperature)
    return powered / powered.sum(1, keepdim=True)


def log1p_drop(x, p):
    """expm1 -> zero each entry with probability p -> back to CPM -> log1p (dense rows)."""
    counts = torch.expm1(x) * (torch.rand_like(x) >= p)
    total = counts.sum(1, keepdim=True)
    scale = torch.where(total > 0, CPM / total, torch.zeros_like(total))
    return torch.log1p(counts * scale)


class Trainer:
    def __init__(self, case, seed, opts):
        torch.manual_seed(seed)
        self.case = case
        self.opts = opts
        self.model = Classifier(case["n_genes"], case["n_classes"])
        self.adversary = Adversary()
        params = list(self.model.parameters()) + list(self.adversary.parameters())
        self.optimizer = torch.optim.Adadelta(
            params, lr=opts["lr"], rho=0.9, eps=1e-6, weight_decay=opts["weight_decay"]
        )
        self.beta = torch.distributions.Beta(opts["mixup_alpha"], opts["mixup_alpha"])

    def sup_step(self, rows_l):
        """Plain supervised step (what training without unlabelled data does)."""
        c = self.case
        x = c["xl"][rows_l]
        y = F.one_hot(c["labels"][rows_l], c["n_classes"]).float()
        self.model.train()
        loss = soft_cross_entropy(self.model(x), y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return float(loss)

    def full_step(self, rows_l, rows_u, w_unsup, w_dan, phases=None):
        c, o = self.case, self.opts
        t0 = time.perf_counter()
        x_l = c["xl"][rows_l]
        y_l = F.one_hot(c["labels"][rows_l], c["n_classes"]).float()
        x_u = c["xu"][rows_u]

        # Teacher: the current weights in eval mode, no gradient.
        self.model.eval()
        with torch.no_grad():
            probs = F.softmax(self.model(x_u), dim=1)
        self.model.train()
        confidence = probs.max(1).values
        pseudo = sharpen(probs, o["temperature"])
        confident = confidence >= o["min_confidence"]
        n_conf = int(confident.sum())

        x_l_aug = log1p_drop(x_l, o["drop_rate"])
        mix_x = torch.cat([x_u[confident], x_l_aug])
        mix_y = torch.cat([pseudo[confident], y_l])
        n = mix_x.shape[0]
        perm = torch.randperm(n)
        gamma = self.beta.sample((n, 1))
        gamma = torch.maximum(gamma, 1 - gamma)
        mix_x = gamma * mix_x + (1 - gamma) * mix_x[perm]
        mix_y = gamma * mix_y + (1 - gamma) * mix_y[perm]
        x_u_mix = torch.cat([mix_x[:n_conf], x_u[~confident]])
        y_u_mix = torch.cat([mix_y[:n_conf], pseudo[~confident]])
        mask = torch.cat([torch.ones(n_conf), torch.zeros(x_u.shape[0] - n_conf)])
        dan_x = torch.cat([x_l_aug, x_u])
        dan_y = F.one_hot(
            torch.cat([c["domains_l"][rows_l], c["domains_u"][rows_u]]), o["n_domains"]
        ).float()
        t1 = time.perf_counter()

        sup = soft_cross_entropy(self.model(mix_x[n_conf:]), mix_y[n_conf:])
        unsup_rows = ((F.softmax(self.model(x_u_mix), dim=1) - y_u_mix) ** 2).sum(1)
        unsup = (unsup_rows * mask).mean()
        dan = soft_cross_entropy(self.adversary(self.model.embed(dan_x), w_dan), dan_y)
        loss = sup + w_unsup * unsup + dan
        t2 = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        t3 = time.perf_counter()
        self.optimizer.step()
        t4 = time.perf_counter()
        if phases is not None:
            names = ("prep", "forward", "backward", "optimizer")
            for key, dt in zip(names, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                phases[key] = phases.get(key, 0.0) + dt
        return float(loss)

    @torch.no_grad()
    def evaluate(self, x, labels):
        if x.shape[0] == 0:
            return float("nan"), float("nan")
        self.model.eval()
        logits = self.model(x)
        self.model.train()
        loss = float(F.cross_entropy(logits, labels, reduction="sum")) / x.shape[0]
        return loss, float((logits.argmax(1) == labels).float().mean())


DEFAULTS = {
    "lr": 1.0,
    "weight_decay": 1e-4,
    "mixup_alpha": 0.3,
    "temperature": 0.5,
    "min_confidence": 0.0,
    "drop_rate": 0.1,
    "n_domains": 2,
    "batch_size": 256,
    "epochs": 100,
    "ramp_epochs": 100,
    "unsup_max": 1.0,
    "dan_ramp_epochs": 20,
    "dan_max": 0.1,
    "min_epochs": 20,
}


# --------------------------------------------------------------------------------------------
# Data


def dense_from_csr(directory, prefix, n_rows, n_cols):
    indptr = np.fromfile(os.path.join(directory, f"{prefix}.indptr.bin"), dtype="<i4")
    indices = np.fromfile(os.path.join(directory, f"{prefix}.indices.bin"), dtype="<i4")
    data = np.fromfile(os.path.join(directory, f"{prefix}.data.bin"), dtype="<f4")
    dense = np.zeros((n_rows, n_cols), dtype=np.float32)
    rows = np.repeat(np.arange(n_rows), np.diff(indptr))
    dense[rows, indices] = data
    return torch.from_numpy(dense)


def read_case(directory):
    """A case written by baseline.ts: CSR matrices densified once (small data fits)."""
    with open(os.path.join(directory, "meta.json")) as f:
        meta = json.load(f)
    n_genes = meta["nGenes"]
    labels = np.fromfile(os.path.join(directory, "labels.bin"), dtype="<i4").astype(np.int64)
    return {
        "name": meta["name"],
        "n_genes": n_genes,
        "n_classes": meta["nClasses"],
        "xl": dense_from_csr(directory, "labeled", meta["nLabeled"], n_genes),
        "xu": dense_from_csr(directory, "unlabeled", meta["nUnlabeled"], n_genes),
        "labels": torch.from_numpy(labels),
        "domains_l": torch.zeros(meta["nLabeled"], dtype=torch.int64),
        "domains_u": torch.ones(meta["nUnlabeled"], dtype=torch.int64),
    }


def read_h5ad_case(reference, target, label_key):
    """As scnym-js's prepare step: log1p(CPM) over each file's genes, then the shared genes."""
    import anndata
    from scipy import sparse

    ref = anndata.read_h5ad(reference)
    tgt = anndata.read_h5ad(target)
    shared = [g for g in ref.var_names if g in set(tgt.var_names)]

    def log1p_cpm(ad):
        x = sparse.csr_matrix(ad.X, dtype=np.float32)
        totals = np.asarray(x.sum(1)).ravel()
        scale = np.where(totals > 0, CPM / np.maximum(totals, 1e-30), 0).astype(np.float32)
        x = sparse.diags(scale) @ x
        x.data = np.log1p(x.data)
        cols = ad.var_names.get_indexer(shared)
        return torch.from_numpy(np.asarray(x[:, cols].todense(), dtype=np.float32))

    cats = sorted(set(ref.obs[label_key].astype(str)))
    index = {c: i for i, c in enumerate(cats)}
    labels = np.array([index[v] for v in ref.obs[label_key].astype(str)], dtype=np.int64)
    xl, xu = log1p_cpm(ref), log1p_cpm(tgt)
    truth = None
    if label_key in tgt.obs:
        truth = np.array([index.get(v, -1) for v in tgt.obs[label_key].astype(str)])
    return {
        "name": os.path.basename(os.path.dirname(os.path.abspath(reference))),
        "n_genes": len(shared),
        "n_classes": len(cats),
        "class_names": cats,
        "xl": xl,
        "xu": xu,
        "labels": torch.from_numpy(labels),
        "domains_l": torch.zeros(xl.shape[0], dtype=torch.int64),
        "domains_u": torch.ones(xu.shape[0], dtype=torch.int64),
        "target_obs_names": list(tgt.obs_names),
        "target_truth": truth,
    }


# --------------------------------------------------------------------------------------------
# Commands


def emit(record):
    print(json.dumps(record), flush=True)


def random_batch(gen, n_rows, size):
    return torch.randint(0, n_rows, (min(size, n_rows),), generator=gen)


def bench_steps(args):
    for name in sorted(os.listdir(args.data)):
        directory = os.path.join(args.data, name)
        if not os.path.isfile(os.path.join(directory, "meta.json")):
            continue
        case = read_case(directory)
        for kind in ("sup", "full"):
            trainer = Trainer(case, args.seed, DEFAULTS)
            gen = torch.Generator().manual_seed(1)
            bs = DEFAULTS["batch_size"]
            n_l, n_u = case["xl"].shape[0], case["xu"].shape[0]

            def one(phases=None):
                rows_l = random_batch(gen, n_l, bs)
                if kind == "sup":
                    trainer.sup_step(rows_l)
                else:
                    trainer.full_step(rows_l, random_batch(gen, n_u, bs), 0.5, 0.1, phases)

            for _ in range(args.warmup):
                one()
            phases = {}
            started = time.perf_counter()
            for _ in range(args.steps):
                one(phases)
            seconds = time.perf_counter() - started
            record = {
                "kind": "steps",
                "case": case["name"],
                "step": kind,
                "threads": torch.get_num_threads(),
                "steps": args.steps,
                "stepsPerSecond": args.steps / seconds,
                "msPerStep": 1000 * seconds / args.steps,
            }
            if phases:
                record["phasesMs"] = {k: 1000 * v / args.steps for k, v in phases.items()}
            emit(record)


def linear_ramp(epoch, ramp, top):
    return top if ramp <= 0 or epoch >= ramp else top / ramp * epoch


def sigmoid_ramp(epoch, ramp, top):
    return top if ramp <= 0 or epoch >= ramp else top * math.exp(-5 * (1 - epoch / ramp) ** 2)


def bench_train(args):
    o = dict(DEFAULTS, epochs=args.epochs)
    loaded = time.perf_counter()
    if args.h5ad:
        case = read_h5ad_case(args.h5ad[0], args.h5ad[1], args.label_key)
    else:
        case = read_case(args.data)
    read_seconds = time.perf_counter() - loaded

    started = time.perf_counter()
    trainer = Trainer(case, args.seed, o)
    gen = torch.Generator().manual_seed(args.seed)
    n_u = case["xu"].shape[0]
    labeled = torch.nonzero(case["labels"] >= 0).flatten()
    order = labeled[torch.randperm(len(labeled), generator=gen)]
    n_held = len(order) // 10
    rest = order[n_held:]
    n_sel = len(rest) // 10
    rest = rest[torch.randperm(len(rest), generator=gen)]
    held, sel, train_rows = order[:n_held], rest[:n_sel], rest[n_sel:]
    bs = min(o["batch_size"], len(train_rows))
    steps_per_epoch = max(len(train_rows) // bs, 1)
    u_size = min(o["batch_size"], n_u)
    u_queue = []

    def next_unlabeled():
        nonlocal u_queue
        if not u_queue:
            perm = torch.randperm(n_u, generator=gen)
            u_queue = [perm[i : i + u_size] for i in range(0, n_u - u_size + 1, u_size)]
        return u_queue.pop(0)

    best = None
    steps = 0
    x_sel, y_sel = case["xl"][sel], case["labels"][sel]
    min_epochs = min(o["min_epochs"], o["epochs"] - 1)
    for epoch in range(o["epochs"]):
        w_u = linear_ramp(epoch, o["ramp_epochs"], o["unsup_max"])
        w_d = sigmoid_ramp(epoch, o["dan_ramp_epochs"], o["dan_max"])
        perm = train_rows[torch.randperm(len(train_rows), generator=gen)]
        for b in range(steps_per_epoch):
            trainer.full_step(perm[b * bs : (b + 1) * bs], next_unlabeled(), w_u, w_d)
            steps += 1
        val_loss, _ = trainer.evaluate(x_sel, y_sel)
        if epoch >= min_epochs and (best is None or val_loss < best[1]):
            best = (epoch, val_loss, copy.deepcopy(trainer.model.state_dict()))
    if best is not None:
        trainer.model.load_state_dict(best[2])
    _, held_acc = trainer.evaluate(case["xl"][held], case["labels"][held])
    train_seconds = time.perf_counter() - started

    predicted = time.perf_counter()
    trainer.model.eval()
    with torch.no_grad():
        probs = torch.cat([F.softmax(trainer.model(x), dim=1) for x in case["xu"].split(512)])
    confidence, codes = probs.max(1)
    if args.out and "class_names" in case:
        with open(args.out, "w") as f:
            f.write("cell,scNym,scNym_confidence\n")
            rows = zip(case["target_obs_names"], codes.tolist(), confidence.tolist())
            for cell, code, conf in rows:
                f.write(f"{cell},{case['class_names'][code]},{conf:.6f}\n")
    predict_seconds = time.perf_counter() - predicted
    truth = case.get("target_truth")
    target_acc = float((codes.numpy() == truth).mean()) if truth is not None else None
    emit(
        {
            "kind": "train",
            "case": case["name"],
            "source": "h5ad" if args.h5ad else "csr",
            "threads": torch.get_num_threads(),
            "epochs": o["epochs"],
            "steps": steps,
            "bestEpoch": best[0] if best else o["epochs"] - 1,
            "heldOutAccuracy": held_acc,
            "targetAccuracy": target_acc,
            "readSeconds": read_seconds,
            "trainSeconds": train_seconds,
            "predictSeconds": predict_seconds,
            "processSeconds": time.perf_counter() - STARTED,
        }
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["steps", "train"])
    parser.add_argument("--data", help="a directory of cases (steps) or one case (train)")
    parser.add_argument("--h5ad", nargs=2, metavar=("REFERENCE", "TARGET"))
    parser.add_argument("--label-key", default="cell_type")
    parser.add_argument("--out", help="train --h5ad: write the target's predictions as CSV")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        print("warning: OPENBLAS_NUM_THREADS is not 1: BLAS may oversubscribe", file=sys.stderr)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    if args.command == "steps":
        if not args.data:
            parser.error("steps needs --data")
        bench_steps(args)
    else:
        if not args.data and not args.h5ad:
            parser.error("train needs --data or --h5ad")
        bench_train(args)


if __name__ == "__main__":
    main()
