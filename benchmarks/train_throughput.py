"""Training throughput: faspec's trainer vs the usual loop vs the GEMM bound (a benchmark).

One model and one dataset, three ways, in one process (so on one machine, at one load):

* faspec   `faspec.train.run` (data on the device, index-permutation batches, no host sync per
           step, fused/foreach AdamW), timed from the end of the epoch-0 measurement to the start
           of the last epoch's measurement: training only, the diagnostics excluded.
* usual    the loop a researcher usually writes: DataLoader(TensorDataset, shuffle=True),
           default AdamW, `loss.item()` each step, same model, same data, same batch size.
* GEMM     the matrix products of one BP step (forward x·Wᵀ, backward dY·W and dYᵀ·X, no dX for
           the first layer) timed alone with torch.matmul on preallocated tensors: the physical
           limit of this step on this device (everything else — LayerNorm, ReLU, AdamW, the
           gather — is overhead over it).

GFLOP/s counts exactly those GEMM FLOPs (2·m·n·k each) per step, for all three. Default: ResMLP
d=256, 4 blocks, batch 128 on a 3072-dim teacher task (CIFAR's input size, no download).
Each figure is the best of --rounds interleaved rounds (robust to a shared, loaded machine).

    /work/venv/bin/python benchmarks/train_throughput.py [--device cpu] [--threads 2]
        [--n-train 12800] [--epochs 1] [--rounds 3] [--method bp] [--precision fp32]
        [--compile auto|true|false]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from faspec.train import normalize_config, run
from faspec.train.data import load_data
from faspec.train.run import build, resolve_device
from faspec.train.tracker import Tracker


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def config(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "seed": 0,
        "method": args.method,
        "model": {"d": args.d, "blocks": args.blocks},
        "data": {"name": "teacher", "in_dim": args.in_dim, "n_train": args.n_train, "n_test": 1024},
        "train": {
            "epochs": args.epochs,
            "batch_size": args.batch,
            "precision": args.precision,
            "compile": args.compile,
            "pack_seeds": "false",
        },
        "measure": {"epochs": [], "rho_dirs": 0},
    }


def time_faspec(cfg: dict[str, Any], dev: torch.device) -> float:
    """Seconds of training (all epochs) inside `run`, measurements excluded."""
    marks: dict[str, float] = {}
    original = Tracker.entry

    def entry(self: Any, *a: Any, **kw: Any) -> Any:
        epoch = a[4] if len(a) > 4 else kw["epoch"]
        if epoch > 0:
            sync(dev)
            marks.setdefault("stop", time.perf_counter())
        out = original(self, *a, **kw)
        if epoch == 0:
            sync(dev)
            marks["start"] = time.perf_counter()
        return out

    Tracker.entry = entry  # type: ignore[method-assign]
    try:
        run(cfg, device=dev)
    finally:
        Tracker.entry = original  # type: ignore[method-assign]
    return marks["stop"] - marks["start"]


def time_usual(cfg: dict[str, Any], dev: torch.device) -> float:
    """Seconds of the usual loop over the same epochs (model built like faspec's)."""
    n = normalize_config(cfg)
    data = load_data(n["data"])  # CPU tensors, as a TensorDataset usually holds them
    model, _ = build(n, data.in_dim, data.num_classes, dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loader = DataLoader(
        TensorDataset(data.x_train, data.y_train), batch_size=n["train"]["batch_size"], shuffle=True
    )
    model.train()
    sync(dev)
    t0 = time.perf_counter()
    for _ in range(n["train"]["epochs"]):
        running = 0.0
        for xb, yb in loader:
            xb, yb = xb.to(dev), yb.to(dev)
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            running += loss.item()
    sync(dev)
    return time.perf_counter() - t0


def gemm_shapes(in_dim: int, d: int, blocks: int, classes: int, batch: int) -> list[tuple]:
    """(m, k, n) of every matmul of one BP step of ResMLP (hidden = d)."""
    layers = [(in_dim, d)] + [(d, d), (d, d)] * blocks + [(d, classes)]
    shapes = []
    for i, (fan_in, fan_out) in enumerate(layers):
        shapes.append((batch, fan_in, fan_out))  # forward: X[b,in] · Wᵀ[in,out]
        shapes.append((fan_out, batch, fan_in))  # dW = dYᵀ[out,b] · X[b,in]
        if i > 0:
            shapes.append((batch, fan_out, fan_in))  # dX = dY[b,out] · W[out,in]
    return shapes


def time_gemms(shapes: list[tuple], dev: torch.device, reps: int) -> float:
    """Seconds per step of the step's GEMMs alone (best of 3 timings of `reps` steps)."""
    ops = [
        (
            torch.randn(m, k, device=dev),
            torch.randn(k, n, device=dev),
            torch.empty(m, n, device=dev),
        )
        for m, k, n in shapes
    ]
    for a, b, c in ops:  # warm-up
        torch.matmul(a, b, out=c)
    best = float("inf")
    for _ in range(3):
        sync(dev)
        t0 = time.perf_counter()
        for _ in range(reps):
            for a, b, c in ops:
                torch.matmul(a, b, out=c)
        sync(dev)
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--method", default="bp")
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--in-dim", type=int, default=3072)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--n-train", type=int, default=12800)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    ap.add_argument(
        "--compile",
        default="auto",
        choices=("auto", "true", "false"),
        help="train.compile of faspec's run (auto: compiled on CUDA only); with a compiled "
        "step the timing includes the compilation, which happens in the first step",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = resolve_device(args.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu×{args.threads} threads"
    cfg = config(args)
    steps = -(-args.n_train // args.batch) * args.epochs
    samples = args.n_train * args.epochs
    shapes = gemm_shapes(args.in_dim, args.d, args.blocks, 10, args.batch)
    flops = sum(2 * m * k * n for m, k, n in shapes)  # per step (last partial batch: ~same)
    print(
        f"ResMLP d={args.d} L={args.blocks} in={args.in_dim} batch={args.batch} "
        f"method={args.method} precision={args.precision} on {name}; {steps} steps/round, "
        f"{flops / 1e9:.3f} GFLOP per step in {len(shapes)} GEMMs",
        flush=True,
    )
    time_faspec(cfg, dev)  # warm-up (data generation, first-call costs)
    best = {"faspec": float("inf"), "usual": float("inf"), "gemm": float("inf")}
    for r in range(args.rounds):
        t = {
            "faspec": time_faspec(cfg, dev),
            "usual": time_usual(cfg, dev),
            "gemm": time_gemms(shapes, dev, max(10, steps // 4)) * steps,
        }
        print(
            f"round {r + 1}: "
            + ", ".join(f"{k} {samples / v:,.0f} samples/s" for k, v in t.items()),
            flush=True,
        )
        best = {k: min(best[k], t[k]) for k in best}
    print(f"{'':8s} {'samples/s':>12s} {'GFLOP/s':>9s}  (best of {args.rounds})")
    for k, v in best.items():
        print(f"{k:8s} {samples / v:12,.0f} {flops * steps / v / 1e9:9.1f}")
    print(
        f"faspec / usual loop = {best['usual'] / best['faspec']:.2f}x   "
        f"faspec / GEMM bound = {best['gemm'] / best['faspec']:.2f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
