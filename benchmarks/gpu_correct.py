"""Packed == unpacked on a device (a check, run by benchmarks/gpu_check.sh; exit 1 on a mismatch).

For every packable method: a pack of three members that differ in seed, penalty λ and lr is
trained with `run_pack`, and every member alone with `run`, on --device (default cuda), with the
step compiled as `train.compile` says (--compile auto: CUDA graphs on CUDA) and eagerly. Each
member must match its run alone within the tolerance of tests/test_pack.py (train_loss rel 1e-4,
deep_cos/h_norm/g_norm rel 1e-3 abs 1e-5, test accuracy within one test sample), and the
compiled run must match the eager one within the same tolerance.

    python benchmarks/gpu_correct.py [--device cuda] [--compile auto]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faspec.registry import METHODS  # noqa: E402
from faspec.train import run  # noqa: E402
from faspec.train.pack import run_pack  # noqa: E402

N_TEST = 256


def cfg(method: str, seed: int, lam: float, lr: float, compile_: str) -> dict:
    return {
        "seed": seed,
        "method": {"name": method, "penalty": lam},
        "model": {"d": 64, "blocks": 3},
        "data": {"name": "cifar_synth", "n_train": 2048, "n_test": N_TEST},
        "train": {"epochs": 3, "batch_size": 128, "lr": lr, "compile": compile_},
        "measure": {"eval_batch": N_TEST, "rho_dirs": 4, "epochs": [1]},
    }


def mismatch(a: dict, b: dict) -> list[str]:
    out = []
    if a["status"] != "ok" or b["status"] != "ok":
        return [f"status {a['status']} / {b['status']}: {a.get('error') or b.get('error')}"]
    if abs(a["final"]["test_acc"] - b["final"]["test_acc"]) > 1.0 / N_TEST + 1e-12:
        out.append(f"test_acc {a['final']['test_acc']} vs {b['final']['test_acc']}")
    for x, y in zip(a["log"], b["log"], strict=True):
        if not math.isclose(x["train_loss"], y["train_loss"], rel_tol=1e-4):
            out.append(f"epoch {x['epoch']} train_loss {x['train_loss']} vs {y['train_loss']}")
        for key in ("deep_cos", "h_norm", "g_norm"):
            if (x.get(key) is None) != (y.get(key) is None):
                out.append(f"epoch {x['epoch']} {key} null in one")
            elif x.get(key) is not None and not math.isclose(
                x[key], y[key], rel_tol=1e-3, abs_tol=1e-5
            ):
                out.append(f"epoch {x['epoch']} {key} {x[key]} vs {y[key]}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--compile", default="auto")
    args = ap.parse_args()
    bad = 0
    for method in sorted(n for n, c in METHODS.items() if c.packable):
        members = [(0, 0.0, 1e-3), (1, 1e-2, 1e-3), (2, 1e-1, 3e-3)]
        t0 = time.perf_counter()
        packed = run_pack([cfg(method, *m, args.compile) for m in members], device=args.device)
        t_pack = time.perf_counter() - t0
        for m, out in zip(members, packed, strict=True):
            alone = run(cfg(method, *m, args.compile), device=args.device).result
            eager = run(cfg(method, *m, "false"), device=args.device).result
            errs = mismatch(out.result, alone) + [
                "compiled vs eager: " + e for e in mismatch(alone, eager)
            ]
            bad += bool(errs)
            word = "MISMATCH" if errs else "ok"
            print(f"{method} seed {m[0]} λ {m[1]} lr {m[2]}: packed == alone: {word}", *errs[:5])
        print(f"{method}: pack of 3 in {t_pack:.1f} s", flush=True)
    print("packed == unpacked on", args.device, "PASS" if not bad else f"FAIL ({bad})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
