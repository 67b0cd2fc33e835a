"""PyTorch peer of one Karma training step, for bench/Karma.Bench to time side by side.

The same architecture as src/Karma/Model (pre-norm ViT-MAE, encoder on visible tokens only, fixed 2-D
sin-cos positions, pixel head, LSMM branch with softmax abundances and softplus endmembers), the same loss
(Huber + 0.1·SAM + physics consistency on all patches) and the same step (flip/rotate augmentation, random
75% masking, forward, backward, gradient clipping at 1, AdamW with the same parameter groups, and the
loss values read back to the host as Karma's step log does). Debian's PyTorch 1.13 has no public
scaled_dot_product_attention, so attention is written out.

Usage: python3 karma_step.py '{"encoderDim":128, ...}'   (the bench passes the JSON; prints one JSON line)
"""
import ctypes, json, math, os, statistics, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F


def sincos_2d(dim, grid):
    quarter = dim // 4
    omega = 1.0 / (10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter))
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float64), torch.arange(grid, dtype=torch.float64), indexing="ij")
    out = [torch.sin(ys.reshape(-1, 1) * omega), torch.cos(ys.reshape(-1, 1) * omega),
           torch.sin(xs.reshape(-1, 1) * omega), torch.cos(xs.reshape(-1, 1) * omega)]
    pe = torch.cat(out, 1)
    if pe.shape[1] < dim:
        pe = F.pad(pe, (0, dim - pe.shape[1]))
    return pe.float().unsqueeze(0)


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        hidden = round(dim * mlp_ratio)
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attn = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.heads), -1)
        x = x + self.proj((attn @ v).transpose(1, 2).reshape(b, n, d))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        p, bands, d, dd = c["patchSize"], c["bands"], c["encoderDim"], c["decoderDim"]
        self.grid = c["tileSize"] // p
        self.tokens = self.grid * self.grid
        self.visible = self.tokens - int(math.floor(c["maskRatio"] * self.tokens + 0.5))
        values = p * p * bands
        self.patch_embed = nn.Linear(values, d)
        self.encoder = nn.ModuleList(Block(d, c["encoderHeads"], c["mlpRatio"]) for _ in range(c["encoderDepth"]))
        self.encoder_norm = nn.LayerNorm(d)
        self.decoder_embed = nn.Linear(d, dd)
        self.mask_token = nn.Parameter(torch.randn(1, 1, dd) * 0.02)
        self.decoder = nn.ModuleList(Block(dd, c["decoderHeads"], c["mlpRatio"]) for _ in range(c["decoderDepth"]))
        self.decoder_norm = nn.LayerNorm(dd)
        self.pixel_head = nn.Linear(dd, values)
        self.physics = c["variant"] in ("karma", "huberlsmm")
        if self.physics:
            self.per_token = p * p if c["perPixelAbundances"] else 1
            self.abundance_head = nn.Sequential(nn.Linear(dd, dd // 2), nn.GELU(), nn.Linear(dd // 2, self.per_token * c["endmembers"]))
            self.endmember_logits = nn.Parameter(torch.rand(bands, c["endmembers"]) * 0.55 + 0.05)
        self.register_buffer("encoder_pos", sincos_2d(d, self.grid))
        self.register_buffer("decoder_pos", sincos_2d(dd, self.grid))
        self.register_buffer("band_mean", torch.zeros(bands))
        self.register_buffer("band_std", torch.ones(bands))

    def patchify(self, images):
        b, ch, h, w = images.shape
        p = self.c["patchSize"]
        return images.reshape(b, ch, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1).reshape(b, (h // p) * (w // p), p * p * ch)

    def forward(self, images, shuffle, restore):
        b = images.shape[0]
        x = (images - self.band_mean.view(1, -1, 1, 1)) / self.band_std.view(1, -1, 1, 1)
        keep = shuffle[:, :self.visible]
        # Only the visible patches are embedded, rows taken with one index_select, as Karma does (same values as embedding
        # every patch and gathering the visible ones, with 75% less work).
        rows = (keep + torch.arange(b, device=keep.device).unsqueeze(1) * self.tokens).reshape(-1)
        tokens = self.patchify(x)
        seen = tokens.reshape(b * self.tokens, -1).index_select(0, rows).view(b, self.visible, -1)
        x = self.patch_embed(seen) + self.encoder_pos[0].index_select(0, keep.reshape(-1)).view(b, self.visible, -1)
        for blk in self.encoder:
            x = blk(x)
        y = self.decoder_embed(self.encoder_norm(x))
        filler = self.mask_token.expand(b, self.tokens - self.visible, y.shape[-1])
        y = torch.cat([y, filler], 1).gather(1, restore.unsqueeze(-1).expand(b, self.tokens, y.shape[-1])) + self.decoder_pos
        for blk in self.decoder:
            y = blk(y)
        y = self.decoder_norm(y)
        recon = self.pixel_head(y)
        if not self.physics:
            return recon, None, None
        m = self.c["endmembers"]
        abundances = self.abundance_head(y).view(b, self.tokens, self.per_token, m).softmax(-1)
        a = F.softplus(self.endmember_logits)
        mixed = abundances @ a.t()
        if self.per_token == 1:
            mixed = mixed.expand(b, self.tokens, self.c["patchSize"] ** 2, a.shape[0])
        return recon, mixed.reshape(b, self.tokens, -1), abundances


def spectral_angle(a, b, eps=1e-12):
    ua = a / (a.square().sum(-1, keepdim=True) + eps).sqrt()
    ub = b / (b.square().sum(-1, keepdim=True) + eps).sqrt()
    return 2 * torch.atan2(((ua - ub).square().sum(-1) + eps).sqrt(), ((ua + ub).square().sum(-1) + eps).sqrt())


def loss_terms(model, recon, phys, target, mask):
    c = model.c
    b, n = target.shape[:2]
    pixels = c["patchSize"] ** 2

    def per_token(t, w):
        return (t.view(b, n, -1).mean(-1) * w).sum() / w.sum().clamp_min(1)

    huber = per_token(F.huber_loss(recon, target, reduction="none", delta=1.0), mask)
    total = huber
    sam = physics = None
    if c["variant"] in ("karma", "hubersam"):
        sam = per_token(spectral_angle(recon.view(b, n, pixels, -1), target.view(b, n, pixels, -1)), mask)
        total = total + 0.1 * sam
    if phys is not None:
        physics = per_token((phys - target).square(), torch.ones_like(mask))
        total = total + physics
    return total, huber, sam, physics


def blas_in_use():
    """Which BLAS library this process mapped, and OpenBLAS's kernel family when it is OpenBLAS."""
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if "blas" in line.lower() and ".so" in line})
    core = None
    for lib in libs:
        if "openblas" in lib:
            try:
                core = ctypes.CDLL(lib).openblas_get_corename
                core.restype = ctypes.c_char_p
                core = core().decode()
            except (OSError, AttributeError):
                core = None
    return {"libraries": libs, "openblasCore": core}


def main():
    c = json.loads(sys.argv[1])
    torch.set_num_threads(c["threads"])
    torch.manual_seed(0)
    model = Model(c)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "mask_token" not in n and "endmember" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "mask_token" not in n and "endmember" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.999))
    gen = torch.Generator().manual_seed(1)
    tiles = torch.rand(max(c["batch"], 16), c["bands"], c["tileSize"], c["tileSize"], generator=gen) * 0.5

    def step(i):
        idx = torch.randperm(tiles.shape[0], generator=gen)[: c["batch"]]
        turned = []
        for j in idx.tolist():
            k = int(torch.randint(8, (1,), generator=gen))
            t = torch.rot90(tiles[j], k % 4, (1, 2))
            turned.append(t.flip(2) if k >= 4 else t)
        images = torch.stack(turned)
        noise = torch.rand(c["batch"], model.tokens, generator=gen)
        shuffle = noise.argsort(1)
        restore = shuffle.argsort(1)
        mask = torch.ones(c["batch"], model.tokens)
        mask[:, : model.visible] = 0
        mask = mask.gather(1, restore)
        opt.zero_grad()
        recon, phys, abundances = model(images, shuffle, restore)
        total, huber, sam, physics = loss_terms(model, recon, phys, model.patchify(images), mask)
        total.backward()
        norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0))
        opt.step()
        logged = [float(t) for t in (total, huber, sam, physics) if t is not None]
        if abundances is not None:
            flat = abundances.detach().reshape(-1, abundances.shape[-1])
            logged += [float(flat.std(0).mean()), float(-(flat * (flat + 1e-12).log()).sum(1).mean())]
        return norm, logged

    for i in range(c["warmup"]):
        step(i)
    samples = []
    for i in range(c["repetitions"]):
        t0 = time.perf_counter()
        step(i)
        samples.append((time.perf_counter() - t0) * 1000)

    def matmul_peak(n, dtype):
        a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
        a @ b
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - t0)
        return 2.0 * n ** 3 / statistics.median(times) / 1e9

    print(json.dumps({
        "torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_in_use(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "medianMs": statistics.median(samples), "minMs": min(samples), "maxMs": max(samples), "samplesMs": samples,
        "matmulGflops": {"float32": matmul_peak(c.get("matmulSize", 2048), torch.float32),
                         # bf16 only where the CPU has it natively: emulated, one product takes minutes.
                         "bfloat16": matmul_peak(c.get("matmulSize", 2048), torch.bfloat16) if c.get("bf16") else None},
        "environment": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "OMP_WAIT_POLICY")},
    }))


if __name__ == "__main__":
    main()
