#!/usr/bin/env python3
"""PyTorch peer of `sam bench`: times SGD or SAM (two-pass, davda54/sam style) training steps of
the same MLP, CNN or BatchNorm ResNet (--model resnet: `sam train --model resnet`, --width and
--blocks as there) on synthetic MNIST-shaped data, or of the same WideResNet-d-k on synthetic
32×32×3 images, and prints one JSON line.

Used by bench/run.sh only; PyTorch is a benchmark peer, never a dependency of the project.
"""
import argparse
import json
import resource
import sys
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


class BasicBlock(nn.Module):
    """ResNet's basic block, as the project's nn.NewBasicBlock: conv3×3(stride)-BN-ReLU-conv3×3-BN
    plus the shortcut (a 1×1 convolution and BN where the shape changes), then ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(y + self.shortcut(x))


def resnet(k, blocks, cin=1, classes=10):
    """The project's --model resnet: a 3×3 stem (16k channels, BN, ReLU), three stages of basic
    blocks with 16k, 32k, 64k channels (the first block of stages 2 and 3 with stride 2), global
    average pooling, a dense layer."""
    layers, c = [nn.Conv2d(cin, 16 * k, 3, 1, 1, bias=False), nn.BatchNorm2d(16 * k), nn.ReLU()], 16 * k
    for stage, width in enumerate([16 * k, 32 * k, 64 * k]):
        for b in range(blocks):
            layers.append(BasicBlock(c, width, 2 if stage > 0 and b == 0 else 1))
            c = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)]
    return nn.Sequential(*layers)


def wrn(depth, k, classes=10):
    n = (depth - 4) // 6
    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False)], 16
    for stage, width in enumerate([16 * k, 32 * k, 64 * k]):
        for b in range(n):
            layers.append(WideBlock(cin, width, 2 if stage > 0 and b == 0 else 1))
            cin = width
    layers += [nn.BatchNorm2d(cin), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def model(name, width=1, blocks=1):
    if name == "resnet":
        return resnet(width, blocks)
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


def sam_second_pass(params, opt, loss, rho):
    """SAM's second pass, davda54/sam style: with the first pass's gradients in params, move to
    w + ε (ε = ρ·g/‖g‖₂), take the gradient of loss() there into the params' .grad, and move
    back to w; the base optimizer then steps with it."""
    with torch.no_grad():
        norm = torch.norm(torch.stack([p.grad.norm(2) for p in params]), 2)
        scale = rho / (norm + 1e-12)
        eps = [p.grad * scale for p in params]
        for p, e in zip(params, eps):
            p.add_(e)
    opt.zero_grad()
    loss().backward()
    with torch.no_grad():
        for p, e in zip(params, eps):
            p.sub_(e)


class Args(argparse.ArgumentParser):
    def error(self, message):  # a user error is one line
        print("torch_bench: %s" % message, file=sys.stderr)
        sys.exit(2)


def main():
    ap = Args()
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--rho", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--width", type=int, default=1, help="resnet: widening factor k")
    ap.add_argument("--blocks", type=int, default=1, help="resnet: basic blocks per stage")
    a = ap.parse_args()
    if a.width < 1:
        ap.error("--width: must be ≥ 1, got %d" % a.width)
    if a.blocks < 1:
        ap.error("--blocks: must be ≥ 1, got %d" % a.blocks)
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    m = model(a.model, a.width, a.blocks)
    opt = torch.optim.SGD(m.parameters(), lr=a.lr)
    lossf = nn.CrossEntropyLoss()
    x = torch.randn(a.batch, 3, 32, 32) if a.model.startswith("wrn-") else torch.randn(a.batch, 1, 28, 28)
    y = torch.randint(0, 10, (a.batch,))
    params = list(m.parameters())

    def step():
        opt.zero_grad()
        lossf(m(x), y).backward()
        if a.rho > 0:
            sam_second_pass(params, opt, lambda: lossf(m(x), y), a.rho)
        opt.step()

    for _ in range(max(3, a.steps // 10)):
        step()
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    sec = time.perf_counter() - t
    print(json.dumps({"model": a.model, "parameters": sum(p.numel() for p in params), "batch": a.batch, "opt": "sgd", "rho": a.rho, "threads": a.threads,
                      "steps_per_sec": a.steps / sec, "examples_per_sec": a.steps * a.batch / sec,
                      "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
