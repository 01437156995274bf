#!/usr/bin/env python3
"""PyTorch peer of `sam bench`: times SGD or SAM (two-pass, davda54/sam style) training steps of
the same MLP or CNN on synthetic MNIST-shaped data, or of the same WideResNet-d-k on synthetic
32×32×3 images, and prints one JSON line.

Used by bench/run.sh only; PyTorch is a benchmark peer, never a dependency of the project.
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn


class WideBlock(nn.Module):
    """WideResNet's pre-activation block: BN-ReLU-conv3×3-BN-ReLU-conv3×3 plus the input, the
    shortcut a 1×1 convolution of the first BN-ReLU output where the shape changes (as the
    project's --model wrn)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(cin), nn.BatchNorm2d(cout)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.short = None if cin == cout and stride == 1 else nn.Conv2d(cin, cout, 1, stride, 0, bias=False)

    def forward(self, x):
        a = torch.relu(self.bn1(x))
        y = self.conv2(torch.relu(self.bn2(self.conv1(a))))
        return y + (x if self.short is None else self.short(a))


def wrn(depth, k, classes=10):
    n = (depth - 4) // 6
    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False)], 16
    for stage, width in enumerate([16 * k, 32 * k, 64 * k]):
        for b in range(n):
            layers.append(WideBlock(cin, width, 2 if stage > 0 and b == 0 else 1))
            cin = width
    layers += [nn.BatchNorm2d(cin), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def model(name):
    if name.startswith("wrn-"):  # wrn-DEPTH-WIDTH
        _, d, k = name.split("-")
        return wrn(int(d), int(k))
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                             nn.Linear(256, 10))
    if name == "cnn":
        return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    raise SystemExit("unknown model " + name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--rho", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--lr", type=float, default=0.01)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    m = model(a.model)
    opt = torch.optim.SGD(m.parameters(), lr=a.lr)
    lossf = nn.CrossEntropyLoss()
    x = torch.randn(a.batch, 3, 32, 32) if a.model.startswith("wrn-") else torch.randn(a.batch, 1, 28, 28)
    y = torch.randint(0, 10, (a.batch,))
    params = list(m.parameters())

    def step():
        opt.zero_grad()
        lossf(m(x), y).backward()
        if a.rho > 0:
            with torch.no_grad():
                norm = torch.norm(torch.stack([p.grad.norm(2) for p in params]), 2)
                scale = a.rho / (norm + 1e-12)
                eps = [p.grad * scale for p in params]
                for p, e in zip(params, eps):
                    p.add_(e)
            opt.zero_grad()
            lossf(m(x), y).backward()
            with torch.no_grad():
                for p, e in zip(params, eps):
                    p.sub_(e)
        opt.step()

    for _ in range(max(3, a.steps // 10)):
        step()
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    sec = time.perf_counter() - t
    print(json.dumps({"model": a.model, "batch": a.batch, "opt": "sgd", "rho": a.rho, "threads": a.threads,
                      "steps_per_sec": a.steps / sec, "examples_per_sec": a.steps * a.batch / sec,
                      "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
