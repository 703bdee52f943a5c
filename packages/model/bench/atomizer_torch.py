#!/usr/bin/python3
"""PyTorch twin of the Atomizer network, written for the speed benchmark only.

The same network as packages/model (ATOMIZER.md section 3), parameter for
parameter: it reads the TypeScript parameter table (names and shapes, in the
order of the flat weight array) and, when given, the TypeScript flat initial
weights, token batch, mask and targets, so both sides train the same numbers
and the first loss can be compared. It takes precomputed tokens [B, N, tokenDim]
+ mask: the fixed input encoding (ATOMIZER.md section 2) is OUTSIDE the timed
region here, as it is on the TypeScript side of bench/train-vs-torch.ts.

Run:  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 atomizer_torch.py config.json
(train-vs-torch.ts writes config.json). Prints one JSON object on stdout.

Config JSON fields: model {numLatents, latentDim, depth, crossHeads, crossHeadDim,
selfHeads, selfHeadDim, selfPerCross, ffMult, weightTying, numClasses, task},
tokenDim, batch, atoms, warmup, steps, repeats, lr, seed, params [{name, shape}],
and optional file paths (raw little-endian float32): weightsPath, tokensPath,
maskPath, targetsPath; optional flopsPerStep (the TypeScript count, echoed back
for the cross-check).
"""
import json
import math
import os
import sys
import time

# One BLAS thread, set before torch loads OpenBLAS (the pthread build reads it at load).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)


def training_step_flops(m, token_dim, batch, atoms):
    """Matmul FLOPs of one training step: 3 x forward (backward = dX + dW products).

    Mirrors trainingStepFlops() of packages/model/src/flops.ts term by term; the
    benchmark checks both give the same number.
    """
    L, d = m["numLatents"], m["latentDim"]
    ic = m["crossHeads"] * m["crossHeadDim"]
    is_ = m["selfHeads"] * m["selfHeadDim"]
    N, T, mult = atoms, token_dim, m["ffMult"]
    cross = 2 * L * d * ic + 2 * 2 * N * T * ic + 2 * 2 * L * N * ic + 2 * L * ic * d
    ff = 2 * L * d * (2 * mult * d) + 2 * L * (mult * d) * d
    self_ = 3 * 2 * L * d * is_ + 2 * 2 * L * L * is_ + 2 * L * is_ * d
    layer = cross + ff + m["selfPerCross"] * (self_ + ff)
    pool = 2 * 2 * L * d * d + 2 * 2 * L * d
    head = 2 * d * m["numClasses"]
    forward = batch * (m["depth"] * layer + pool + head)
    return 3 * forward


def sgemm_peak(size=1024, calls=10, repeats=5):
    """Best single-thread torch.mm GFLOP/s on size x size float32 (the core's measured peak)."""
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    for _ in range(3):
        torch.mm(a, b)
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            torch.mm(a, b)
        dt = time.perf_counter() - t0
        best = max(best, calls * 2 * size ** 3 / dt / 1e9)
    return best


class Atomizer:
    """The network as a function of a name -> tensor dict (layouts as in TypeScript: x @ W, W is [in, out])."""

    def __init__(self, m, params):
        self.m = m
        self.p = params

    def layer_norm(self, x, prefix):
        return F.layer_norm(x, (x.shape[-1],), self.p[prefix + ".gamma"], self.p[prefix + ".beta"], 1e-5)

    def attention(self, xq, xkv, prefix, heads, head_dim, bias):
        p = self.p
        B, Lq, _ = xq.shape
        N = xkv.shape[1]
        q = (xq @ p[prefix + ".wq"]) * (1.0 / math.sqrt(head_dim))
        k = xkv @ p[prefix + ".wk"]
        v = xkv @ p[prefix + ".wv"]
        q = q.view(B, Lq, heads, head_dim).transpose(1, 2)
        k = k.view(B, N, heads, head_dim).transpose(1, 2)
        v = v.view(B, N, heads, head_dim).transpose(1, 2)
        scores = q @ k.transpose(-1, -2)
        if bias is not None:
            scores = scores + bias  # [B, 1, 1, N]: 0 or a large negative for padded keys
        out = torch.softmax(scores, dim=-1) @ v
        out = out.transpose(1, 2).reshape(B, Lq, heads * head_dim)
        return out @ p[prefix + ".wo"] + p[prefix + ".bo"]

    def geglu(self, x, prefix):
        p = self.p
        h = x @ p[prefix + ".w1"] + p[prefix + ".b1"]
        a, g = h.chunk(2, dim=-1)
        return (a * F.gelu(g)) @ p[prefix + ".w2"] + p[prefix + ".b2"]

    def forward(self, tokens, mask):
        m, p = self.m, self.p
        B = tokens.shape[0]
        bias = ((1.0 - mask) * -1e9).view(B, 1, 1, -1)
        z = p["latents"].unsqueeze(0).expand(B, -1, -1)
        for i in range(m["depth"]):
            li = 1 if (m["weightTying"] and i >= 1) else i
            pre = "layers.%d" % li
            zn = self.layer_norm(z, pre + ".cross.norm_latents")
            tn = self.layer_norm(tokens, pre + ".cross.norm_tokens")
            z = z + self.attention(zn, tn, pre + ".cross", m["crossHeads"], m["crossHeadDim"], bias)
            z = z + self.geglu(self.layer_norm(z, pre + ".cross_ff.norm"), pre + ".cross_ff")
            for j in range(m["selfPerCross"]):
                s = "%s.self.%d" % (pre, j)
                zn = self.layer_norm(z, s + ".attn.norm")
                z = z + self.attention(zn, zn, s + ".attn", m["selfHeads"], m["selfHeadDim"], None)
                z = z + self.geglu(self.layer_norm(z, s + ".ff.norm"), s + ".ff")
        # Attention pooling: one learned query over the L latents, no output projection.
        zn = self.layer_norm(z, "pool.norm")
        d = m["latentDim"]
        k = zn @ p["pool.wk"]
        scores = (k @ p["pool.query"]).squeeze(-1) * (1.0 / math.sqrt(d))  # [B, L]
        w = torch.softmax(scores, dim=-1)
        v = zn @ p["pool.wv"]
        pooled = (w.unsqueeze(1) @ v).squeeze(1)  # [B, d]
        return self.layer_norm(pooled, "head.norm") @ p["head.w"] + p["head.b"]


def read_f32(path, count, what):
    data = np.fromfile(path, dtype="<f4")
    if data.size != count:
        raise ValueError("%s: %s has %d float32 values, expected %d" % (path, what, data.size, count))
    return torch.from_numpy(data.copy())


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: atomizer_torch.py config.json")
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    m = cfg["model"]
    B, N, T = cfg["batch"], cfg["atoms"], cfg["tokenDim"]
    C = m["numClasses"]
    torch.manual_seed(cfg.get("seed", 0))

    specs = cfg["params"]
    sizes = [int(np.prod(s["shape"])) if s["shape"] else 1 for s in specs]
    total = sum(sizes)
    if cfg.get("weightsPath"):
        flat = read_f32(cfg["weightsPath"], total, "weights")
    else:
        flat = torch.randn(total) * 0.02
    params = {}
    at = 0
    for s, n in zip(specs, sizes):
        params[s["name"]] = flat[at:at + n].clone().view(*s["shape"]).requires_grad_(True)
        at += n
    net = Atomizer(m, params)

    if cfg.get("tokensPath"):
        tokens = read_f32(cfg["tokensPath"], B * N * T, "tokens").view(B, N, T)
        mask = read_f32(cfg["maskPath"], B * N, "mask").view(B, N)
        targets = read_f32(cfg["targetsPath"], B * C, "targets").view(B, C)
    else:
        tokens = torch.randn(B, N, T)
        mask = torch.ones(B, N)
        targets = (torch.rand(B, C) < 0.2).float()

    if m["task"] != "multi":
        raise SystemExit("atomizer_torch.py: only task 'multi' (BCE with logits) is benchmarked")

    # The channel embedding table is used by the input stage only (outside this net):
    # it is still a parameter the optimizer updates, as on the TypeScript side.
    opt = torch.optim.Adam(list(params.values()), lr=cfg.get("lr", 1e-4))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.binary_cross_entropy_with_logits(net.forward(tokens, mask), targets)
        loss.backward()
        opt.step()
        return loss.item()

    with torch.no_grad():
        first_loss = F.binary_cross_entropy_with_logits(net.forward(tokens, mask), targets).item()
    for _ in range(cfg.get("warmup", 3)):
        step()
    runs = []
    last_loss = float("nan")
    for _ in range(cfg.get("repeats", 3)):
        t0 = time.perf_counter()
        for _ in range(cfg["steps"]):
            last_loss = step()
        runs.append((time.perf_counter() - t0) / cfg["steps"])
    best = min(runs)
    flops = training_step_flops(m, T, B, N)
    peak = sgemm_peak()
    gflops = flops / best / 1e9
    print(json.dumps({
        "backend": "pytorch %s (OpenBLAS, %d thread)" % (torch.__version__, torch.get_num_threads()),
        "paramCount": total,
        "flopsPerStep": flops,
        "flopsPerStepTs": cfg.get("flopsPerStep"),
        "stepMs": best * 1e3,
        "stepMsRuns": [r * 1e3 for r in runs],
        "samplesPerSec": B / best,
        "atomsPerSec": B * N / best,
        "gflops": gflops,
        "peakGflops": peak,
        "percentOfPeak": 100 * gflops / peak,
        "firstLoss": first_loss,
        "lastLoss": last_loss,
    }))


if __name__ == "__main__":
    main()
