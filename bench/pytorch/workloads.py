#!/usr/bin/env python3
"""PyTorch's side of probegen's benchmarks: W1, W2, W5 and GEMM 256^3, as `probegen bench`
defines them (src/workloads/workloads.ts, resnet-probing.ts), timed the same way (median of
individually timed steps after warm-up).

Measurement only: probegen never runs Python. Run it with Debian's python3-torch and OpenBLAS,
threads pinned (OPENBLAS_NUM_THREADS and torch.set_num_threads, both set from --threads):

    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/pytorch/workloads.py --threads 2 --json

Each zoo workload is timed in two forms: "batched" (one op over all networks: bmm for SIRENs,
a grouped convolution for the small CNNs) and "loop" (one network at a time), since either may
be PyTorch's faster form on a CPU. bench/against-pytorch.sh runs this beside probegen.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def timed(step, warmup, reps, min_seconds):
    for _ in range(warmup):
        step()
    times = []
    start = time.perf_counter()
    while len(times) < reps or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def trainer(params, loss):
    """One training step as probegen's bench times it: gradients zeroed, loss() backward, Adam."""
    opt = torch.optim.Adam(params, lr=3e-4)

    def step():
        opt.zero_grad()
        loss().backward()
        opt.step()
    return step


def head(inp, out):
    layers = [nn.Linear(inp, 256), nn.ReLU()]
    for _ in range(4):
        layers += [nn.Linear(256, 256), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(256, out))


def deep_linear_5(channels):
    return nn.Sequential(
        nn.ConvTranspose2d(32, 128, 4, 1, 0), nn.ConvTranspose2d(128, 64, 4, 2, 1),
        nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ConvTranspose2d(32, 16, 4, 2, 1),
        nn.ConvTranspose2d(16, channels, 3, 1, 1), nn.Tanh())


def w1(form, B=32, K=64):
    g = torch.Generator().manual_seed(0)
    latents = torch.randn(K, 32, generator=g, requires_grad=True)
    gen = nn.Sequential(nn.Linear(32, 32), nn.Linear(32, 2))
    hd = head(K, 10)
    w0 = torch.rand(B, 32, 2, generator=g) * 0.1 - 0.05
    b0 = torch.rand(B, 32, generator=g) * 0.2 - 0.1
    w1_ = torch.rand(B, 32, 32, generator=g) * 0.01 - 0.005
    b1 = torch.rand(B, 32, generator=g) * 0.2 - 0.1
    w2 = torch.rand(B, 1, 32, generator=g) * 0.01 - 0.005
    b2 = torch.rand(B, 1, generator=g) * 0.2 - 0.1
    labels = torch.randint(0, 10, (B,), generator=g)

    def represent(p):
        if form == "batched":
            h = torch.sin(30 * (torch.einsum("ki,boi->bko", p, w0) + b0[:, None]))
            h = torch.sin(30 * (torch.bmm(h, w1_.transpose(1, 2)) + b1[:, None]))
            return (torch.bmm(h, w2.transpose(1, 2)) + b2[:, None] + 0.5).reshape(B, K)
        rows = []
        for n in range(B):
            h = torch.sin(30 * F.linear(p, w0[n], b0[n]))
            h = torch.sin(30 * F.linear(h, w1_[n], b1[n]))
            rows.append((F.linear(h, w2[n], b2[n]) + 0.5).reshape(K))
        return torch.stack(rows)

    params = [latents, *gen.parameters(), *hd.parameters()]
    return trainer(params, lambda: F.cross_entropy(hd(represent(gen(latents))), labels))


def w2(form, B=32, K=64):
    g = torch.Generator().manual_seed(0)
    latents = torch.randn(K, 32, 1, 1, generator=g, requires_grad=True)
    gen = deep_linear_5(1)
    hd = head(K * 10, 1)
    shapes = [(16, 1), (16, 16), (16, 16)]
    convs = [(torch.randn(B, o, i, 3, 3, generator=g) * (2 / (i * 9)) ** 0.5, torch.randn(B, o, generator=g) * 0.05) for o, i in shapes]
    fcw, fcb = torch.randn(B, 10, 16, generator=g) * (2 / 16) ** 0.5, torch.randn(B, 10, generator=g) * 0.05
    targets = torch.rand(B, 1, generator=g)

    def represent(p):
        if form == "batched":
            # Every network as a group of one grouped convolution over [K, B*C, H, W].
            h = p.repeat(1, B, 1, 1)
            for w, b in convs:
                h = F.relu(F.conv2d(h, w.reshape(-1, *w.shape[2:]), b.reshape(-1), stride=2, padding=1, groups=B))
            h = h.mean((2, 3)).reshape(K, B, 16).transpose(0, 1)
            return (torch.bmm(h, fcw.transpose(1, 2)) + fcb[:, None]).reshape(B, K * 10)
        rows = []
        for n in range(B):
            h = p
            for w, b in convs:
                h = F.relu(F.conv2d(h, w[n], b[n], stride=2, padding=1))
            rows.append(F.linear(h.mean((2, 3)), fcw[n], fcb[n]).reshape(K * 10))
        return torch.stack(rows)

    params = [latents, *gen.parameters(), *hd.parameters()]
    return trainer(params, lambda: F.mse_loss(hd(represent(gen(latents))), targets))


class ResNet18(nn.Module):
    """torchvision's ResNet-18 with the CIFAR stem (3x3 conv, no max-pool) and BatchNorm folded
    into convolutions with biases, as probegen's resnet family evaluates it."""

    def __init__(self, width):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1)
        blocks, c = [], width
        for i, out in enumerate([width, width, 2 * width, 2 * width, 4 * width, 4 * width, 8 * width, 8 * width]):
            stride = 2 if i in (2, 4, 6) else 1
            blocks.append(nn.ModuleDict({
                "conv1": nn.Conv2d(c, out, 3, stride, 1), "conv2": nn.Conv2d(out, out, 3, 1, 1),
                **({"down": nn.Conv2d(c, out, 1, stride, 0)} if stride != 1 or c != out else {})}))
            c = out
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(c, 10)

    def forward(self, x):
        h = F.relu(self.conv1(x))
        for b in self.blocks:
            y = b["conv2"](F.relu(b["conv1"](h)))
            h = F.relu(y + (b["down"](h) if "down" in b else h))
        return self.fc(h.mean((2, 3)))


def w5(B=32, K=64, width=64):
    torch.manual_seed(0)
    nets = [ResNet18(width).requires_grad_(False) for _ in range(B)]
    latents = torch.randn(K, 32, 1, 1, requires_grad=True)
    gen = deep_linear_5(3)
    hd = head(K * 10, 1)
    targets = torch.rand(B, 1)

    def loss():
        p = gen(latents)
        return F.mse_loss(hd(torch.stack([net(p).reshape(K * 10) for net in nets])), targets)
    return trainer([latents, *gen.parameters(), *hd.parameters()], loss)


def gemm(n=256):
    g = torch.Generator().manual_seed(3)
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    c = torch.empty(n, n)
    seconds = timed(lambda: torch.mm(a, b, out=c), 5, 20, 0.5)
    return 2 * n ** 3 / seconds / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--only", default="w1,w2,w3", help="comma-separated subset of w1,w2,w3,w5")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    only = set(args.only.split(","))
    out = {"torch": torch.__version__, "threads": args.threads}
    with torch.no_grad():
        if "w3" in only:
            out["gemm256GFlops"] = gemm()
    for name, make, reps in (("w1", w1, (30, 50, 3.0)), ("w2", w2, (3, 10, 5.0))):
        if name not in only:
            continue
        for form in ("batched", "loop"):
            out[f"{name}_{form}_stepsPerSec"] = 1 / timed(make(form), *reps)
    if "w5" in only:
        out["w5_loop_stepSeconds"] = timed(w5(), 1, 1, 0)
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:28} {v:.2f}" if isinstance(v, float) else f"{k:28} {v}")


if __name__ == "__main__":
    main()
