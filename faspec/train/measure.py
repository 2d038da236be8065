"""Metrics logged at every logged epoch (DOMAIN.md §3), and the conventions they follow.

Where: a fixed evaluation batch, the first `measure.eval_batch` test samples (true labels),
`model.eval()`, fp32 (the model's dtype; never fp16, which underflows g). Accuracy and, at
epoch 0, the training loss use whole sets, in chunks of `eval_batch`.

Conventions (each one changes the numbers, and the claims' thresholds assume them):

* Norms are per-sample L2 norms over the feature dimension, `t.norm(dim=-1)` — never
  `norm(-1)`, which is the matrix/"order −1" norm — summarized by the **median** over samples
  (numpy convention: the mean of the two middle values for an even count).
* g_l = `torch.autograd.grad` of the **batch-mean** CE w.r.t. h_l. It therefore carries a 1/N
  factor (‖g_L‖ ≈ 1e-3 at init for N = 1024), and the protocol's gradient floor ‖g_L‖ < 1e-7
  is stated in this convention and in fp32. A per-sample (summed) gradient would be N times
  larger and the floor would mean something else.
* Credits a_l are per sample (not divided by N); cosines are scale-free, so this does not
  matter for them, only for norms.
* cos_l = mean over samples of dot(a, g) / (‖a‖·‖g‖) with **no eps clamp**:
  `F.cosine_similarity(eps=1e-8)` divides by max(‖g‖, 1e-8) and shrinks the cosine by about
  ‖g‖/1e-8 exactly when the gradient floor is reached (‖g‖ ~ 1e-10), which would fake "no
  alignment". Each vector is first divided by its max-abs entry, so the result does not
  underflow in fp32 either. A sample whose a or g is exactly zero (saturated softmax) has no
  cosine and is left out of the mean; a layer with no defined sample gives null.
* deep_cos = mean of cos_l for l = 1..L; gamma (Γ) = mean for l = 0..L (layer 0 dominates DFA's
  Γ); growth = max_l median‖h_{l+1}‖ / median‖h_l‖ (protocol (a)).
* Values are plain Python floats; NaN and ±inf become None (JSON has neither).

Extending: a diagnostic is a function ``Probe -> dict[name, Tensor | list[Tensor] | None]``
appended to `DIAGNOSTICS`; a function of the already-converted entry (plain floats) goes in
`DERIVED`. The probe computes h_l, g_l and the credits a_l once per logged epoch; everything
else should be computed from it. Device tensors are read back in one transfer per epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from faspec.train.methods.base import Method, exact_gradients


@dataclass
class Probe:
    """Per-layer quantities on the evaluation batch, computed once per logged epoch."""

    model: nn.Module
    method: Method
    x: Tensor
    y: Tensor
    logits: Tensor
    hs: list[Tensor]  # h_0..h_L, detached
    gs: list[Tensor]  # ∂(batch-mean CE)/∂h_l
    credits: list[Tensor] | None  # per-sample a_0..a_L, or None


def make_probe(model: nn.Module, method: Method, x: Tensor, y: Tensor) -> Probe:
    logits, hs, gs = exact_gradients(model, x, y, reduction="mean")
    credits = method.credits(model, x, y)
    if credits is not None:
        credits = [a.detach() for a in credits]
        if len(credits) != len(hs):
            raise RuntimeError(f"{method.name}: {len(credits)} credits for {len(hs)} layers")
    return Probe(model, method, x, y, logits, hs, gs, credits)


def median_norm(t: Tensor) -> Tensor:
    """Median over samples of the per-sample L2 norm (over the last dimension)."""
    return torch.quantile(t.norm(dim=-1), 0.5)


def per_sample_cosine(a: Tensor, g: Tensor) -> Tensor:
    """cos(a_i, g_i) per sample with no eps clamp; NaN where either vector is zero.

    Dividing each vector by its max-abs entry first keeps the squares representable for
    ‖g‖ far below 1e-19 in fp32, and does not change the cosine.
    """
    a = a / a.abs().amax(dim=-1, keepdim=True)
    g = g / g.abs().amax(dim=-1, keepdim=True)
    return (a * g).sum(dim=-1) / (a.norm(dim=-1) * g.norm(dim=-1))


def mean_cosine(a: Tensor, g: Tensor) -> Tensor:
    """Sample mean of `per_sample_cosine`, over the samples where it is defined (NaN if none)."""
    return torch.nanmean(per_sample_cosine(a, g))


def layer_diagnostics(p: Probe) -> dict[str, Any]:
    """h_norm_layers, g_norm_layers, cos_layers (None without a credit)."""
    out: dict[str, Any] = {
        "h_norm_layers": [median_norm(h) for h in p.hs],
        "g_norm_layers": [median_norm(g) for g in p.gs],
        "cos_layers": None,
    }
    if p.credits is not None:
        out["cos_layers"] = [mean_cosine(a, g) for a, g in zip(p.credits, p.gs, strict=True)]
    return out


def _mean(values: list[float | None] | None) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return sum(values) / len(values)  # type: ignore[arg-type]


def scalar_summaries(entry: dict[str, Any]) -> dict[str, Any]:
    """h_norm, g_norm, deep_cos, gamma, growth from the per-layer lists (plain floats)."""
    h, g, cos = entry["h_norm_layers"], entry["g_norm_layers"], entry["cos_layers"]
    ratios = []
    for lo, hi in zip(h[:-1], h[1:], strict=True):
        ratios.append(None if lo is None or hi is None or lo == 0 else hi / lo)
    return {
        "h_norm": h[-1],
        "g_norm": g[-1],
        "deep_cos": _mean(cos[1:]) if cos is not None else None,
        "gamma": _mean(cos) if cos is not None else None,
        "growth": (None if not ratios or any(r is None for r in ratios) else max(ratios)),
    }


DIAGNOSTICS: list[Callable[[Probe], dict[str, Any]]] = [layer_diagnostics]
DERIVED: list[Callable[[dict[str, Any]], dict[str, Any]]] = [scalar_summaries]


@torch.no_grad()
def accuracy(model: nn.Module, x: Tensor, y: Tensor, chunk: int) -> Tensor:
    """Fraction of correct argmax predictions (a device scalar)."""
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    for i in range(0, len(x), chunk):
        correct += (model(x[i : i + chunk]).argmax(dim=-1) == y[i : i + chunk]).sum()
    return correct.double() / max(len(x), 1)


@torch.no_grad()
def dataset_loss(model: nn.Module, x: Tensor, y: Tensor, chunk: int) -> Tensor:
    """Mean CE over a whole set (a device scalar)."""
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    for i in range(0, len(x), chunk):
        total += F.cross_entropy(model(x[i : i + chunk]), y[i : i + chunk], reduction="sum")
    return total / max(len(x), 1)


def to_python(tree: dict[str, Any]) -> dict[str, Any]:
    """Replace every tensor scalar in a dict of scalars / lists by a float (NaN, inf -> None),
    with one device-to-host transfer."""
    flat: list[Tensor] = []

    def collect(v: Any) -> None:
        if isinstance(v, Tensor):
            flat.append(v.detach().reshape(()).to(torch.float64))
        elif isinstance(v, list):
            for item in v:
                collect(item)

    for v in tree.values():
        collect(v)
    values = iter(torch.stack(flat).cpu().tolist() if flat else [])

    def rebuild(v: Any) -> Any:
        if isinstance(v, Tensor):
            return clean_float(next(values))
        if isinstance(v, list):
            return [rebuild(item) for item in v]
        if isinstance(v, float):
            return clean_float(v)
        return v

    return {k: rebuild(v) for k, v in tree.items()}


def clean_float(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def epoch_entry(
    model: nn.Module,
    method: Method,
    x_test: Tensor,
    y_test: Tensor,
    eval_batch: int,
    epoch: int,
    train_loss: Tensor | float | None,
) -> dict[str, Any]:
    """One log entry: {"epoch", "test_acc", "train_loss", per-layer lists, scalar summaries}."""
    was_training = model.training
    model.eval()
    try:
        raw: dict[str, Any] = {
            "test_acc": accuracy(model, x_test, y_test, eval_batch),
            "train_loss": train_loss,
        }
        p = make_probe(model, method, x_test[:eval_batch], y_test[:eval_batch])
        for diag in DIAGNOSTICS:
            raw.update(diag(p))
    finally:
        model.train(was_training)
    entry = {"epoch": epoch, **to_python(raw)}
    for derive in DERIVED:
        entry.update(derive(entry))
    return entry
