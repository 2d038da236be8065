"""Seconds per epoch (training + every per-epoch metric) of each method and architecture: the
numbers behind faspec/plan_cost.py.

    python benchmarks/method_cost.py [--device cuda] [--n-train 50000] [--out cost.jsonl] [--only NAME...]
    python benchmarks/method_cost.py --per-step [--device cuda]

`--per-step`: seconds of one training step (loss, backward, AdamW) of BP and of EP at its
defaults, measured in the same run on ResMLP d=64 L=3 (ReLU, terminal LN), batch 128, one CPU
thread (or the GPU), and their ratio: the figure behind EP's factor in faspec/plan_cost.py.

Each case trains 2 epochs on CIFAR-shaped synthetic images (cifar_synth: same shapes as CIFAR-10,
no download) with the spec defaults (batch 128, eval batch 1024, rho 32 directions, every epoch
logged); the time between the epoch-1 and epoch-2 log entries is one epoch of training plus one
epoch of measurement, which is what `faspec plan`'s estimate multiplies by the epochs. One JSON
line per case (also to --out), cheapest-to-lose cases last.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CIFAR = {"name": "cifar_synth", "seed": 0}
RESMLP = {"arch": "resmlp", "d": 256, "blocks": 4}
CASES: list[tuple[str, dict, dict, dict]] = [
    # name, method, model, data (n_train filled in)
    ("resmlp256x4-bp", {"name": "bp"}, RESMLP, CIFAR),
    ("resmlp256x4-ep", {"name": "ep"}, RESMLP, CIFAR),
    ("resmlp256x4-sb", {"name": "sb"}, RESMLP, CIFAR),
    ("resmlp256x4-cb", {"name": "cb"}, RESMLP, CIFAR),
    ("resmlp256x4-dfa", {"name": "dfa"}, RESMLP, CIFAR),
    ("resmlp256x4-fa", {"name": "fa"}, RESMLP, CIFAR),
    ("resmlp256x4-frozen", {"name": "frozen"}, RESMLP, CIFAR),
    ("resmlp512x4-dfa", {"name": "dfa"}, {**RESMLP, "d": 512}, CIFAR),
    ("resmlp512x12-fa", {"name": "fa"}, {**RESMLP, "d": 512, "blocks": 12}, CIFAR),
    ("resmlp256x12-bp", {"name": "bp"}, {**RESMLP, "blocks": 12}, CIFAR),
    ("vit128x4-dfa", {"name": "dfa"}, {"arch": "vit"}, CIFAR),
    ("cnn-dfa", {"name": "dfa"}, {"arch": "cnn"}, CIFAR),
    ("cnn-ep", {"name": "ep"}, {"arch": "cnn"}, CIFAR),
    ("student128x4-dfa", {"name": "dfa"}, {"arch": "student", "d": 128}, {"name": "ladder"}),
]


def per_step(device: str) -> None:
    """EP's and BP's training step on the same net and batch, in the same run (one JSON line)."""
    import torch
    from ep_defaults import step_seconds  # benchmarks/ep_defaults.py

    from faspec.train.methods import BP, EP
    from faspec.train.models import ResMLP

    dev = torch.device(
        "cuda" if device in ("auto", "cuda") and torch.cuda.is_available() else "cpu"
    )
    if dev.type == "cpu":
        torch.set_num_threads(1)
    torch.manual_seed(0)
    model = ResMLP(16, 10, d=64, blocks=3).to(dev)
    x, y = torch.randn(128, 16, device=dev), torch.randint(10, (128,), device=dev)
    bp = step_seconds(model, BP(model, 10, torch.Generator()), x, y, 40)
    ep = step_seconds(model, EP(model, 10, torch.Generator()), x, y, 10)
    row = {"case": "per-step d64x3 b128", "device": str(dev), "bp_ms": round(1e3 * bp, 2)}
    print(json.dumps({**row, "ep_ms": round(1e3 * ep, 1), "ep_over_bp": round(ep / bp, 1)}))
    old = EP(model, 10, torch.Generator(), solver="gd", free_steps=150, nudged_steps=30)
    before = step_seconds(model, old, x, y, 10)  # EP v3's defaults, for the before/after
    row = {**row, "case": "per-step d64x3 b128, EP v3 (gd, caps 150/30)"}
    print(json.dumps({**row, "ep_ms": round(1e3 * before, 1), "ep_over_bp": round(before / bp, 1)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="auto")
    ap.add_argument("--n-train", type=int, default=50_000)
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--per-step", action="store_true")
    args = ap.parse_args()
    if args.per_step:
        per_step(args.device)
        return

    import torch

    from faspec.train import run

    out = open(args.out, "a") if args.out else None  # noqa: SIM115
    for name, method, model, data in CASES:
        if args.only and name not in args.only:
            continue
        n_train = args.n_train if data["name"] == "cifar_synth" else 8192
        cfg = {
            "seed": 1,
            "method": method,
            "model": model,
            "data": {**data, "n_train": n_train, "n_test": 2048},
            "train": {"epochs": 2, "batch_size": 128},
        }
        stamps: dict[int, float] = {}

        def on_epoch(epoch: int, entry: dict, stamps: dict[int, float] = stamps) -> None:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            stamps[epoch] = time.perf_counter()

        t0 = time.perf_counter()
        try:
            res = run(cfg, device=args.device, on_epoch=on_epoch)
        except Exception as e:  # noqa: BLE001 - report and go on with the other cases
            print(json.dumps({"case": name, "error": repr(e)}), flush=True)
            continue
        row = {
            "case": name,
            "method": method["name"],
            "model": model,
            "n_train": n_train,
            "epoch_s": round(stamps[2] - stamps[1], 3),
            "first_epoch_s": round(stamps[1] - stamps[0], 3),
            "total_s": round(time.perf_counter() - t0, 3),
            "status": res.result["status"],
            "device": res.result["provenance"]["device"],
            "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        }
        line = json.dumps(row)
        print(line, flush=True)
        if out:
            out.write(line + "\n")
            out.flush()


if __name__ == "__main__":
    main()
