"""Null calibration: how large a cosine fresh, untrained feedback would give (docs/metrics.md).

A deep cosine of +0.16 means something only against what chance gives on the same trained
network: the paper's check recomputes the cosine with 20 fresh feedback draws from the same
distribution as the training B (C18: +0.002 ± 0.022 vs +0.163). Here a "draw" is the method
rebuilt by its own factory from a fresh generator (and a freshly seeded global RNG, for methods
whose learned feedback nets use PyTorch's default initializers): DFA/FA get new B_l, SB/CB get
untrained bridge nets. The trained model, the evaluation batch and the reference g are those of
the run. A method with no random state of its own (BP, EP) or no credit (frozen) has no null:
its fields are null.

Std over draws uses ddof=1 (the project's convention).
"""

from __future__ import annotations

import copy
import statistics
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from faspec.config import normalize_config
from faspec.registry import METHODS
from faspec.train.build import load_checkpoint, resolve_device
from faspec.train.data import load_data
from faspec.train.measure import MeasureOptions, make_probe, mean_cosine, to_python
from faspec.train.methods.base import Method


def draw_seed(run_seed: int, draw: int) -> int:
    """The seed of null draw `draw` (a stream of its own, apart from the training feedback)."""
    state = np.random.SeedSequence([int(run_seed), 0x6E756C6C, int(draw)]).generate_state(2)
    return int((int(state[0]) << 31) ^ int(state[1]))


def fresh_method(model: nn.Module, method: Method, method_cfg: dict[str, Any], seed: int) -> Method:
    """`method`'s rule rebuilt with fresh random state drawn from `seed`, on `model`'s device.

    The factory may adjust the model in `setup`, so callers pass a copy of the trained model.
    """
    comp = METHODS[method_cfg["name"]]
    opts = {k: method_cfg[k] for k in comp.options if k in method_cfg}
    device = next(model.parameters()).device
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = comp.factory(model, method.num_classes, torch.Generator().manual_seed(seed), **opts)
    return fresh.to(device)


def _std(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    if len(vals) != len(values) or len(vals) < 2:
        return None
    return statistics.stdev(vals)


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return None if len(vals) != len(values) or not vals else statistics.fmean(vals)


def null_cosines(
    model: nn.Module,
    method: Method,
    method_cfg: dict[str, Any],
    x: Tensor,
    y: Tensor,
    draws: int,
    run_seed: int,
) -> dict[str, Any]:
    """Cosines of `draws` fresh feedback draws on the trained `model` and the batch (x, y).

    Returns (plain floats, None where undefined): ``cos_layers`` (the training feedback),
    ``deep_cos``, ``gamma``; ``null_cos_layers`` / ``null_cos_std_layers`` (per layer, mean and
    std over draws), ``null_deep_cos`` (mean over draws of the per-draw average over layers 1..L),
    ``null_deep_cos_std`` (the paper's ±: the per-layer std over draws, averaged over layers
    1..L), ``null_deep_cos_draw_std`` (std over draws of the per-draw deep average, about half
    as large), ``null_gamma`` / ``null_gamma_std`` (mean / std of the per-draw average over 0..L),
    ``null_deep_cos_values`` (one per draw), ``null_draws`` (0 when not applicable) and
    ``reason`` (why not, or None).
    """
    empty: dict[str, Any] = {
        "null_cos_layers": None,
        "null_cos_std_layers": None,
        "null_deep_cos": None,
        "null_deep_cos_std": None,
        "null_deep_cos_draw_std": None,
        "null_gamma": None,
        "null_gamma_std": None,
        "null_deep_cos_values": None,
        "null_draws": 0,
    }
    was_training = model.training
    model.eval()
    try:
        probe = make_probe(model, method, x, y, MeasureOptions(eval_batch=len(x)))
        if probe.credits is None:
            none = {"cos_layers": None, "deep_cos": None, "gamma": None}
            return {**empty, **none, "reason": "the method has no credit"}
        trained = [mean_cosine(a, g) for a, g in zip(probe.credits, probe.gs, strict=True)]
        per_draw: list[list[Tensor]] = []
        if draws > 0 and len(method.state_dict()) > 0:
            work = copy.deepcopy(model).eval()
            for k in range(draws):
                fresh = fresh_method(work, method, method_cfg, draw_seed(run_seed, k))
                fresh.eval()
                credits = fresh.credits(work, x, y)
                per_draw.append(
                    [mean_cosine(a.detach(), g) for a, g in zip(credits, probe.gs, strict=True)]
                )
    finally:
        model.train(was_training)
    conv = to_python({"trained": trained, "draws": [c for row in per_draw for c in row]})
    cos = conv["trained"]
    n_layers = len(cos)
    rows = [conv["draws"][i * n_layers : (i + 1) * n_layers] for i in range(len(per_draw))]
    out: dict[str, Any] = {
        "cos_layers": cos,
        "deep_cos": _mean(cos[1:]) if n_layers > 1 else None,
        "gamma": _mean(cos),
    }
    if not rows:
        reason = "no draws asked for" if draws <= 0 else "the method has no random feedback state"
        return {**empty, **out, "reason": reason}
    deep = [_mean(r[1:]) if n_layers > 1 else None for r in rows]
    gamma = [_mean(r) for r in rows]
    cols = [[r[i] for r in rows] for i in range(n_layers)]
    std_layers = [_std(c) for c in cols]
    return {
        **out,
        "null_cos_layers": [_mean(c) for c in cols],
        "null_cos_std_layers": std_layers,
        "null_deep_cos": _mean(deep),
        "null_deep_cos_std": _mean(std_layers[1:]) if n_layers > 1 else None,
        "null_deep_cos_draw_std": _std(deep),
        "null_gamma": _mean(gamma),
        "null_gamma_std": _std(gamma),
        "null_deep_cos_values": deep,
        "null_draws": len(rows),
        "reason": None,
    }


def null_calibration(
    config: dict[str, Any],
    checkpoint_bytes: bytes,
    draws: int = 20,
    seed: int | None = None,
    device: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Null calibration of a saved run: its model and feedback restored from the checkpoint,
    the cosine recomputed with `draws` fresh feedback draws (seeded from `seed`, default the
    run's seed) on the run's evaluation batch. See `null_cosines` for the fields; adds
    ``draws_asked``, ``seed`` and ``eval_batch``."""
    cfg = normalize_config(config)
    dev = resolve_device(device)
    model, method = load_checkpoint(cfg, checkpoint_bytes, dev)
    data = load_data(cfg["data"])
    nb = cfg["measure"]["eval_batch"]
    x, y = data.x_test[:nb].to(dev), data.y_test[:nb].to(dev)
    seed = cfg["seed"] if seed is None else int(seed)
    out = null_cosines(model, method, cfg["method"], x, y, draws, seed)
    return {**out, "draws_asked": draws, "seed": seed, "eval_batch": len(x)}
