#!/usr/bin/python3
"""PyTorch twin of the Atomizer network, written for the speed benchmark only.

The same network as packages/model (docs/model.md section 3), parameter for
parameter: it reads the TypeScript parameter table (names and shapes, in the
order of the flat weight array), the TypeScript flat initial weights, atom batch
and targets, so both sides train the same numbers and the first loss can be
compared (bench/train-vs-torch.ts does). Like the TypeScript model, it takes the
compact atom records (value, band index, x, y, mask, day of year + the batch's
band table) and computes the fixed token encodings (docs/model.md section 2) inside
every step: the input encoding is INSIDE the timed region on both sides.

Run:  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 atomizer_torch.py config.json
(train-vs-torch.ts writes config.json and the raw arrays). Prints one JSON object.
ATOMIZER_TORCH_PROFILE=<file>: after the timed steps, one more step under torch.profiler,
its table of ops by self CPU time written to <file> (train-vs-torch passes the env on).

Config JSON: model (the TypeScript ModelConfig, encoding included), tokenDim,
batch {batchSize, maxAtoms, bands [{kind, wavelengthNm, bandwidthNm, gsdM,
channelKind}], doy [B] (null = unknown), files {value, x, y, mask: float32 [B*N];
band: int32 [B*N]}}, targetsPath (float32 [B*C]), weightsPath (float32, the flat
array), params [{name, shape}], warmup, steps, repeats, lr, flopsPerStep (the
TypeScript count, echoed back for the cross-check). Raw files are little-endian.
"""
import json
import resource
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
    """Best single-thread torch.mm GFLOP/s on size x size float32: (by wall time, by CPU time)."""
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    for _ in range(3):
        torch.mm(a, b)
    best_wall = best_cpu = 0.0
    flops = calls * 2 * size ** 3
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(calls):
            torch.mm(a, b)
        best_wall = max(best_wall, flops / (time.perf_counter() - t0) / 1e9)
        best_cpu = max(best_cpu, flops / (time.process_time() - c0) / 1e9)
    return best_wall, best_cpu


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


def fourier(u, num_bands, max_freq):
    """FF(u) [M,1] -> [M, 2F+1]: [sin(0.75 pi s_k u) | cos(...) | u], s_k = linspace(1, fmax/2, F) (section 2)."""
    if num_bands == 1:
        s = torch.ones(1)
    else:
        s = torch.linspace(1.0, max_freq / 2.0, num_bands)
    ang = u * (0.75 * math.pi * s).view(1, -1)
    return torch.cat([torch.sin(ang), torch.cos(ang), u], dim=1)


class InputStage:
    """The fixed token encodings (docs/model.md section 2) on the compact atom records, as in input-stage.ts."""

    def __init__(self, m, batch, arrays):
        enc = m["encoding"]
        self.enc = enc
        self.B, self.N = batch["batchSize"], batch["maxAtoms"]
        M = self.B * self.N
        bands = batch["bands"]
        self.value = arrays["value"].view(M, 1)
        self.x = arrays["x"].view(M, 1)
        self.y = arrays["y"].view(M, 1)
        self.mask = arrays["mask"].view(M, 1)
        self.band = arrays["band"].long()
        lo, hi, spectral, gsd = [], [], [], []
        for b in bands:
            is_spec = b["kind"] == "spectral"
            wl, bw = (b["wavelengthNm"], b["bandwidthNm"]) if is_spec else (0.0, 0.0)
            lo.append(wl - bw / 2)
            hi.append(wl + bw / 2)
            spectral.append(1.0 if is_spec else 0.0)
            gsd.append(math.log2(b["gsdM"] / enc["gsd"]["refM"]))
        self.lo = torch.tensor(lo).view(-1, 1)
        self.hi = torch.tensor(hi).view(-1, 1)
        self.is_spectral = torch.tensor(spectral).view(-1, 1)
        self.log_gsd = torch.tensor(gsd).view(-1, 1)
        kinds = m["channelKinds"]
        self.one_hot = None
        if kinds:
            oh = torch.zeros(M, len(kinds))
            for i in range(M):
                b = bands[int(self.band[i])]
                if b["kind"] == "channel" and self.mask[i, 0] != 0:
                    oh[i, kinds.index(b["channelKind"])] = 1.0
            # As input-stage.ts: the product only runs when the batch holds channel atoms.
            self.one_hot = oh if bool(oh.any()) else None
        doy = [float("nan") if d is None else d for d in batch["doy"]]
        self.doy = torch.tensor([0.0 if math.isnan(d) else d for d in doy]).view(-1, 1)
        self.known = torch.tensor([0.0 if math.isnan(d) else 1.0 for d in doy]).view(-1, 1)
        rbfs = enc["spectral"]["rbfs"]
        self.mu = torch.tensor([r["muNm"] for r in rbfs]).view(1, -1)
        self.sigma = torch.tensor([r["sigmaNm"] for r in rbfs]).view(1, -1)

    def spectral_table(self):
        mu, sigma, lo, hi = self.mu, self.sigma, self.lo, self.hi
        gauss = lambda l: torch.exp(-0.5 * ((l - mu) / sigma) ** 2)  # noqa: E731
        if self.enc["spectral"]["mode"] == "max":
            # G_k is unimodal: its max over [lo, hi] is at the point nearest mu_k.
            feat = gauss(torch.minimum(torch.maximum(mu, lo), hi))
        else:
            width = hi - lo
            s2 = sigma * math.sqrt(2)
            diff = torch.erf((hi - mu) / s2) - torch.erf((lo - mu) / s2)
            mean = sigma * math.sqrt(math.pi / 2) * diff / torch.clamp(width, min=1e-30)
            feat = torch.where(width > 0, mean, gauss(lo))
        return feat * self.is_spectral

    def __call__(self, channel_embed):
        enc = self.enc
        M = self.B * self.N
        parts = [fourier(self.value, enc["value"]["numBands"], enc["value"]["maxFreq"])]
        table = [self.spectral_table()]
        if enc["gsd"]["enabled"]:
            table.append(fourier(self.log_gsd, enc["gsd"]["numBands"], enc["gsd"]["maxFreq"]))
        per_atom = torch.cat(table, dim=1).index_select(0, self.band)
        K = len(enc["spectral"]["rbfs"])
        spectral = per_atom[:, :K]
        if self.one_hot is not None:
            spectral = spectral + self.one_hot @ channel_embed
        parts.append(spectral)
        pos = enc["position"]
        parts.append(fourier(self.x / pos["scaleM"], pos["numBands"], pos["maxFreq"]))
        parts.append(fourier(self.y / pos["scaleM"], pos["numBands"], pos["maxFreq"]))
        if enc["gsd"]["enabled"]:
            parts.append(per_atom[:, K:])
        if enc["time"]["enabled"]:
            H = enc["time"]["harmonics"]
            k = torch.arange(1, H + 1, dtype=torch.float32).view(1, -1) * (2 * math.pi / 365)
            ang = self.doy * k
            per_sample = torch.cat([torch.sin(ang), torch.cos(ang)], dim=1) * self.known
            parts.append(per_sample.view(self.B, 1, 2 * H).expand(self.B, self.N, 2 * H).reshape(M, 2 * H))
        tokens = torch.cat(parts, dim=1) * self.mask
        return tokens.view(self.B, self.N, -1)


def read_raw(path, count, what, dtype="<f4"):
    data = np.fromfile(path, dtype=dtype)
    if data.size != count:
        raise ValueError("%s: %s has %d values, expected %d" % (path, what, data.size, count))
    return torch.from_numpy(data.copy())


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: atomizer_torch.py config.json")
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    m = cfg["model"]
    if m["task"] != "multi":
        raise SystemExit("atomizer_torch.py: only task 'multi' (BCE with logits) is benchmarked")
    batch = cfg["batch"]
    B, N, T = batch["batchSize"], batch["maxAtoms"], cfg["tokenDim"]
    C = m["numClasses"]
    M = B * N

    specs = cfg["params"]
    sizes = [int(np.prod(s["shape"])) if s["shape"] else 1 for s in specs]
    total = sum(sizes)
    flat = read_raw(cfg["weightsPath"], total, "weights")
    params = {}
    at = 0
    for s, n in zip(specs, sizes):
        params[s["name"]] = flat[at:at + n].clone().view(*s["shape"]).requires_grad_(True)
        at += n
    net = Atomizer(m, params)

    files = batch["files"]
    arrays = {k: read_raw(files[k], M, k) for k in ("value", "x", "y", "mask")}
    arrays["band"] = read_raw(files["band"], M, "band", "<i4")
    stage = InputStage(m, batch, arrays)
    mask = arrays["mask"].view(B, N)
    targets = read_raw(cfg["targetsPath"], B * C, "targets").view(B, C)
    channel_embed = params.get("channel_embed")

    def loss_fn():
        tokens = stage(channel_embed)
        if tokens.shape[-1] != T:
            raise SystemExit("atomizer_torch.py: token dimension %d, expected %d" % (tokens.shape[-1], T))
        return F.binary_cross_entropy_with_logits(net.forward(tokens, mask), targets)

    opt = torch.optim.Adam(list(params.values()), lr=cfg.get("lr", 1e-4))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss.item()

    with torch.no_grad():
        first_loss = loss_fn().item()
    for _ in range(cfg.get("warmup", 3)):
        step()
    runs = []
    cpu_runs = []
    last_loss = float("nan")
    for _ in range(cfg.get("repeats", 3)):
        # Wall time, and CPU time of this process (steadier when the machine is shared).
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(cfg["steps"]):
            last_loss = step()
        runs.append((time.perf_counter() - t0) / cfg["steps"])
        cpu_runs.append((time.process_time() - c0) / cfg["steps"])
    best = min(runs)
    best_cpu = min(cpu_runs)
    profile_path = os.environ.get("ATOMIZER_TORCH_PROFILE")
    if profile_path:
        # Where a step's CPU time goes on this side (one more step, under torch.profiler).
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            step()
        with open(profile_path, "w") as f:
            f.write(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=30))
    flops = training_step_flops(m, T, B, N)
    peak_wall, peak = sgemm_peak()
    gflops = flops / best / 1e9
    print(json.dumps({
        "backend": "pytorch %s (OpenBLAS, %d thread)" % (torch.__version__, torch.get_num_threads()),
        "paramCount": total,
        "flopsPerStep": flops,
        "flopsPerStepTs": cfg.get("flopsPerStep"),
        "stepMs": best * 1e3,
        "stepMsRuns": [r * 1e3 for r in runs],
        "cpuStepMs": best_cpu * 1e3,
        "cpuStepMsRuns": [r * 1e3 for r in cpu_runs],
        "gflopsCpu": flops / best_cpu / 1e9,
        "samplesPerSec": B / best,
        "atomsPerSec": M / best,
        "gflops": gflops,
        "peakGflops": peak,
        "peakGflopsWall": peak_wall,
        "percentOfPeak": 100 * flops / best_cpu / 1e9 / peak,
        "firstLoss": first_loss,
        "lastLoss": last_loss,
        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
