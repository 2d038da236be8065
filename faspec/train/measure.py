"""Metrics logged at every logged epoch (docs/paper.md), and the conventions they follow.

docs/metrics.md is the reference (every metric, its formula, its options, where it is stored);
this docstring keeps the conventions next to the code that must honour them.

Where: a fixed evaluation batch, the first `measure.eval_batch` test samples (true labels),
`model.eval()`, fp32 (the model's dtype; never fp16, which underflows g). Accuracy and, at
epoch 0, the training loss use whole sets, in chunks of `eval_batch`.

Conventions (each one changes the numbers, and the claims' thresholds assume them):

* Norms are per-sample L2 norms over the sample's features (`t.flatten(1).norm(dim=-1)`; for
  (N, d) states this is `norm(dim=-1)` — never `norm(-1)`, which is the matrix/"order −1"
  norm) summarized by the **median** over samples (numpy convention: the mean of the two
  middle values for an even count).
* g_l = `torch.autograd.grad` of the **batch-mean** CE w.r.t. h_l. It therefore carries a 1/N
  factor (‖g_L‖ ≈ 1e-3 at init for N = 1024), and the protocol's gradient floor ‖g_L‖ < 1e-7
  is stated in this convention, in fp32, for N = `protocol.g_floor_batch` (1024): on another
  evaluation batch the floor is scaled by 1024/N (`faspec.protocol.g_floor_at`). A per-sample (summed) gradient would be N times
  larger and the floor would mean something else. Sparsity's 1e-6 is in the same convention
  and is scaled the same way (`sparsity_tau_at`, stated for `sparsity_batch` = 1024).
* Credits a_l are per sample (not divided by N); cosines are scale-free, so this does not
  matter for them, only for norms.
* cos_l = mean over samples of dot(a, g) / (‖a‖·‖g‖) with **no eps clamp**:
  `F.cosine_similarity(eps=1e-8)` divides by max(‖g‖, 1e-8) and shrinks the cosine by about
  ‖g‖/1e-8 exactly when the gradient floor is reached (‖g‖ ~ 1e-10), which would fake "no
  alignment". Each vector is first divided by its max-abs entry, so the result does not
  underflow in fp32 either. A sample whose a or g is exactly zero (saturated softmax) has no
  cosine and is left out of the mean; a layer with no defined sample gives null. Below the
  gradient floor the cosine is still computed (it is exact arithmetic on the g we have), but
  the entry's `ref_degenerate` flag says the reference itself is past (b) and not to be trusted
  (docs/paper.md: "no cosine when ‖g_L‖ < 1e-7" — we keep the number and flag it).
* deep = layers 1..L (deep_cos, rho, nudge); gamma (Γ) = mean over l = 0..L (layer 0 dominates
  DFA's Γ); growth = max_l median‖h_{l+1}‖ / median‖h_l‖ (protocol (a)).
* ρ and nudging difference the loss of a perturbed forward pass. With ε = 1e-3 and ‖h‖ ~ 1e8
  (DFA after training) h + εu == h in fp32 and the change would be rounding noise, so the
  *finite differences* run on a float64 copy of the model by default (`measure.fd_dtype`); the
  credits and g they are compared with are the fp32 ones.
* Values are plain Python floats; NaN and ±inf become None (JSON has neither).

Extending: a diagnostic is a function ``Probe -> dict[name, Tensor | list[Tensor] | None]``
appended to `DIAGNOSTICS`; a function of the already-converted entry (plain floats) goes in
`DERIVED`. The probe computes h_l, g_l and the credits a_l once per logged epoch; everything
else should be computed from it. Device tensors are read back in one transfer per epoch.
Register every new name in `faspec.registry` (SCALAR_METRICS / LAYER_METRICS).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from faspec.config import MEASURE_DIAGNOSTIC_OPTIONS
from faspec.registry import METRICS
from faspec.train.methods.base import Method, exact_gradients, rms_normalize

# Options of the `measure` config section that the diagnostics read (declared, torch-free, in
# faspec.config beside the other options of the section).
OPTIONS = MEASURE_DIAGNOSTIC_OPTIONS


@dataclass(frozen=True)
class MeasureOptions:
    """The measurement options a probe needs (defaults = `OPTIONS`' defaults)."""

    eval_batch: int = 1024
    rho_dirs: int = 32
    rho_batch: int | None = None
    rho_eps: float = 1e-3
    nudge_eta: float = 0.01
    nudge_norm: str = "rms"
    fd_dtype: str = "float64"
    stability_batch: int = 128
    stability_layer: int | None = None
    sparsity_tau: float = 1e-6
    sparsity_batch: int = 1024
    null_draws: int = 0
    metrics: tuple[str, ...] = ()  # plug-in metrics selected by `measure.metrics`

    @classmethod
    def from_config(cls, measure: dict[str, Any]) -> MeasureOptions:
        """From a normalized `measure` section (unknown keys such as `protocol` ignored)."""
        names = cls.__dataclass_fields__
        opts = {k: v for k, v in measure.items() if k in names}
        opts["metrics"] = tuple(measure.get("metrics") or ())
        return cls(**opts)


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
    opts: MeasureOptions = field(default_factory=MeasureOptions)
    rng_seed: int = 0  # seeds ρ's random directions
    _fd: nn.Module | None = field(default=None, repr=False)

    def fd_model(self) -> nn.Module:
        """The model the finite differences run on: a float64 copy (made once per probe) or
        the model itself for `fd_dtype: float32`."""
        if self.opts.fd_dtype == "float32":
            return self.model
        if self._fd is None:
            self._fd = copy.deepcopy(self.model).to(torch.float64).eval()
        return self._fd

    @property
    def fd_dtype(self) -> torch.dtype:
        return torch.float32 if self.opts.fd_dtype == "float32" else torch.float64


def make_probe(
    model: nn.Module,
    method: Method,
    x: Tensor,
    y: Tensor,
    opts: MeasureOptions | None = None,
    rng_seed: int = 0,
) -> Probe:
    """h_l, g_l (batch-mean CE) and the method's per-sample credits on (x, y), computed once so
    that every diagnostic of the epoch reads the same tensors."""
    logits, hs, gs = exact_gradients(model, x, y, reduction="mean")
    credits = method.credits(model, x, y)
    if credits is not None:
        credits = [a.detach() for a in credits]
        if len(credits) != len(hs):
            raise RuntimeError(f"{method.name}: {len(credits)} credits for {len(hs)} layers")
    return Probe(model, method, x, y, logits, hs, gs, credits, opts or MeasureOptions(), rng_seed)


def median_norm(t: Tensor) -> Tensor:
    """Median over samples of the per-sample L2 norm (over all features of a sample)."""
    return torch.quantile(t.flatten(1).norm(dim=-1), 0.5)


def per_sample_cosine(a: Tensor, g: Tensor) -> Tensor:
    """cos(a_i, g_i) per sample with no eps clamp; NaN where either vector is zero.

    Dividing each vector by its max-abs entry first keeps the squares representable for
    ‖g‖ far below 1e-19 in fp32, and does not change the cosine.
    """
    a, g = a.flatten(1), g.flatten(1)
    a = a / a.abs().amax(dim=-1, keepdim=True)
    g = g / g.abs().amax(dim=-1, keepdim=True)
    return (a * g).sum(dim=-1) / (a.norm(dim=-1) * g.norm(dim=-1))


def mean_cosine(a: Tensor, g: Tensor) -> Tensor:
    """Sample mean of `per_sample_cosine`, over the samples where it is defined (NaN if none)."""
    return torch.nanmean(per_sample_cosine(a, g))


def unit_rows(v: Tensor) -> Tensor:
    """Each sample's vector (flattened) scaled to unit L2 norm, in float64 (no underflow for
    ‖v‖ ~ 1e-30); an exactly-zero vector stays zero (it has no direction)."""
    v = v.flatten(1).double()
    n = v.norm(dim=-1, keepdim=True)
    return torch.where(n > 0, v / n, torch.zeros_like(v))


def pearson(x: Tensor, y: Tensor) -> Tensor:
    """Pearson correlation of two equally shaped tensors (flattened); NaN if either is constant."""
    x, y = x.flatten().double(), y.flatten().double()
    x, y = x - x.mean(), y - y.mean()
    return (x * y).sum() / (x.norm() * y.norm())


def forward_from(model: nn.Module, layer: int, h: Tensor) -> Tensor:
    """Logits from h_layer through blocks layer..L-1 and the head (the arch contract)."""
    for block in model.blocks[layer:]:
        h = model.combine(h, block(h))
    return model.head_logits(h)


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


def _directions(gen: torch.Generator, k: int, like: Tensor) -> Tensor:
    """k random unit directions per sample, shaped (k, *like.shape), drawn on like's device
    (in fp32, the cheaper draw: they are only directions) and cast to like's dtype."""
    z = torch.randn((k, *like.shape), generator=gen, device=like.device).to(like.dtype)
    return z / z.flatten(2).norm(dim=-1).reshape(k, len(like), *([1] * (like.dim() - 1)))


_CACHE_DIRECTIONS = 1 << 25  # elements: below this, one draw serves every layer of a shape


@torch.no_grad()
def rho_layers(p: Probe) -> list[Tensor] | None:
    """ρ_l: Pearson correlation, over (sample, direction) pairs, of the change the credit
    predicts, ε⟨a_l(x), u⟩, with the actual change CE_x(h_l + εu) − CE_x(h_l) (per-sample CE,
    the rest of the network forwarded). A credit equal to the true gradient gives ρ ≈ 1 (up to
    curvature, O(ε)); an unrelated credit gives ≈ 0. None without a credit or with rho_dirs 0.

    The directions come from a generator on the model's device seeded with the probe's seed
    (the same directions at every layer of a shape, chunk by chunk, so memory stays bounded
    for ViT/CNN states): drawing them on the CPU would cost seconds per epoch for ViT-sized
    states, and a run is not bit-identical across devices anyway (training is not).
    """
    if p.credits is None or p.opts.rho_dirs == 0:
        return None
    n = len(p.x) if p.opts.rho_batch is None else min(p.opts.rho_batch, len(p.x))
    eps, dt, dirs = p.opts.rho_eps, p.fd_dtype, p.opts.rho_dirs
    m = p.fd_model()
    y = p.y[:n]
    out: list[Tensor] = []
    cache: dict[tuple[int, ...], list[Tensor]] = {}
    for layer, (h, a) in enumerate(zip(p.hs, p.credits, strict=True)):
        h, a = h[:n].to(dt), a[:n].to(dt)
        gen = torch.Generator(device=h.device).manual_seed(p.rng_seed)
        base = F.cross_entropy(forward_from(m, layer, h), y, reduction="none")
        per = max(1, (1 << 22) // max(1, h[0].numel() * n))  # directions per chunk (~32 MB)
        shape = tuple(h.shape)
        keep = dirs * h.numel() <= _CACHE_DIRECTIONS
        chunks = cache.get(shape, [])
        pred, actual = [], []
        for j, i in enumerate(range(0, dirs, per)):
            k = min(per, dirs - i)
            if j < len(chunks):
                u = chunks[j]
            else:
                u = _directions(gen, k, h)
                if keep:
                    chunks.append(u)
            pred.append(eps * (u.flatten(2) * a.flatten(1)).sum(dim=-1))  # (k, n)
            hp = (h.unsqueeze(0) + eps * u).reshape(k * n, *h.shape[1:])
            ce = F.cross_entropy(forward_from(m, layer, hp), y.repeat(k), reduction="none")
            actual.append(ce.view(k, n) - base)
        out.append(pearson(torch.cat(pred), torch.cat(actual)))
        if keep:
            cache[shape] = chunks
    return out


def rms_rows(v: Tensor) -> Tensor:
    """Each sample's vector (flattened) as the notes' normalized credit â = a/(RMS(a) + 1e-6)
    (the bridges' `rms_normalize`), in float64. Its norm is ≈ √d, not 1."""
    return rms_normalize(v.flatten(1).double(), 1e-6)


@torch.no_grad()
def nudge_layers(p: Probe) -> list[Tensor] | None:
    """ΔCE_l: batch-mean CE after h_l ← h_l − η·â_l (per sample), the rest forwarded, minus the
    CE before. â is the notes' normalized credit a/(RMS(a) + 1e-6) (`nudge_norm: rms`, the
    default: the paper's nudging values are absolute, and the notes write the step with â) or
    a/‖a‖ (`nudge_norm: unit`, √d times smaller). Negative = a step against the credit lowers
    the loss (the credit helps). A zero credit does not move its sample."""
    if p.credits is None:
        return None
    eta, dt = p.opts.nudge_eta, p.fd_dtype
    norm = rms_rows if p.opts.nudge_norm == "rms" else unit_rows
    m = p.fd_model()
    out: list[Tensor] = []
    for layer, (h, a) in enumerate(zip(p.hs, p.credits, strict=True)):
        h = h.to(dt)
        step = norm(a).to(dt).reshape(h.shape)
        before = F.cross_entropy(forward_from(m, layer, h), p.y)
        after = F.cross_entropy(forward_from(m, layer, h - eta * step), p.y)
        out.append(after - before)
    return out


def stability(g: Tensor, batch: int) -> Tensor:
    """Cross-batch direction stability of per-sample gradients g (N, ...): unit-normalize each
    sample's g, average within each of the ⌊N / batch⌋ disjoint consecutive batches, and take
    the mean pairwise cosine between the batch means (float64). ≈ 1 when every sample's
    gradient points one way, ≈ 0 (± 1/√d) for independent directions; NaN when fewer than two
    batches fit or a batch mean is zero. Scale-free, so g's 1/N convention does not matter."""
    k = len(g) // batch
    if k < 2:
        return torch.tensor(float("nan"), device=g.device)
    means = unit_rows(g[: k * batch]).view(k, batch, -1).mean(dim=1)
    means = means / means.norm(dim=-1, keepdim=True)
    c = means @ means.T
    iu = torch.triu_indices(k, k, offset=1, device=g.device)
    return c[iu[0], iu[1]].mean()


def stability_diagnostics(p: Probe) -> dict[str, Any]:
    """stability_layers (every l) and stability (at `stability_layer`, default L // 2)."""
    layers = [stability(g, p.opts.stability_batch) for g in p.gs]
    at = p.opts.stability_layer
    at = (len(p.gs) - 1) // 2 if at is None else min(at, len(p.gs) - 1)
    return {"stability_layers": layers, "stability": layers[at]}


def credit_diagnostics(p: Probe) -> dict[str, Any]:
    """rho_layers and nudge_layers (None without a credit)."""
    return {"rho_layers": rho_layers(p), "nudge_layers": nudge_layers(p)}


def sparsity_tau_at(opts: MeasureOptions, n: int) -> float:
    """Sparsity's threshold on n evaluation samples: sparsity_tau·sparsity_batch/n. Each
    sample's row of g (the batch-mean CE's gradient) is (1/n)·∂CE_x/∂h_L(x), so it scales as
    1/n, exactly like (b)'s floor (faspec.protocol.g_floor_at)."""
    return float(opts.sparsity_tau) * float(opts.sparsity_batch) / float(max(n, 1))


def sparsity_diagnostics(p: Probe) -> dict[str, Any]:
    """sparsity: fraction of evaluation samples with ‖g_L(x)‖ > sparsity_tau, the threshold
    rescaled to the evaluation batch (`sparsity_tau_at`; batch-mean convention, like the floor)."""
    norms = p.gs[-1].flatten(1).double().norm(dim=-1)
    return {"sparsity": (norms > sparsity_tau_at(p.opts, len(p.x))).double().mean()}


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


def credit_summaries(entry: dict[str, Any]) -> dict[str, Any]:
    """rho and nudge: means over the deep layers 1..L (None if any is undefined, or L = 0)."""
    out: dict[str, Any] = {}
    for name in ("rho", "nudge"):
        layers = entry.get(f"{name}_layers")
        out[name] = _mean(layers[1:]) if layers is not None else None
    return out


# Metrics a method reports about itself (`method.extra_metrics(model, x, y)`, optional): null
# for every other method, so that every log entry has the same keys.
METHOD_METRICS = ("ep_residual", "ep_converged")


def method_diagnostics(p: Probe) -> dict[str, Any]:
    """The method's own metrics on the evaluation batch (EP: its free phase's residual)."""
    out: dict[str, Any] = dict.fromkeys(METHOD_METRICS)
    extra = getattr(p.method, "extra_metrics", None)
    if extra is not None:
        out.update(extra(p.model, p.x, p.y))
    return out


DIAGNOSTICS: list[Callable[[Probe], dict[str, Any]]] = [
    layer_diagnostics,
    credit_diagnostics,
    stability_diagnostics,
    sparsity_diagnostics,
    method_diagnostics,
]
DERIVED: list[Callable[[dict[str, Any]], dict[str, Any]]] = [scalar_summaries, credit_summaries]


@torch.no_grad()
def accuracy(
    model: nn.Module, x: Tensor, y: Tensor, chunk: int, method: Method | None = None
) -> Tensor:
    """Fraction of correct argmax predictions (a device scalar). A method with its own
    `predict(model, x) -> logits` (EP: the free equilibrium) predicts; else the model does."""
    predict = getattr(method, "predict", None) or (lambda _m, xb: model(xb))
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    for i in range(0, len(x), chunk):
        correct += (predict(model, x[i : i + chunk]).argmax(dim=-1) == y[i : i + chunk]).sum()
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


def plugin_metrics(p: Probe) -> dict[str, Any]:
    """The plug-in metrics the run selected (`measure.metrics`), each `factory(probe)` (the
    contract: docs/plugins.md); a layer metric must give one value per layer h_0..h_L."""
    out: dict[str, Any] = {}
    for name in p.opts.metrics:
        value = METRICS[name].factory(p)
        if name.endswith("_layers"):
            if not isinstance(value, list | tuple) or len(value) != len(p.hs):
                raise RuntimeError(
                    f"metric {name!r} must return a list of {len(p.hs)} per-layer values, got "
                    f"{type(value).__name__}"
                )
            value = list(value)
        out[name] = value
    return out


def epoch_entry(
    model: nn.Module,
    method: Method,
    x_test: Tensor,
    y_test: Tensor,
    eval_batch: int,
    epoch: int,
    train_loss: Tensor | float | None,
    opts: MeasureOptions | None = None,
    rng_seed: int = 0,
) -> dict[str, Any]:
    """One log entry: {"epoch", "test_acc", "train_loss", per-layer lists, scalar summaries}
    (the per-run protocol fields are added by `Tracker`)."""
    was_training = model.training
    model.eval()
    try:
        raw: dict[str, Any] = {
            "test_acc": accuracy(model, x_test, y_test, eval_batch, method),
            "train_loss": train_loss,
        }
        p = make_probe(
            model, method, x_test[:eval_batch], y_test[:eval_batch], opts, rng_seed=rng_seed
        )
        for diag in DIAGNOSTICS:
            raw.update(diag(p))
        raw.update(plugin_metrics(p))
    finally:
        model.train(was_training)
    entry = {"epoch": epoch, **to_python(raw)}
    for derive in DERIVED:
        entry.update(derive(entry))
    return entry
