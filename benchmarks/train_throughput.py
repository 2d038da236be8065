"""Training throughput at CIFAR scale (a benchmark, not a test).

ResMLP d=256, L=4 on a synthetic 50,000 x 3072 task (the teacher task with in_dim=3072, so no
CIFAR download is needed; the arithmetic per step is CIFAR's), batch 128, for each method:
seconds per training epoch (and per logged epoch, with the metrics) on the given device.

    python benchmarks/train_throughput.py --device cuda [--epochs 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from faspec.train import run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="auto")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--methods", nargs="+", default=["bp", "fa", "dfa", "frozen"])
    args = ap.parse_args()
    data = {"name": "teacher", "in_dim": 3072, "n_train": 50000, "n_test": 10000}
    for method in args.methods:
        stamps: list[float] = []
        cfg = {
            "seed": 0,
            "method": method,
            "model": {"d": 256, "blocks": 4},
            "data": data,
            "train": {"epochs": args.epochs},
            "measure": {"epochs": "all"},
        }
        t0 = time.perf_counter()
        out = run(
            cfg, device=args.device, on_epoch=lambda e, _, s=stamps: s.append(time.perf_counter())
        )
        per_epoch = (stamps[-1] - stamps[0]) / args.epochs
        dev = out.result["provenance"]["device"]
        name = torch.cuda.get_device_name() if dev.startswith("cuda") else dev
        print(
            f"{method:6s} {per_epoch:7.2f} s/epoch (train + metrics), {391 / per_epoch:7.0f} "
            f"steps/s, total {time.perf_counter() - t0:.1f} s on {name}; final acc "
            f"{out.result['final']['test_acc']:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
