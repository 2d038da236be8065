"""The embedded task (docs/paper.md §1), measured with faspec.train (a benchmark, not a test).

ResMLP d=64, 3 blocks, terminal LN; teacher data (data seed 0); 8 epochs, batch 128, AdamW 1e-3,
wd 0.01, cosine; run seeds 42, 123, 456; bp, fa, dfa, frozen; one CPU thread per run.
Prints mean ± sample std (ddof=1) per method and the per-seed values, with wall time per run.

    /work/venv/bin/python benchmarks/embedded_task.py [--epochs 8] [--seeds 42 123 456]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from faspec.train import run

METRICS = ("test_acc", "deep_cos", "h_norm", "g_norm")
REFERENCE = {  # docs/paper.md §1 (an independent reference trainer)
    "bp": "acc 0.912±0.001, ‖h_L‖ 8.7",
    "fa": "acc 0.830±0.027, deep cos +0.58, ‖h_L‖ 62",
    "frozen": "acc 0.819±0.002",
    "dfa": "acc 0.802±0.017, deep cos +0.21, ‖h_L‖ 332",
}


def config(method: str, seed: int, epochs: int) -> dict:
    return {
        "seed": seed,
        "method": {"name": method},
        "model": {"arch": "resmlp", "d": 64, "blocks": 3, "terminal_ln": True},
        "data": {"name": "teacher", "seed": 0},
        "train": {
            "epochs": epochs,
            "batch_size": 128,
            "optimizer": "adamw",
            "lr": 1e-3,
            "weight_decay": 0.01,
            "schedule": "cosine",
        },
        "measure": {"epochs": [0, epochs]},
    }


def fmt(v: float | None) -> str:
    return "null" if v is None else f"{v:.4g}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seeds", type=int, nargs="+", default=[42, 123, 456])
    ap.add_argument("--methods", nargs="+", default=["bp", "fa", "frozen", "dfa"])
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(1)
    total = time.perf_counter()
    for method in args.methods:
        finals = []
        for seed in args.seeds:
            t = time.perf_counter()
            out = run(config(method, seed, args.epochs), device=args.device)
            wall = time.perf_counter() - t
            f = out.result["final"]
            finals.append(f)
            print(
                f"  {method:6s} seed {seed:4d}: "
                + "  ".join(f"{m} {fmt(f[m])}" for m in METRICS)
                + f"  cos_layers {[None if c is None else round(c, 3) for c in (out.result['log'][-1]['cos_layers'] or [])]}"
                + f"  [{out.result['status']}, {wall:.1f} s]"
            )
        parts = []
        for m in METRICS:
            vals = [f[m] for f in finals]
            if any(v is None for v in vals):
                parts.append(f"{m} null")
                continue
            sd = statistics.stdev(vals) if len(vals) > 1 else float("nan")
            parts.append(f"{m} {statistics.mean(vals):.4g} ± {sd:.2g}")
        print(f"{method:6s} (n={len(finals)}): " + "; ".join(parts))
        print(f"        reference: {REFERENCE.get(method, '-')}")
    print(f"total wall {time.perf_counter() - total:.1f} s")


if __name__ == "__main__":
    main()
