"""Plan and cache-hit re-verify time for a spec of 1,000 runs.

    .venv/bin/python benchmarks/scaling.py [--runs-per-axis 10]

A spec sweeping two axes (10 × 10 points) × 2 methods × 5 seeds = 1,000 runs. The store is filled
by training one tiny run for real and storing its result under each of the 1,000 run ids (the
cache-hit path reads, checks and reports them exactly as it would real ones). Prints: import time
(torch dominates), load + plan time, and the time of a full cache-hit verify (load, plan, find
every result, decide every claim, write the reports) through the CLI in a fresh process.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = """\
faspec: 1
name: big
defaults:
  data: {{name: teacher, n_train: 256, n_test: 128}}
  model: {{arch: resmlp, d: 8, blocks: 1}}
  train: {{epochs: 1}}
  measure: {{eval_batch: 64}}
  seeds: [1, 2, 3, 4, 5]
experiments:
  grid:
    methods: [bp, fa]
    sweep: {{model.d: {ds}, train.lr: {lrs}}}
claims:
  - id: bp-at-every-width
    in: grid
    expect: bp.test_acc >= 0
    seeds: all
    for_each: model.d
    at: {{train.lr: 0.001}}
  - id: fa-at-every-lr
    in: grid
    expect: fa.test_acc >= 0
    seeds: all
    for_each: train.lr
    at: {{model.d: 8}}
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs-per-axis", type=int, default=10)
    args = ap.parse_args()
    k = args.runs_per_axis
    tmp = Path(tempfile.mkdtemp(prefix="faspec-scaling-"))
    spec = tmp / "big.yaml"
    spec.write_text(
        SPEC.format(ds=list(range(8, 8 + k)), lrs=[round(0.001 * (i + 1), 6) for i in range(k)])
    )

    t0 = time.perf_counter()
    from faspec.plan import build
    from faspec.spec.load import load_many
    from faspec.store import Store
    from faspec.train import run

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    specs = load_many([str(spec)])
    plan = build(specs)
    t_plan = time.perf_counter() - t0
    n = len(plan.runs)

    store = Store(tmp / "store")
    first = next(iter(plan.runs.values()))
    out = run(first, device="cpu")
    for rid, cfg in plan.runs.items():
        store.put(rid, cfg, out.result)

    t0 = time.perf_counter()
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "faspec.cli",
            "verify",
            str(spec),
            "--no-run",
            "--store",
            str(tmp / "store"),
            "--reports",
            str(tmp / "reports"),
        ],
        capture_output=True,
        text=True,
    )
    t_verify = time.perf_counter() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    t0 = time.perf_counter()
    # the check path never imports torch: the CLI's start-up is Python + faspec alone
    probe = "import sys, faspec.cli; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", probe], check=True)
    t_start = time.perf_counter() - t0

    print(f"runs in the spec: {n} (unique)")
    print(f"import faspec + torch        : {t_import:6.2f} s")
    print(f"load + plan ({n} runs)      : {t_plan:6.2f} s   target < 1 s")
    print(
        f"cache-hit verify, CLI process: {t_verify:6.2f} s   target < 5 s "
        f"(of which Python + faspec start-up {t_start:.2f} s, torch not imported)"
    )


if __name__ == "__main__":
    main()
