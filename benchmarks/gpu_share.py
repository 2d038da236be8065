"""Four runs sharing one GPU (what Ray does with `gpus: 0.25`) against the same four one after
another.

    python benchmarks/gpu_share.py [--epochs 5] [--device cuda]

Ray's fractional GPUs only co-locate tasks: four tasks at 0.25 run as four worker processes on the
same device. This script starts exactly that, four processes each training one run through
`faspec.execute.worker.execute` (the function a Ray task calls), and compares the wall time with
running the four in one process sequentially. ResMLP d=256, 4 blocks, CIFAR-shaped synthetic data
(cifar_synth, 3072-dim inputs), batch 128.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time


def config(seed: int, epochs: int, n_train: int) -> dict:
    return {
        "seed": seed,
        "method": "dfa",
        "data": {"name": "cifar_synth", "n_train": n_train, "n_test": 1024},
        "model": {"arch": "resmlp", "d": 256, "blocks": 4},
        "train": {"epochs": epochs, "batch_size": 128},
        "measure": {"epochs": [0, epochs], "eval_batch": 1024},
    }


def _one(args: tuple[dict, str]) -> float:
    from faspec.execute.worker import execute

    result, _ = execute(args[0], args[1])
    assert result["status"] == "ok", result.get("error")
    return result["provenance"]["wall_s"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--n-train", type=int, default=50000)
    ap.add_argument("--device", default="cuda")
    a = ap.parse_args()
    cfgs = [(config(s, a.epochs, a.n_train), a.device) for s in (1, 2, 3, 4)]
    _one((config(0, 1, 2048), a.device))  # warm-up: CUDA context, kernels
    t0 = time.perf_counter()
    for c in cfgs:
        _one(c)
    seq = time.perf_counter() - t0
    ctx = mp.get_context("spawn")
    with ctx.Pool(4) as pool:
        pool.map(_one, [(config(0, 1, 2048), a.device)] * 4)  # each process warms up its context
        t0 = time.perf_counter()
        walls = pool.map(_one, cfgs)
        shared = time.perf_counter() - t0
    print(f"4 runs (d=256, L=4, {a.epochs} epochs of {a.n_train}, {a.device}):")
    print(f"  one after another: {seq:7.1f} s")
    print(
        f"  sharing the device (4 processes, as gpus: 0.25): {shared:7.1f} s  (per-run {', '.join(f'{w:.1f}' for w in walls)} s)"
    )
    print(f"  speed-up of sharing: {seq / shared:.2f}x")


if __name__ == "__main__":
    main()
