"""Seed packing: K seeds trained as one batched model vs K runs one after the other.

For K = 1, 2, 4, 8, 16: wall time of `run_pack` on K configs that differ only in the seed
(packed) and of K calls of `run` (sequential), each including its build and its (light)
measurements at epochs 0 and last; samples/s = K · n_train · epochs / wall, and the ratio.
Default: the embedded task's ResMLP (d=64, 3 blocks, teacher data); --big: CIFAR-shaped
(3072-dim cifar_synth inputs, d=256, 4 blocks).

    /work/venv/bin/python benchmarks/packing.py [--device cpu] [--threads 2] [--big]
        [--ks 1 2 4 8 16] [--epochs 1] [--n-train N] [--method bp]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch

from faspec.train import run
from faspec.train.pack import run_pack
from faspec.train.run import resolve_device


def config(args: argparse.Namespace) -> dict[str, Any]:
    if args.big:
        model = {"d": 256, "blocks": 4}
        data = {"name": "cifar_synth", "n_train": args.n_train or 2560, "n_test": 1024}
    else:
        model = {"d": 64, "blocks": 3}
        data = {"name": "teacher", "n_train": args.n_train or 16384, "n_test": 2048}
    return {
        "method": args.method,
        "model": model,
        "data": data,
        "train": {"epochs": args.epochs, "batch_size": args.batch, "precision": args.precision},
        "measure": {"epochs": [], "rho_dirs": 0, "eval_batch": 256},
    }


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def timed(fn: Any, dev: torch.device) -> float:
    sync(dev)
    t0 = time.perf_counter()
    fn()
    sync(dev)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--big", action="store_true", help="CIFAR-shaped d=256 L=4")
    ap.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--n-train", type=int, default=None)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--method", default="bp")
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = resolve_device(args.device)
    base = config(args)
    n = base["data"]["n_train"] * args.epochs
    where = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu×{args.threads}"
    print(f"{args.method} {base['model']} {base['data']['name']} on {where}", flush=True)
    run_pack([{**base, "seed": s} for s in (0, 1)], device=dev)  # warm-up
    print(
        f"{'K':>3s} {'packed s':>9s} {'seq s':>8s} {'packed samp/s':>14s} {'seq samp/s':>11s} ratio"
    )
    for k in args.ks:
        cfgs = [{**base, "seed": s} for s in range(k)]
        tp = timed(lambda c=cfgs: run_pack(c, device=dev), dev)
        ts = timed(lambda c=cfgs: [run(x, device=dev) for x in c], dev)
        print(
            f"{k:3d} {tp:9.2f} {ts:8.2f} {k * n / tp:14,.0f} {k * n / ts:11,.0f} {ts / tp:5.2f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
