"""Karma's model in PyTorch, for weights written by `karma export --format safetensors`.

    from karma_model import load
    model = load("exported/")                     # model.json + model.safetensors
    out = model(images, centres_nm, fwhm_nm)      # images [B, bands, T, T] reflectance; nothing masked
    out["reconstruction"], out["abundances"], out["endmembers"], model.encode(images, centres_nm, fwhm_nm)

The module is written from Karma's C# (src/Karma/Model) with the same parameter names, so `load_state_dict(strict=True)`
takes the exported file as it is, and `save(model, folder)` writes one Karma loads again (`karma export --format karma`
turns it into a native checkpoint). Both spectral embeddings and the adapter are covered, with or without the physics
branch, its per-pixel abundance head and its FCLS refinement (run to convergence, as Karma's inference does).
`python3 karma_model.py check FOLDER` compares this module with outputs Karma wrote to FOLDER/check.safetensors and
prints the largest differences as JSON (tests/Karma.Tests/Model/SafeTensorsTests.cs runs it).
Needs numpy and torch (Debian: python3-torch); no other package.
"""
import json
import math
import os
import struct
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

GRID_START, GRID_STEP, GRID_POINTS = 350.0, 10.0, 226
CODE_PERIODS = 32
CODE_WIDTH = 2 * CODE_PERIODS + 2

# ---- safetensors -----------------------------------------------------------------------------------------------------

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32, "I16": np.int16,
           "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def read_safetensors(path):
    """{name: tensor} and the metadata of a safetensors file (no dependency on the safetensors package)."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    metadata = header.pop("__metadata__", {})
    base, tensors = 8 + length, {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        shape = entry["shape"]
        if entry["dtype"] == "BF16":
            raw = np.frombuffer(data, np.uint16, count=(end - begin) // 2, offset=base + begin)
            array = (raw.astype(np.uint32) << 16).view(np.float32).reshape(shape)
        else:
            dtype = np.dtype(_DTYPES[entry["dtype"]])
            array = np.frombuffer(data, dtype, count=(end - begin) // dtype.itemsize, offset=base + begin).reshape(shape)
        tensors[name] = torch.from_numpy(array.copy())
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} (float32, float16, float64, int64, int32, uint8, bool) as safetensors."""
    names = {torch.float32: "F32", torch.float16: "F16", torch.float64: "F64", torch.int64: "I64", torch.int32: "I32",
             torch.uint8: "U8", torch.bool: "BOOL"}
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, tensor in tensors.items():
        blob = tensor.detach().cpu().contiguous().numpy().tobytes()
        header[name] = {"dtype": names[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(path + ".tmp", path)


# ---- band descriptions (Data/SpectralBands.cs, Model/BandEncoding.cs, Model/SpectralGrid.cs) ------------------------

def estimate_fwhm(centres):
    """Widths from spacing within each increasing run of centres, as SpectralBands.EstimateFwhm."""
    c = [float(x) for x in centres]
    runs, start = [], 0
    for i in range(1, len(c) + 1):
        if i == len(c) or not c[i] > c[i - 1]:
            runs.append((start, i))
            start = i
    fwhm = [0.0] * len(c)
    for start, end in runs:
        for i in range(start, end):
            below = c[i] - c[i - 1] if i > start else None
            above = c[i + 1] - c[i] if i + 1 < end else None
            fwhm[i] = 10.0 if below is None and above is None else above if below is None else below if above is None else (below + above) / 2
    return fwhm


def band_codes(centres, fwhm):
    """[bands, 66]: sines and cosines of the centre at 32 periods from 10 to 4000 nm, log(FWHM/10) and FWHM/100."""
    codes = np.zeros((len(centres), CODE_WIDTH), dtype=np.float64)
    for c, (lam, w) in enumerate(zip(centres, fwhm)):
        for k in range(CODE_PERIODS):
            period = 10 * math.pow(400, k / (CODE_PERIODS - 1))
            codes[c, 2 * k] = math.sin(2 * math.pi * lam / period)
            codes[c, 2 * k + 1] = math.cos(2 * math.pi * lam / period)
        codes[c, -2] = math.log(w / 10)
        codes[c, -1] = w / 100
    return torch.from_numpy(codes.astype(np.float32))


def _hat(lam, weight, row):
    x = min(max((lam - GRID_START) / GRID_STEP, 0.0), GRID_POINTS - 1.0)
    lo = min(int(math.floor(x)), GRID_POINTS - 2)
    f = x - lo
    row[lo] += weight * (1 - f)
    row[lo + 1] += weight * f


def grid_response(centres, fwhm):
    """[bands, 226]: each band's Gaussian response integrated against the 10 nm grid's hat functions, rows summing to 1."""
    response = np.zeros((len(centres), GRID_POINTS), dtype=np.float64)
    for c, (centre, w) in enumerate(zip(centres, fwhm)):
        row = response[c]
        sigma = w / (2 * math.sqrt(2 * math.log(2)))
        if sigma < 0.05 / 2.3548:
            _hat(centre, 1.0, row)
            continue
        steps = max(64, int(math.ceil(8 * sigma / min(1.0, sigma / 8))))
        h = 8 * sigma / steps
        for k in range(steps + 1):
            lam = centre - 4 * sigma + k * h
            z = (lam - centre) / sigma
            _hat(lam, math.exp(-0.5 * z * z) * (0.5 if k in (0, steps) else 1.0), row)
        row /= row.sum()
    return torch.from_numpy(response.astype(np.float32))


def position_embedding(dim, grid):
    """[1, grid², dim] fixed 2-D sine-cosine embedding (column in the first half, row in the second)."""
    quarter = dim // 4
    table = np.zeros((grid * grid, dim), dtype=np.float32)
    for r in range(grid):
        for c in range(grid):
            for k in range(quarter):
                omega = 1.0 / math.pow(10000, k / quarter)
                table[r * grid + c, k] = math.sin(c * omega)
                table[r * grid + c, quarter + k] = math.cos(c * omega)
                table[r * grid + c, 2 * quarter + k] = math.sin(r * omega)
                table[r * grid + c, 3 * quarter + k] = math.cos(r * omega)
    return torch.from_numpy(table).unsqueeze(0)


# ---- the model (Model/KarmaModel.cs and its parts) ---------------------------------------------------------------------

def patchify(images, p):
    b, c, h, w = images.shape
    return images.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1).reshape(b, (h // p) * (w // p), p * p * c)


class TransformerBlock(nn.Module):
    """Pre-norm ViT block: x + Attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        hidden = int(round(dim * mlp_ratio))
        self.heads = heads
        self.norm1, self.qkv, self.proj = nn.LayerNorm(dim), nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.norm2, self.fc1, self.fc2 = nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attention = (q @ k.transpose(-2, -1) / math.sqrt(d // self.heads)).softmax(-1)
        y = x + self.proj((attention @ v).transpose(1, 2).reshape(b, n, d))
        return y + self.fc2(F.gelu(self.fc1(self.norm2(y))))


def band_weight_generator(outputs, hidden=128):
    return nn.Sequential(OrderedDict([("fc1", nn.Linear(CODE_WIDTH, hidden)), ("gelu1", nn.GELU()), ("fc2", nn.Linear(hidden, hidden)),
                                      ("gelu2", nn.GELU()), ("fc3", nn.Linear(hidden, outputs))]))


class Generator(nn.Module):
    def __init__(self, outputs):
        super().__init__()
        self.network = band_weight_generator(outputs)

    def forward(self, codes):
        return self.network(codes)


def project_simplex(v):
    """Euclidean projection of every vector along the last dimension onto {a >= 0, sum a = 1}."""
    m = v.shape[-1]
    s = v.sort(-1, descending=True).values
    cumulative = s.cumsum(-1) - 1
    k = torch.arange(1, m + 1, dtype=v.dtype)
    rho = (s - cumulative / k > 0).sum(-1, keepdim=True).clamp_min(1)
    theta = cumulative.gather(-1, rho - 1) / rho.to(v.dtype)
    return (v - theta).clamp_min(0)


def fcls(start, gram, projection, steps):
    """FISTA with adaptive restart for min ||A a - y||^2 on the simplex, float64, each vector frozen once a step moves it < 1e-9."""
    g = gram.double()
    x = start.double()
    p = projection.double()
    eta = 1 / max(torch.linalg.eigvalsh(g).max().item(), 1e-12)
    z, t = x.clone(), torch.ones(x.shape[:-1] + (1,), dtype=torch.float64)
    done = torch.zeros_like(t, dtype=torch.bool)
    for k in range(steps):
        nxt = project_simplex(z - eta * (z @ g - p))
        uphill = ((z - nxt) * (nxt - x)).sum(-1, keepdim=True)
        converged = ((nxt - x).abs().amax(-1, keepdim=True) < 1e-9) & (k > 0)
        x_new = torch.where(done, x, nxt)
        done = done | converged
        t = torch.where(uphill > 0, torch.ones_like(t), t)
        t_next = (1 + torch.sqrt(1 + 4 * t * t)) / 2
        beta = torch.where(uphill > 0, torch.zeros_like(t), (t - 1) / t_next)
        z = torch.where(done, x_new, nxt + beta * (nxt - x))
        x, t = x_new, t_next
        if bool(done.all()):
            break
    return x.to(start.dtype)


class LinearMixingBranch(nn.Module):
    def __init__(self, decoder_dim, bands, endmembers, patch, per_pixel, pixel_features, refinement_steps):
        super().__init__()
        self.m, self.pixels = endmembers, patch * patch
        self.k = self.pixels if per_pixel else 1
        self.refinement_steps = refinement_steps if per_pixel else 0
        self.abundanceHead = nn.Sequential(OrderedDict([("fc1", nn.Linear(decoder_dim, decoder_dim // 2)), ("gelu", nn.GELU()),
                                                        ("fc2", nn.Linear(decoder_dim // 2, self.k * endmembers))]))
        self.pixelHead = None
        if per_pixel and pixel_features > 0:
            hidden = 2 * endmembers + 16
            self.pixelHead = nn.Sequential(OrderedDict([("fc1", nn.Linear(pixel_features, hidden)), ("gelu", nn.GELU()), ("fc2", nn.Linear(hidden, endmembers))]))
        self.endmemberLogits = nn.Parameter(torch.zeros(bands, endmembers))
        self.inference_steps = 300

    def endmembers(self, response=None):
        spectra = F.softplus(self.endmemberLogits)
        return spectra if response is None else response @ spectra

    def forward(self, decoder, response, features, pixels, visible):
        b, n, _ = decoder.shape
        logits = self.abundanceHead(decoder).view(b, n, self.k, self.m)
        if self.pixelHead is not None and features is not None:
            logits = logits + self.pixelHead(features)
        abundances = logits.softmax(-1)
        spectra = self.endmembers(response)
        if self.refinement_steps > 0 and pixels is not None:
            steps = self.refinement_steps if self.training else max(self.refinement_steps, self.inference_steps)
            solved = fcls(abundances, spectra.t() @ spectra, pixels @ spectra, steps)
            abundances = torch.where(visible.view(b, n, 1, 1) > 0.5, solved, abundances)
        return abundances, spectra


class KarmaModel(nn.Module):
    """KARMA for inference and fine-tuning in PyTorch; `config` is model.json's "config" object."""

    def __init__(self, config):
        super().__init__()
        c = self.config = config
        if c["spectralEmbedding"] not in ("Fixed", "Wavelength", "Adapter"):
            raise ValueError(f"this module does not implement the {c['spectralEmbedding']} spectral embedding (a compare baseline)")
        self.by_wavelength = c["spectralEmbedding"] == "Wavelength"
        self.adapter = c["spectralEmbedding"] == "Adapter"
        pixel_channels = c["bands"] if c["spectralEmbedding"] == "Fixed" else c["spectralDim"]
        head_channels = c["spectralDim"] if self.by_wavelength else c["bands"]
        p, d, dd = c["patchSize"], c["encoderDim"], c["decoderDim"]
        self.p, self.grid = p, c["tileSize"] // p
        self.patchEmbed = nn.Linear(p * p * pixel_channels, d)
        self.encoderBlocks = nn.ModuleList(TransformerBlock(d, c["encoderHeads"], c["mlpRatio"]) for _ in range(c["encoderDepth"]))
        self.encoderNorm = nn.LayerNorm(d)
        self.decoderEmbed = nn.Linear(d, dd)
        self.maskToken = nn.Parameter(torch.zeros(1, 1, dd))
        self.decoderBlocks = nn.ModuleList(TransformerBlock(dd, c["decoderHeads"], c["mlpRatio"]) for _ in range(c["decoderDepth"]))
        self.decoderNorm = nn.LayerNorm(dd)
        self.pixelHead = nn.Linear(dd, p * p * head_channels)
        if self.adapter:
            self.spectralAdapter = nn.Sequential(OrderedDict([
                ("conv1", nn.Conv1d(1, 16, 7, padding=3)), ("gelu1", nn.GELU()), ("conv2", nn.Conv1d(16, 32, 7, stride=2, padding=3)),
                ("gelu2", nn.GELU()), ("pool", nn.AdaptiveAvgPool1d(8)), ("flatten", nn.Flatten()), ("project", nn.Linear(32 * 8, c["spectralDim"]))]))
        if self.by_wavelength:
            self.spectralEmbed = Generator(c["spectralDim"])
            self.spectralHead = Generator(c["spectralDim"] + 1)
        self.physics = None
        if c["variant"] in ("Karma", "HuberLsmm"):
            self.physics = LinearMixingBranch(dd, GRID_POINTS if self.by_wavelength else c["bands"], c["endmembers"], p, c["perPixelAbundances"],
                                              pixel_channels if c["abundanceFromSpectrum"] else 0, c["abundanceRefinementSteps"])
        statistics = GRID_POINTS if self.by_wavelength else c["bands"]
        self.register_buffer("encoderPos", position_embedding(d, self.grid))
        self.register_buffer("decoderPos", position_embedding(dd, self.grid))
        self.register_buffer("bandMean", torch.zeros(statistics))
        self.register_buffer("bandStd", torch.ones(statistics))

    def context(self, bands, centres, fwhm):
        """(codes, response) for a wavelength-aware model, (None, None) for a fixed one."""
        if not self.by_wavelength:
            if bands != self.config["bands"]:
                raise ValueError(f"the model reads {self.config['bands']} bands, got {bands}")
            return None, None
        if centres is None:
            raise ValueError("a wavelength-aware model needs the bands' centre wavelengths (nm)")
        centres = [float(x) for x in centres]
        fwhm = estimate_fwhm(centres) if fwhm is None else [float(x) for x in fwhm]
        return band_codes(centres, fwhm), grid_response(centres, fwhm)

    def statistics(self, response):
        if response is None:
            return self.bandMean, self.bandStd
        return response @ self.bandMean, (response @ self.bandStd).clamp_min(1e-6)

    def spectral_features(self, images, codes, response):
        mean, std = self.statistics(response)
        standardised = (images - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)
        if self.adapter:
            b, c, t, _ = images.shape
            sequences = standardised.permute(0, 2, 3, 1).reshape(b * t * t, 1, c)
            return self.spectralAdapter(sequences).view(b, t, t, -1).permute(0, 3, 1, 2)
        if not self.by_wavelength:
            return standardised
        weights = self.spectralEmbed(codes) / codes.shape[0]
        return (standardised.permute(0, 2, 3, 1) @ weights).permute(0, 3, 1, 2)

    def encode(self, images, centres=None, fwhm=None):
        """Encoder features of every patch with nothing masked, [B, N, D] (Karma's EncodeAll)."""
        codes, response = self.context(images.shape[1], centres, fwhm)
        x = self.patchEmbed(patchify(self.spectral_features(images, codes, response), self.p)) + self.encoderPos
        for block in self.encoderBlocks:
            x = block(x)
        return self.encoderNorm(x)

    def forward(self, images, centres=None, fwhm=None, visible=None):
        """Reconstruction [B, N, P²·bands], abundances [B, N, k, M] and endmembers [bands, M]; visible [B, N] bool masks patches (default: none masked)."""
        b, c = images.shape[0], images.shape[1]
        n = self.grid * self.grid
        codes, response = self.context(c, centres, fwhm)
        features = patchify(self.spectral_features(images, codes, response), self.p)
        if visible is None:
            visible = torch.ones(b, n, dtype=torch.bool)
        x = self.patchEmbed(features) + self.encoderPos
        y = self.maskToken.expand(b, n, -1).clone()
        for i in range(b):                                   # the encoder sees each tile's visible patches only
            xi = x[i:i + 1, visible[i]]
            for block in self.encoderBlocks:
                xi = block(xi)
            y[i, visible[i]] = self.decoderEmbed(self.encoderNorm(xi))[0]
        y = y + self.decoderPos
        for block in self.decoderBlocks:
            y = block(y)
        y = self.decoderNorm(y)
        if self.by_wavelength:
            f = self.config["spectralDim"]
            hidden = self.pixelHead(y).view(b, n, self.p * self.p, f)
            generated = self.spectralHead(codes)
            mean, std = self.statistics(response)
            reconstruction = ((hidden @ generated[:, :f].t() + generated[:, f]) * std + mean).reshape(b, n, -1)
        else:
            reconstruction = self.pixelHead(y)
        out = {"reconstruction": reconstruction}
        if self.physics is not None:
            seen = visible.to(images.dtype)
            cfg = self.config
            abundances, endmembers = self.physics(
                y, response,
                features.view(b, n, self.p * self.p, -1) * seen.view(b, n, 1, 1) if cfg["abundanceFromSpectrum"] else None,
                patchify(images, self.p).view(b, n, self.p * self.p, -1) if cfg["abundanceRefinementSteps"] > 0 else None,
                seen)
            out["abundances"], out["endmembers"] = abundances, endmembers
        return out


def load(folder):
    """The model in `folder` (model.json + model.safetensors), in eval mode, weights as float32."""
    with open(os.path.join(folder, "model.json")) as f:
        meta = json.load(f)
    model = KarmaModel(meta["config"])
    tensors, _ = read_safetensors(os.path.join(folder, "model.safetensors"))
    model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
    model.meta = meta
    return model.eval()


def save(model, folder):
    """Writes `model` back as model.json + model.safetensors, a folder Karma loads (the SHA-256 is dropped: the weights changed)."""
    os.makedirs(folder, exist_ok=True)
    meta = dict(getattr(model, "meta", {"config": model.config}))
    meta.pop("weightsSha256", None)
    meta["weightsType"] = None
    meta["bandMean"], meta["bandStd"] = model.bandMean.tolist(), model.bandStd.tolist()
    write_safetensors(os.path.join(folder, "model.safetensors"), model.state_dict(), {"format": "pt", "producer": "karma_model.py"})
    with open(os.path.join(folder, "model.json"), "w") as f:
        json.dump(meta, f, indent=2)


def check(folder):
    """Largest absolute difference between this module's outputs and Karma's in folder/check.safetensors."""
    torch.set_grad_enabled(False)
    model = load(folder)
    expected, meta = read_safetensors(os.path.join(folder, "check.safetensors"))
    images = expected["input"]
    centres = json.loads(meta["centres"]) if meta.get("centres") else None
    fwhm = json.loads(meta["fwhm"]) if meta.get("fwhm") else None
    visible = expected["visible"].bool() if "visible" in expected else None
    out = model(images, centres, fwhm, visible)
    out["features"] = model.encode(images, centres, fwhm)
    return {name: float((out[name] - expected[name]).abs().max()) for name in ("features", "reconstruction", "abundances", "endmembers") if name in expected}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        print(json.dumps(check(sys.argv[2])))
    else:
        print(__doc__)
        sys.exit(2)
