"""Per-run overhead of the Ray path against in-process execution, for many tiny runs.

    scripts/netns-run .venv/bin/python benchmarks/scheduling.py [--runs 200] [--cpus N]

Both executors train the same N tiny runs (ResMLP d=8, one block, one epoch of 256 samples), so
the difference is scheduling: task submission, worker start-up, result transfer. Prints ms/run for
each path and their ratio. Ray's own start-up (ray.init) is timed separately.
"""

from __future__ import annotations

import argparse
import os
import time

from faspec.execute.base import Job
from faspec.execute.local import LocalExecutor
from faspec.execute.ray_exec import RayExecutor
from faspec.plan import run_hash
from faspec.train import normalize_config


def tiny_jobs(n: int) -> list[Job]:
    jobs = []
    for seed in range(n):
        cfg = normalize_config(
            {
                "seed": seed,
                "method": "bp",
                "data": {"name": "teacher", "n_train": 256, "n_test": 128},
                "model": {"d": 8, "blocks": 1},
                "train": {"epochs": 1},
                "measure": {"eval_batch": 64},
            }
        )
        jobs.append(Job(run_hash(cfg), cfg))
    return jobs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 1, help="Ray workers (num_cpus)")
    args = ap.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    jobs = tiny_jobs(args.runs)
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    local = list(LocalExecutor("cpu").run(jobs))
    t_local = time.perf_counter() - t0
    t0 = time.perf_counter()
    ex = RayExecutor(device="cpu", num_cpus=args.cpus)
    t_init = time.perf_counter() - t0
    t0 = time.perf_counter()
    remote = list(ex.run(jobs))
    t_ray = time.perf_counter() - t0
    ex.close()
    assert len(local) == len(remote) == args.runs
    assert all(d.result["status"] == "ok" for d in local + remote)
    n = args.runs
    print(f"runs: {n}  (ResMLP d=8, 1 block, 1 epoch of 256 samples), Ray workers: {args.cpus}")
    print(f"in-process : {t_local:7.2f} s  {1000 * t_local / n:7.1f} ms/run")
    print(
        f"ray tasks  : {t_ray:7.2f} s  {1000 * t_ray / n:7.1f} ms/run   (+ ray.init {t_init:.1f} s)"
    )
    print(
        f"ratio ray/in-process: {t_ray / t_local:.2f}x; overhead {1000 * (t_ray - t_local) / n:+.1f} ms/run"
    )


if __name__ == "__main__":
    main()
