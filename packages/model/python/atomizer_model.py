"""The Atomizer network in PyTorch, for checkpoints exported by `atomizer export`.

Self-contained (torch only): the same network and fixed input encodings as
packages/model (docs/model.md sections 2 and 3), restated from the TypeScript
(atomizer-model.ts, input-stage.ts, attention.ts, geglu.ts, attention-pool.ts).

    import atomizer_model
    model = atomizer_model.load("export-dir")          # config.json + model.safetensors
    logits = model(atoms)                              # atoms: see Atomizer.forward

The weights are a plain state_dict (nn.Linear weights [out, in]), so the module
fine-tunes like any other: model.train(), an optimizer over model.parameters(),
torch.save(model.state_dict()). Token dropout (a training-time option of the
TypeScript trainer) is not restated: forward() is the evaluation network.
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT = "atomizer-torch/1"
# Added to the attention scores of padded atoms (attention.ts MASKED_SCORE): exp() of it is 0 in float32.
MASKED_SCORE = -1e9


# ---------------------------------------------------------------- fixed encodings (docs/model.md section 2)

def fourier_omegas(num_bands, max_freq):
    """0.75 pi s_k, s_k = linspace(1, fmax/2, F) (input-stage.ts fourierOmegas), float32."""
    if num_bands == 1:
        s = [1.0]
    else:
        s = [1 + (max_freq / 2 - 1) * k / (num_bands - 1) for k in range(num_bands)]
    return torch.tensor([0.75 * math.pi * v for v in s], dtype=torch.float32)


def fourier_features(u, num_bands, max_freq):
    """FF(u): u [..., 1] -> [..., 2F+1] = [sin(omega_k u) | cos(omega_k u) | u]."""
    ang = u * fourier_omegas(num_bands, max_freq).to(u.device)
    return torch.cat([torch.sin(ang), torch.cos(ang), u], dim=-1)


def token_dim(enc):
    """Token dimension of an encoding config (tokenLayout of the tokenizer)."""
    d = 2 * enc["value"]["numBands"] + 1 + len(enc["spectral"]["rbfs"]) + 2 * (2 * enc["position"]["numBands"] + 1)
    if enc["gsd"]["enabled"]:
        d += 2 * enc["gsd"]["numBands"] + 1
    if enc["time"]["enabled"]:
        d += 2 * enc["time"]["harmonics"]
    return d


def spectral_features(bands, enc):
    """Spectral encoding [nB, K] of each band of a band table (zero rows for channel bands)."""
    rbfs = enc["spectral"]["rbfs"]
    mu = torch.tensor([r["muNm"] for r in rbfs], dtype=torch.float32).view(1, -1)
    sigma = torch.tensor([r["sigmaNm"] for r in rbfs], dtype=torch.float32).view(1, -1)
    lo, hi, is_spectral = [], [], []
    for b in bands:
        spectral = b["kind"] == "spectral"
        wl, bw = (b["wavelengthNm"], b["bandwidthNm"]) if spectral else (0.0, 0.0)
        lo.append(wl - bw / 2)
        hi.append(wl + bw / 2)
        is_spectral.append(1.0 if spectral else 0.0)
    lo = torch.tensor(lo, dtype=torch.float32).view(-1, 1)
    hi = torch.tensor(hi, dtype=torch.float32).view(-1, 1)

    def gauss(l):
        return torch.exp(((l - mu) / sigma) ** 2 * -0.5)

    if enc["spectral"]["mode"] == "max":
        # G_k is unimodal: its max over [lo, hi] is at the point of the interval nearest mu_k.
        feat = gauss(torch.minimum(torch.maximum(mu, lo), hi))
    else:
        # Mean of G_k over [lo, hi]; a zero-width band reads G_k at its centre.
        width = hi - lo
        s2 = sigma * math.sqrt(2)
        diff = torch.erf((hi - mu) / s2) - torch.erf((lo - mu) / s2)
        mean = sigma * math.sqrt(math.pi / 2) * diff / torch.clamp(width, min=1e-30)
        feat = torch.where(width > 0, mean, gauss(lo))
    return feat * torch.tensor(is_spectral, dtype=torch.float32).view(-1, 1)


# ---------------------------------------------------------------- layers (docs/model.md section 3)

class Attention(nn.Module):
    """Multi-head attention: q, k, v without bias, output with bias (attention.ts)."""

    def __init__(self, dq, dkv, heads, head_dim, d_out):
        super().__init__()
        inner = heads * head_dim
        self.heads, self.head_dim = heads, head_dim
        self.to_q = nn.Linear(dq, inner, bias=False)
        self.to_k = nn.Linear(dkv, inner, bias=False)
        self.to_v = nn.Linear(dkv, inner, bias=False)
        self.to_out = nn.Linear(inner, d_out)

    def attend(self, xq, xkv, bias=None):
        B, Lq, _ = xq.shape
        N = xkv.shape[1]
        h, dh = self.heads, self.head_dim
        # 1/sqrt(dh) folded into q, as attention.ts does.
        q = self.to_q(xq) * (1.0 / math.sqrt(dh))
        k = self.to_k(xkv)
        v = self.to_v(xkv)
        q = q.view(B, Lq, h, dh).transpose(1, 2)
        k = k.view(B, N, h, dh).transpose(1, 2)
        v = v.view(B, N, h, dh).transpose(1, 2)
        scores = q @ k.transpose(-1, -2)
        if bias is not None:
            scores = scores + bias.view(B, 1, 1, N)
        out = torch.softmax(scores, dim=-1) @ v
        return self.to_out(out.transpose(1, 2).reshape(B, Lq, h * dh))


class CrossAttention(Attention):
    """Latents attend to the tokens, pre-LN on both sides."""

    def __init__(self, d, token_dim, heads, head_dim):
        super().__init__(d, token_dim, heads, head_dim, d)
        self.norm_latents = nn.LayerNorm(d, eps=1e-5)
        self.norm_tokens = nn.LayerNorm(token_dim, eps=1e-5)

    def forward(self, z, tokens, bias):
        return self.attend(self.norm_latents(z), self.norm_tokens(tokens), bias)


class SelfAttention(Attention):
    """Latents attend to themselves, pre-LN."""

    def __init__(self, d, heads, head_dim):
        super().__init__(d, d, heads, head_dim, d)
        self.norm = nn.LayerNorm(d, eps=1e-5)

    def forward(self, z):
        h = self.norm(z)
        return self.attend(h, h)


class GEGLU(nn.Module):
    """Pre-LN GEGLU feed-forward: h = fc1(LN(x)) = [a | g], y = fc2(a * gelu(g)) (exact GELU, geglu.ts)."""

    def __init__(self, d, mult):
        super().__init__()
        self.norm = nn.LayerNorm(d, eps=1e-5)
        self.fc1 = nn.Linear(d, 2 * mult * d)
        self.fc2 = nn.Linear(mult * d, d)

    def forward(self, x):
        a, g = self.fc1(self.norm(x)).chunk(2, dim=-1)
        return self.fc2(a * F.gelu(g))


class SelfBlock(nn.Module):
    def __init__(self, d, heads, head_dim, mult):
        super().__init__()
        self.attn = SelfAttention(d, heads, head_dim)
        self.ff = GEGLU(d, mult)


class Layer(nn.Module):
    """One cross-attention + FF, then selfPerCross self-attention + FF blocks."""

    def __init__(self, m, token_dim):
        super().__init__()
        d = m["latentDim"]
        self.cross = CrossAttention(d, token_dim, m["crossHeads"], m["crossHeadDim"])
        self.cross_ff = GEGLU(d, m["ffMult"])
        self.self = nn.ModuleList([SelfBlock(d, m["selfHeads"], m["selfHeadDim"], m["ffMult"]) for _ in range(m["selfPerCross"])])

    def forward(self, z, tokens, bias):
        z = z + self.cross(z, tokens, bias)
        z = z + self.cross_ff(z)
        for blk in self.self:
            z = z + blk.attn(z)
            z = z + blk.ff(z)
        return z


class AttentionPool(nn.Module):
    """One learned query over the latents, no output projection (attention-pool.ts)."""

    def __init__(self, d):
        super().__init__()
        self.norm = nn.LayerNorm(d, eps=1e-5)
        self.query = nn.Parameter(torch.zeros(d))
        self.to_k = nn.Linear(d, d, bias=False)
        self.to_v = nn.Linear(d, d, bias=False)

    def forward(self, z):
        zn = self.norm(z)
        d = zn.shape[-1]
        scores = (self.to_k(zn) @ self.query) * (1.0 / math.sqrt(d))  # [B, L]
        w = torch.softmax(scores, dim=-1)
        return (w.unsqueeze(1) @ self.to_v(zn)).squeeze(1)  # [B, d]


class Head(nn.Module):
    def __init__(self, d, classes):
        super().__init__()
        self.norm = nn.LayerNorm(d, eps=1e-5)
        self.fc = nn.Linear(d, classes)

    def forward(self, x):
        return self.fc(self.norm(x))


class Atomizer(nn.Module):
    """The Atomizer (docs/model.md section 3) built from a ModelConfig (config.json's "model")."""

    def __init__(self, m):
        super().__init__()
        self.m = m
        self.enc = m["encoding"]
        self.token_dim = token_dim(self.enc)
        d = m["latentDim"]
        self.latents = nn.Parameter(torch.zeros(m["numLatents"], d))
        self.channel_kinds = list(m["channelKinds"])
        if self.channel_kinds:
            self.channel_embed = nn.Parameter(torch.zeros(len(self.channel_kinds), len(self.enc["spectral"]["rbfs"])))
        distinct = min(m["depth"], 2) if m["weightTying"] else m["depth"]
        self.layers = nn.ModuleList([Layer(m, self.token_dim) for _ in range(distinct)])
        self.pool = AttentionPool(d)
        self.head = Head(d, m["numClasses"])

    def tokens(self, atoms):
        """Tokens [B, N, tokenDim] of an atom batch (input-stage.ts); see forward() for `atoms`."""
        enc = self.enc
        value, band, x, y, mask, doy, bands = (atoms[k] for k in ("value", "band", "x", "y", "mask", "doy", "bands"))
        B, N = value.shape
        band = band.long()
        kinds = []
        for b in bands:
            if b["kind"] != "channel":
                kinds.append(-1)
            elif b["channelKind"] in self.channel_kinds:
                kinds.append(self.channel_kinds.index(b["channelKind"]))
            else:
                raise ValueError("band '%s' has channel kind '%s', which the model config does not know; expected one of: %s (config.json model.channelKinds)"
                                 % (b.get("name", "?"), b["channelKind"], ", ".join(self.channel_kinds) or "(none)"))
        if int(band.min()) < 0 or int(band.max()) >= len(bands):
            raise ValueError("atoms['band'] holds indices outside the band table (%d bands)" % len(bands))
        col = lambda t: t.reshape(B, N, 1).float()  # noqa: E731
        parts = [fourier_features(col(value), enc["value"]["numBands"], enc["value"]["maxFreq"])]
        spectral = spectral_features(bands, enc).to(value.device)[band]  # [B, N, K]
        kind_of_atom = torch.tensor(kinds, dtype=torch.long, device=value.device)[band]
        if self.channel_kinds:
            channel = (kind_of_atom >= 0) & (mask != 0)
            if bool(channel.any()):
                one_hot = F.one_hot(kind_of_atom.clamp(min=0), len(self.channel_kinds)).float() * channel.unsqueeze(-1).float()
                spectral = spectral + one_hot @ self.channel_embed
        parts.append(spectral)
        pos = enc["position"]
        parts.append(fourier_features(col(x) / pos["scaleM"], pos["numBands"], pos["maxFreq"]))
        parts.append(fourier_features(col(y) / pos["scaleM"], pos["numBands"], pos["maxFreq"]))
        if enc["gsd"]["enabled"]:
            g = enc["gsd"]
            u = torch.tensor([math.log2(b["gsdM"] / g["refM"]) for b in bands], dtype=torch.float32).view(-1, 1)
            parts.append(fourier_features(u, g["numBands"], g["maxFreq"]).to(value.device)[band])
        if enc["time"]["enabled"]:
            H = enc["time"]["harmonics"]
            d = doy.float().reshape(B, 1)
            known = torch.isfinite(d).float()
            d = torch.where(torch.isfinite(d), d, torch.zeros_like(d))
            k = torch.arange(1, H + 1, dtype=torch.float32, device=value.device).view(1, -1) * (2 * math.pi / 365)
            ang = d * k
            per_sample = torch.cat([torch.sin(ang), torch.cos(ang)], dim=1) * known
            parts.append(per_sample.view(B, 1, 2 * H).expand(B, N, 2 * H))
        return torch.cat(parts, dim=-1)

    def forward_tokens(self, tokens, mask):
        """Logits [B, numClasses] of tokens [B, N, tokenDim] with mask [B, N] (1 real atom, 0 padding)."""
        B = tokens.shape[0]
        bias = (1.0 - mask.float()) * MASKED_SCORE
        z = self.latents.unsqueeze(0).expand(B, -1, -1)
        for i in range(self.m["depth"]):
            layer = self.layers[1 if (self.m["weightTying"] and i >= 1) else i]
            z = layer(z, tokens, bias)
        return self.head(self.pool(z))

    def forward(self, atoms):
        """Logits [B, numClasses] of an atom batch, the AtomBatch of the TypeScript model:

        atoms = {
          "value": float [B, N]  normalised value of each atom (z-scored with config.json's bandStats),
          "band":  int   [B, N]  index into "bands",
          "x", "y": float [B, N] pixel-centre offset from the image centre, metres (x east, y north),
          "mask":  float [B, N]  1 real atom, 0 padding,
          "doy":   float [B]     day of year 1..366, NaN when unknown,
          "bands": [{"kind": "spectral", "wavelengthNm", "bandwidthNm", "gsdM"} or
                    {"kind": "channel", "channelKind": "sar-vv", "gsdM"}, ...]
        }
        Sigmoid for task 'multi', softmax for 'single' (config.json model.task).
        """
        return self.forward_tokens(self.tokens(atoms), atoms["mask"])


# ---------------------------------------------------------------- loading

_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}


def read_safetensors(path):
    """name -> tensor of a safetensors file (format: 8-byte little-endian header length, JSON header, data)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: not a safetensors file (shorter than its 8-byte header length)" % path)
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise ValueError("%s: tensor '%s' has dtype %s; expected one of %s" % (path, name, info["dtype"], ", ".join(_DTYPES)))
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[start:end]), dtype=_DTYPES[info["dtype"]]) if end > start else torch.zeros(0, dtype=_DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"]).float()
    return out


def load(directory, map_location="cpu"):
    """The exported model of `directory` (config.json + model.safetensors), in eval mode."""
    with open(os.path.join(directory, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("format") != FORMAT:
        raise ValueError("%s: format %r, expected %r (write it with atomizer export)" % (os.path.join(directory, "config.json"), cfg.get("format"), FORMAT))
    model = Atomizer(cfg["model"])
    model.load_state_dict(read_safetensors(os.path.join(directory, "model.safetensors")), strict=True)
    model.classes = cfg.get("classes", [])
    return model.to(map_location).eval()
