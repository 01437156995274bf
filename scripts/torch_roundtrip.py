#!/usr/bin/env python3
"""Rebuild a sam model in PyTorch, load its model.safetensors and compute its logits.

    python3 scripts/torch_roundtrip.py runs/x/model.safetensors input.csv            # logits CSV on stdout
    python3 scripts/torch_roundtrip.py runs/x/model.safetensors input.csv --compare preds.csv

input.csv has a header row naming the model's training columns (any order, extra columns
ignored), as for `sam predict`. The preprocessing stored in the checkpoint (per-feature mean and
1/std) is applied, the rows are reshaped to the model's input shape, and the model runs in
evaluation mode. With --compare it reads the output of `sam predict --logits` for the same file
and prints the largest absolute difference of the logits (exit status 1 above --tol).

The checkpoint is read with the safetensors package when it is installed, else with plain
Python (an 8-byte little-endian header length, a JSON header, raw little-endian float32 data).
"""
import argparse
import csv
import json
import struct
import sys

import torch
from torch import nn


def read_safetensors(path):
    """Returns ({name: float32 tensor}, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, e in header.items():
        if e["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} has dtype {e['dtype']}, want F32")
        lo, hi = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[lo:hi]), dtype=torch.float32) if hi > lo else torch.zeros(0)
        tensors[name] = t.reshape(e["shape"]).clone()
    return tensors, meta


def load(path):
    try:
        from safetensors.torch import load_file
        from safetensors import safe_open
        with safe_open(path, framework="pt") as f:
            meta = f.metadata()
        return load_file(path), meta
    except ImportError:
        return read_safetensors(path)


ACT = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


class BasicBlock(nn.Module):
    """sam's basic block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(y + self.shortcut(x))


class Net(nn.Module):
    """The architectures of nn.Build (nn/model.go), with the same parameter names."""

    def __init__(self, spec):
        super().__init__()
        self.kind = spec["model"]
        inp, out = spec["input"], spec["outputs"]
        d = 1
        for v in inp:
            d *= v
        if self.kind in ("linear", "logistic"):
            self.linear = nn.Linear(d, out)
        elif self.kind == "mlp":
            widths = [d] + spec["hidden"]
            act = ACT[spec.get("activation") or "relu"]
            for i in range(len(spec["hidden"])):
                setattr(self, f"fc{i + 1}", nn.Linear(widths[i], widths[i + 1]))
            setattr(self, f"fc{len(widths)}", nn.Linear(widths[-1], out))
            self.act = act()
            self.depth = len(widths)
        elif self.kind == "cnn":
            c, h, w = inp
            self.conv1 = nn.Conv2d(c, 32, 3, 1, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1, 1)
            self.fc1 = nn.Linear(64 * (h // 2 // 2) * (w // 2 // 2), 128)
            self.fc2 = nn.Linear(128, out)
        elif self.kind == "resnet":
            k, blocks = max(spec.get("width", 1), 1), max(spec.get("blocks", 1), 1)
            self.conv1 = nn.Conv2d(inp[0], 16 * k, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16 * k)
            cin = 16 * k
            for s, width in enumerate([16 * k, 32 * k, 64 * k]):
                for b in range(blocks):
                    stride = 2 if s > 0 and b == 0 else 1
                    # registered as layer{s+1}.{b}, like nn.Build's names
                    self.add_module(f"layer{s + 1}", getattr(self, f"layer{s + 1}", nn.Sequential()))
                    getattr(self, f"layer{s + 1}").add_module(str(b), BasicBlock(cin, width, stride))
                    cin = width
            self.fc = nn.Linear(cin, out)
        else:
            raise SystemExit(f"unknown model {self.kind}")
        self.input = inp

    def forward(self, x):
        x = x.reshape([x.shape[0]] + list(self.input))
        if self.kind in ("linear", "logistic"):
            return self.linear(x.flatten(1))
        if self.kind == "mlp":
            x = x.flatten(1)
            for i in range(1, self.depth):
                x = self.act(getattr(self, f"fc{i}")(x))
            return getattr(self, f"fc{self.depth}")(x)
        if self.kind == "cnn":
            x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
            x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
            return self.fc2(torch.relu(self.fc1(x.flatten(1))))
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean(dim=(2, 3)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("--compare", help="output of sam predict --logits for the same input")
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()

    tensors, meta = load(a.model)
    spec = json.loads(meta["spec"])
    pre = json.loads(meta["preprocess"])
    net = Net(spec)
    # BatchNorm's num_batches_tracked is PyTorch's own counter; sam does not store it.
    state = dict(tensors)
    for name, buf in net.state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = buf
    net.load_state_dict(state, strict=True)
    net.eval()

    with open(a.input, newline="") as f:
        rows = list(csv.reader(f))
    at = {h.strip(): i for i, h in enumerate(rows[0])}
    missing = [c for c in pre["columns"] if c not in at]
    if missing:
        raise SystemExit(f"{a.input}: no column {missing[0]!r}")
    x = torch.tensor([[float(r[at[c]]) for c in pre["columns"]] for r in rows[1:]], dtype=torch.float32)
    st = pre.get("standardize")
    if st:
        x = (x - torch.tensor(st["mean"], dtype=torch.float32)) * torch.tensor(st["inv_std"], dtype=torch.float32)
    with torch.no_grad():
        logits = net(x)

    if not a.compare:
        w = csv.writer(sys.stdout)
        w.writerow(["id"] + [f"logit_{j}" for j in range(logits.shape[1])])
        for i, z in enumerate(logits.tolist()):
            w.writerow([i + 1] + [repr(v) for v in z])
        return
    with open(a.compare, newline="") as f:
        pr = list(csv.reader(f))
    cols = [i for i, h in enumerate(pr[0]) if h.startswith("logit_")]
    go = torch.tensor([[float(r[i]) for i in cols] for r in pr[1:]], dtype=torch.float32)
    if go.shape != logits.shape:
        raise SystemExit(f"shapes differ: sam predict {tuple(go.shape)}, torch {tuple(logits.shape)}")
    diff = (go - logits).abs().max().item()
    print(f"{spec['model']}: {logits.shape[0]} rows x {logits.shape[1]} logits, max abs difference {diff:.3g} (tol {a.tol:g})")
    sys.exit(0 if diff <= a.tol else 1)


if __name__ == "__main__":
    main()
