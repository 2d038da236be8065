"""A rough estimate of the GPU time a plan needs: `faspec plan` prints its total.

Basis: seconds per epoch (one epoch of training plus that epoch's metrics: accuracy, norms,
cosines, rho with 32 directions on the 1024-sample evaluation batch, stability...) measured on
one NVIDIA H200 (torch 2.11, fp32) at the paper's CIFAR scale: 50,000 CIFAR-shaped images,
batch 128, ResMLP d=256 L=4 (`benchmarks/method_cost.py`, numbers in
`benchmarks/method_cost_h200.jsonl`):

    bp 1.42 s   fa 1.67 s   dfa 1.68 s   frozen 0.89 s   ep 24.0 s   sb 2.79 s   cb 4.99 s

An earlier measurement of the same quantity by a colleague on an H200 gave bp 1.50, fa 2.00,
dfa 1.75, frozen 1.03 s (within 20%). EP is 17x BP: each step runs `steps` (20) relaxation steps
of the nudged phase; it scales with `steps` here and doubles with centred nudging.

What moves the time at this scale is not the model's arithmetic but the number of kernels: on the
H200 these models are launch-bound. Measured: d=512 L=4 DFA 1.49 s (d=256: 1.68), so width up to
512 is free; L=12 BP 3.28 s and d=512 L=12 FA 3.94 s, about (2 + L)/6 of L=4; ViT-Mini (d=128,
L=4) 4.83 s, 2.9x the ResMLP; SmallCNN 1.48 s (DFA) and 22.7 s (EP), 0.9x; StudentNet d=128 L=4
on 8,192 samples 0.36 s. Hence, per run:

    seconds = [train(method) x n_train/50,000 x epochs + measure x logged epochs] x arch x depth

with train(method) = the figure above minus the measurement part, measure = 0.14 s (the metrics
of one logged epoch at d=256 L=4 on an H200, docs/metrics.md; ~95% of it is rho, so it scales
with rho_dirs x rho_batch), arch = 1 (resmlp, student), 2.9 (vit), 1.1 (cnn, whose L is 3: 0.92 in all),
depth = (2 + L)/6.
Unregistered or unknown methods cost what BP costs (and are named in `Estimate.unknown`).

It is an estimate to within a factor of about 1.5 for the paper's specs on one H200 at one run
at a time; fractional-GPU packing (several runs on one GPU) makes wall time shorter than the sum.
It does not know CPU time: a CPU is one to two orders of magnitude slower at CIFAR scale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

BASIS = "H200, CIFAR scale (50k samples, batch 128, ResMLP d=256 L=4), measured"
REF_N_TRAIN = 50_000
REF_BLOCKS = 4
MEASURE_S = 0.14  # one logged epoch's metrics at d=256 L=4 on an H200 (docs/metrics.md)
EPOCH_S = {  # one epoch of training + its metrics, H200, benchmarks/method_cost_h200.jsonl
    "bp": 1.42,
    "fa": 1.67,
    "dfa": 1.68,
    "frozen": 0.89,
    "ep": 95.6,  # estimated, not measured: 80 steps (40 free + 2x20) at pc's cost per step
    "pc": 24.0,
    "sb": 2.79,
    "cb": 4.99,
}
ARCH_FACTOR = {"resmlp": 1.0, "student": 1.0, "vit": 2.9, "cnn": 1.1}  # cnn x depth(3) = 0.92
CNN_BLOCKS = 3  # SmallCNN: two conv stages and the FC layer are its blocks


@dataclass
class Estimate:
    total_s: float = 0.0
    per_run: dict[str, float] = field(default_factory=dict)
    by_method: dict[str, float] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)  # methods costed as BP

    def text(self) -> str:
        parts = ", ".join(
            f"{m} {duration(s)}" for m, s in sorted(self.by_method.items(), key=lambda x: -x[1])
        )
        out = f"estimated GPU time: {duration(self.total_s)} on one H200, runs one at a time ({parts})"
        if self.unknown:
            out += f"; costed as bp: {', '.join(sorted(self.unknown))}"
        return out + " [cost model: faspec/plan_cost.py]"


def duration(seconds: float) -> str:
    """12.3 h, 45 min, 30 s."""
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def _n_train(data: dict[str, Any]) -> int:
    n = data.get("n_train")
    return int(n) if isinstance(n, int) else REF_N_TRAIN  # CIFAR with n_train null: all 50,000


def _logged_epochs(measure: dict[str, Any], epochs: int) -> int:
    ep = measure.get("epochs", "all")
    return epochs + 1 if ep == "all" else len(set(ep) | {0, epochs})


def run_seconds(config: dict[str, Any]) -> tuple[float, bool]:
    """(estimated seconds, method known) of one normalized RunConfig."""
    method = config["method"]
    name = method.get("name", "bp")
    known = name in EPOCH_S
    epoch_s = EPOCH_S.get(name, EPOCH_S["bp"])
    train_s = epoch_s - MEASURE_S
    if name == "pc":
        train_s *= float(method.get("steps", 20)) / 20.0
        if method.get("nudge") == "centred":
            train_s *= 2.0
    elif name == "ep":  # one forward+backward per relaxation step, as pc's
        phases = 2.0 if method.get("nudge", "centred") == "centred" else 1.0
        steps = float(method.get("free_steps", 40)) + phases * float(method.get("nudged_steps", 20))
        train_s *= steps / 80.0
    model = config["model"]
    arch = model.get("arch", "resmlp")
    blocks = CNN_BLOCKS if arch == "cnn" else int(model.get("blocks", REF_BLOCKS))
    factor = ARCH_FACTOR.get(arch, 1.0) * (2.0 + blocks) / (2.0 + REF_BLOCKS)
    measure = config.get("measure", {})
    eval_batch = float(measure.get("eval_batch", 1024))
    rho_batch = float(measure.get("rho_batch") or eval_batch)
    rho = float(measure.get("rho_dirs", 32)) / 32.0 * rho_batch / 1024.0
    measure_s = MEASURE_S * (0.05 * eval_batch / 1024.0 + 0.95 * rho)
    epochs = int(config["train"]["epochs"])
    seconds = (
        train_s * _n_train(config["data"]) / REF_N_TRAIN * epochs
        + measure_s * _logged_epochs(measure, epochs)
    ) * factor
    return seconds, known


def estimate(runs: dict[str, dict[str, Any]], run_ids: Iterable[str] | None = None) -> Estimate:
    """Estimate for the runs of a plan (`Plan.runs`: run id -> normalized config), or a subset."""
    est = Estimate()
    for rid in run_ids if run_ids is not None else runs:
        cfg = runs[rid]
        s, known = run_seconds(cfg)
        name = cfg["method"].get("name", "bp")
        if not known:
            est.unknown.add(name)
        est.per_run[rid] = s
        est.by_method[name] = est.by_method.get(name, 0.0) + s
        est.total_s += s
    return est
