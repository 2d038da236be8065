"""A rough estimate of the GPU time a plan needs: `faspec plan` prints its total.

Basis: seconds per epoch (one epoch of training plus that epoch's metrics: accuracy, norms,
cosines, rho with 32 directions on the 1024-sample evaluation batch, stability...) measured on
one NVIDIA H200 (torch 2.11, fp32) at the paper's CIFAR scale: 50,000 CIFAR-shaped images,
batch 128, ResMLP d=256 L=4 (`benchmarks/method_cost.py`, numbers in
`benchmarks/method_cost_h200.jsonl`):

    bp 1.42 s   fa 1.67 s   dfa 1.68 s   frozen 0.89 s   ep 24.0 s   sb 2.79 s   cb 4.99 s

(that "ep" row was today's `pc`). EP was not measured on a GPU: its figure (44.9 s) is 25
relaxation steps (EP v4's caps, 20 free + 5 nudged; the centred ±β phases are one stacked
relaxation) at pc's cost per step, times 1.5 for the L-BFGS bookkeeping (an L-BFGS step cost 1.5
gradient steps on CPU), scaled to a run's caps (EP v3's 150 + 30 gradient steps: 215 s). On one CPU thread
(`benchmarks/method_cost.py --per-step`, ResMLP d=64 L=3, batch 128, loaded 2-core machine) an
EP v4 step costs 39–41x BP's, EP v3's 155–165x in the same runs (docs/methods.md).

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
at a time. It does not know CPU time: a CPU is one to two orders of magnitude slower at CIFAR
scale.

Packing (scheduling by cost). `packs` decides which runs `verify` trains as one batched model
(faspec.train.stack): runs with one `faspec.config.pack_key` whose method and architecture are
packable, in packs of at most `pack_size` members (PACK_MAX, fewer when the device memory
would not hold them). A pack of K costs `1 + (K − 1)·PACK_MARGINAL` of one member: 0.17 is the
H200 figure behind "K=16 packing is 4.45× over sequential" (16 / 4.45 = 3.6 = 1 + 15·0.17),
measured with the previous packed loop; `benchmarks/gpu_check.sh` re-measures it. The estimate
counts packs that way (`Estimate.packed_s`).

Hostile sizes: every figure is computed in floats from whatever integers a valid config holds;
a size too large for a float (or a product that overflows) gives `math.inf` seconds, which the
plan prints as "unbounded" rather than crashing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from faspec.config import pack_key, pack_refusal

BASIS = "H200, CIFAR scale (50k samples, batch 128, ResMLP d=256 L=4), measured"
REF_N_TRAIN = 50_000
REF_BLOCKS = 4
MEASURE_S = 0.14  # one logged epoch's metrics at d=256 L=4 on an H200 (docs/metrics.md)
EPOCH_S = {  # one epoch of training + its metrics, H200, benchmarks/method_cost_h200.jsonl
    "bp": 1.42,
    "fa": 1.67,
    "dfa": 1.68,
    "frozen": 0.89,
    "ep": 53.9,  # estimated, not measured on a GPU: 30 L-BFGS steps (20 + 10) at pc's cost per step x 1.5
    "pc": 24.0,
    "sb": 2.79,
    "cb": 4.99,
}
EP_LBFGS_OVERHEAD = 1.5  # an L-BFGS relaxation step / a gradient step, ep v4 (docs/methods.md)
ARCH_FACTOR = {"resmlp": 1.0, "student": 1.0, "vit": 2.9, "cnn": 1.1}  # cnn x depth(3) = 0.92
CNN_BLOCKS = 3  # SmallCNN: two conv stages and the FC layer are its blocks
PACK_MAX = 16  # members per pack: the largest K measured on the H200 (4.45x at K=16)
PACK_MARGINAL = 0.17  # cost of each member after the first, in units of one run (see above)
DEVICE_MEMORY = 139 * 2**30  # bytes of one H200; packs are sized to a quarter of it


@dataclass
class Estimate:
    total_s: float = 0.0  # runs one at a time
    per_run: dict[str, float] = field(default_factory=dict)
    by_method: dict[str, float] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)  # methods costed as BP
    packed_s: float = 0.0  # the same runs packed as `verify` packs them
    packs: int = 0  # packed jobs (of two members or more)

    def text(self) -> str:
        parts = ", ".join(
            f"{m} {duration(s)}" for m, s in sorted(self.by_method.items(), key=lambda x: -x[1])
        )
        out = (
            f"estimated GPU time: {duration(self.packed_s)} on one H200 as verify packs the runs "
            f"({self.packs} packs); {duration(self.total_s)} one at a time ({parts})"
        )
        if self.unknown:
            out += f"; costed as bp: {', '.join(sorted(self.unknown))}"
        return out + " [cost model: faspec/plan_cost.py]"


def duration(seconds: float) -> str:
    """12.3 h, 45 min, 30 s; "unbounded" for a size no float holds."""
    if not math.isfinite(seconds):
        return "unbounded"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def _float(value: Any, default: float) -> float:
    """A config number as a float: `default` when absent or not a number, inf when too large."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    try:
        return float(value)
    except OverflowError:  # an int beyond 1.8e308: valid in a config, unbounded in cost
        return math.inf


def _n_train(data: dict[str, Any]) -> float:
    return _float(data.get("n_train"), REF_N_TRAIN)  # CIFAR with n_train null: all 50,000


def _logged_epochs(measure: dict[str, Any], epochs: float) -> float:
    ep = measure.get("epochs", "all")
    return epochs + 1 if ep == "all" else float(len(set(ep)) + 2)  # + 0 and the last (at most)


def run_seconds(config: dict[str, Any]) -> tuple[float, bool]:
    """(estimated seconds, method known) of one normalized RunConfig; inf for sizes beyond a
    float (see the module docstring), never an exception."""
    method = config["method"]
    name = method.get("name", "bp")
    known = name in EPOCH_S
    epoch_s = EPOCH_S.get(name, EPOCH_S["bp"])
    train_s = epoch_s - MEASURE_S
    if name == "pc":
        train_s *= _float(method.get("steps"), 20.0) / 20.0
        if method.get("nudge") == "centred":
            train_s *= 2.0
    elif name == "ep":  # one forward+backward per relaxation step, as pc's; the centred ±β
        # phases relax as one stacked batch, one launch-bound step on a GPU; an L-BFGS step
        # costs EP_LBFGS_OVERHEAD gradient steps (its bookkeeping, measured on CPU)
        steps = _float(method.get("free_steps"), 20.0) + _float(method.get("nudged_steps"), 10.0)
        train_s *= steps / 30.0
        if method.get("solver", "lbfgs") != "lbfgs":
            train_s /= EP_LBFGS_OVERHEAD
    model = config["model"]
    arch = model.get("arch", "resmlp")
    blocks = float(CNN_BLOCKS) if arch == "cnn" else _float(model.get("blocks"), REF_BLOCKS)
    factor = ARCH_FACTOR.get(arch, 1.0) * (2.0 + blocks) / (2.0 + REF_BLOCKS)
    measure = config.get("measure", {})
    eval_batch = _float(measure.get("eval_batch"), 1024.0)
    rho_batch = _float(measure.get("rho_batch"), eval_batch)
    rho = _float(measure.get("rho_dirs"), 32.0) / 32.0 * rho_batch / 1024.0
    measure_s = MEASURE_S * (0.05 * eval_batch / 1024.0 + 0.95 * rho)
    epochs = _float(config["train"]["epochs"], 0.0)
    seconds = (
        train_s * _n_train(config["data"]) / REF_N_TRAIN * epochs
        + measure_s * _logged_epochs(measure, epochs)
    ) * factor
    if math.isnan(seconds):  # inf * 0 (e.g. unbounded blocks, zero epochs): still unbounded
        seconds = math.inf
    return seconds, known


def member_bytes(config: dict[str, Any]) -> float:
    """Rough device memory of one packed member: parameters with their gradient and two AdamW
    moments, plus a minibatch's activations (a dozen per unit), in fp32."""
    model, tr = config["model"], config["train"]
    d = _float(model.get("d"), 256.0)
    hidden = _float(model.get("hidden"), d)
    blocks = _float(model.get("blocks"), REF_BLOCKS)
    params = blocks * 2 * d * hidden + 4096 * d  # blocks + embed/head (inputs up to 3072)
    acts = _float(tr.get("batch_size"), 128.0) * (blocks + 2) * max(d, hidden) * 12
    return 4.0 * (4 * params + acts)


def pack_size(config: dict[str, Any], memory: float = DEVICE_MEMORY) -> int:
    """How many members one pack of this config holds: PACK_MAX, fewer where a quarter of the
    device memory would not hold them (never fewer than 1)."""
    fit = memory / 4 / member_bytes(config)
    return max(1, min(PACK_MAX, int(fit) if math.isfinite(fit) else PACK_MAX))


def packs(
    runs: dict[str, dict[str, Any]], run_ids: Iterable[str], max_pack: int | None = None
) -> tuple[list[list[str]], list[str]]:
    """(packs of two or more run ids, single run ids): how `verify` schedules these runs. Runs
    pack when their method and architecture are packable (`pack_refusal`), no member says
    `pack_seeds: false`, and they share a `pack_key`; `max_pack` lowers `pack_size`."""
    groups: dict[str, list[str]] = {}
    singles: list[str] = []
    for rid in run_ids:
        cfg = runs[rid]
        if cfg["train"].get("pack_seeds", "false") == "false" or pack_refusal(cfg):
            singles.append(rid)
            continue
        key = repr(sorted(pack_key(cfg).items(), key=lambda kv: kv[0]))
        groups.setdefault(key, []).append(rid)
    out: list[list[str]] = []
    for rids in groups.values():
        size = pack_size(runs[rids[0]])
        if max_pack is not None:
            size = max(1, min(size, max_pack))
        for i in range(0, len(rids), size):
            chunk = rids[i : i + size]
            if len(chunk) == 1:
                singles.append(chunk[0])
            else:
                out.append(chunk)
    return out, singles


def estimate(runs: dict[str, dict[str, Any]], run_ids: Iterable[str] | None = None) -> Estimate:
    """Estimate for the runs of a plan (`Plan.runs`: run id -> normalized config), or a subset:
    one at a time (`total_s`) and packed as verify packs them (`packed_s`)."""
    est = Estimate()
    ids = list(run_ids if run_ids is not None else runs)
    for rid in ids:
        cfg = runs[rid]
        s, known = run_seconds(cfg)
        name = cfg["method"].get("name", "bp")
        if not known:
            est.unknown.add(name)
        est.per_run[rid] = s
        est.by_method[name] = est.by_method.get(name, 0.0) + s
        est.total_s += s
    grouped, singles = packs(runs, ids)
    est.packs = len(grouped)
    est.packed_s = sum(est.per_run[r] for r in singles)
    for chunk in grouped:
        slowest = max(est.per_run[r] for r in chunk)
        est.packed_s += slowest * (1 + (len(chunk) - 1) * PACK_MARGINAL)
    return est
