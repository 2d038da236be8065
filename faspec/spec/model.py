"""The loaded form of a spec: what `spec.load` produces and `plan`/`check` consume.

Kept separate from the loader so that plan and check depend on plain dataclasses, not on
YAML parsing or the schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faspec.registry import METRICS

PointKey = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Where:
    """A position in a spec file, for error messages (1-based line and column)."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass
class MethodEntry:
    """One method of an experiment: `label` is how claims name it (`as:`), `name` the registry key."""

    label: str
    name: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Point:
    """One point of an experiment's sweep: the overrides applied and the merged config sections."""

    key: PointKey
    config: dict[str, Any]  # {"data":..., "model":..., "train":..., "measure":..., "method": {...}}


@dataclass
class Experiment:
    name: str
    methods: list[MethodEntry]
    seeds: list[int]
    sweep: dict[str, list[Any]]
    points: list[Point]
    where: Where
    resources: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reported:
    """A number the paper prints: mean, optional std (ddof=1) and optional seed count."""

    mean: float
    std: float | None = None
    n: int | None = None
    text: str = ""
    decimals: int | None = None  # decimal places the mean was printed with (None: unknown)
    std_decimals: int | None = None  # likewise for the std
    # the other printed forms (then `mean` is only for display): per seed in the experiment's
    # seed order, the range over seeds, or "n of N seeds below <label>"
    per_seed: list[float] | None = None
    minimum: float | None = None
    maximum: float | None = None
    below: str | None = None
    count: tuple[int, int] | None = None
    # where the number is read: a layer of a per-layer metric, a logged epoch (None: final)
    index: Any = None  # a layer, or (start, stop) for layers pooled with the seeds
    epoch: int | None = None

    def resolution(self) -> float | None:
        """Half a unit of the last printed digit: how far rounding alone can move the mean."""
        return None if self.decimals is None else 0.5 * 10.0 ** (-self.decimals)

    def std_resolution(self) -> float | None:
        return None if self.std_decimals is None else 0.5 * 10.0 ** (-self.std_decimals)


@dataclass
class Claim:
    id: str
    expect: str
    expr: Any  # the AST from spec.expr
    experiment: str
    metric: str = "test_acc"
    where_paper: str = ""  # the `where:` field: where the paper states it
    seeds: str | None = None  # None (over seeds), "all", or "k/n"
    for_each: str | None = None
    at: dict[str, Any] = field(default_factory=dict)
    reported: dict[str, Reported] = field(default_factory=dict)
    covers: list[str] = field(default_factory=list)
    where: Where = field(default_factory=lambda: Where(""))
    expect_where: Where = field(default_factory=lambda: Where(""))
    # The method label of the frozen-blocks baseline that protocol diagnostic (d) compares with:
    # the experiment's own `frozen` entry, else the label under which the plan adds it.
    baseline: str = "frozen"
    # "valid": a cosine-type value read where ‖g_L‖ < the protocol floor makes the comparison
    # inconclusive; "allow_degenerate": it is used, and marked in the report
    reference: str = "valid"


@dataclass
class MetricStats:
    close: float | None = None  # absolute margin for ~=
    much: float | None = None  # absolute gap for >> / <<
    close_ratio: float | None = None  # for log-scale metrics: ratio margin
    much_ratio: float | None = None
    scale: str = "linear"  # "linear" or "log": log-scale metrics are tested on log10 values

    def to_dict(self) -> dict[str, Any]:
        return {
            "close": self.close,
            "much": self.much,
            "close_ratio": self.close_ratio,
            "much_ratio": self.much_ratio,
            "scale": self.scale,
        }


def _log_metric() -> MetricStats:
    return MetricStats(scale="log", close_ratio=2.0, much_ratio=10.0)


# The margins a spec gets unless its `stats:` block says otherwise (documented in schema.json).
# Accuracy moves by about 0.01 between seeds of one config; losses and cosines are noisier;
# norms span orders of magnitude, so they are compared as ratios on a log10 scale.
DEFAULT_ALPHA = 0.05
DEFAULT_TEST = "welch"
DEFAULT_CORRECTION = "holm"  # see faspec/check/family.py and the README's claim section
DEFAULT_METRIC_STATS: dict[str, MetricStats] = {
    "test_acc": MetricStats(close=0.01, much=0.05),
    "train_loss": MetricStats(close=0.05, much=0.2),
    "deep_cos": MetricStats(close=0.05, much=0.2),
    "gamma": MetricStats(close=0.05, much=0.2),
    "cos_layers": MetricStats(close=0.05, much=0.2),
    "h_norm": _log_metric(),
    "g_norm": _log_metric(),
    "growth": _log_metric(),
    "h_norm_layers": _log_metric(),
    "g_norm_layers": _log_metric(),
}


@dataclass
class Stats:
    alpha: float = DEFAULT_ALPHA
    test: str = DEFAULT_TEST  # "welch" or "student"
    correction: str = DEFAULT_CORRECTION  # "holm", "bh" or "none", over the spec's claims
    family: str = (
        "spec"  # "spec": the spec's claims; "run": every `family: run` spec verified together
    )
    metrics: dict[str, MetricStats] = field(default_factory=dict)
    # how a `reported:` number is checked: "reproduction" (default; new runs of the paper's
    # experiments, decided by tests within the reproduction margin) or "source" (the very runs
    # the paper's numbers were computed from: each must round to the printed digits, seed count
    # included; see faspec/check/reported.py)
    reported: str = "reproduction"

    def metric(self, name: str) -> MetricStats:
        """The margins for a metric: the spec's entry, else the default, else none (linear)."""
        if name in self.metrics:
            return self.metrics[name]
        if name in DEFAULT_METRIC_STATS:
            return DEFAULT_METRIC_STATS[name]
        m = METRICS.get(name)  # a plug-in metric: its declared scale and margins
        if m is not None:
            return MetricStats(m.close, m.much, m.close_ratio, m.much_ratio, m.scale)
        return MetricStats()


@dataclass
class Spec:
    name: str
    title: str
    path: Path
    experiments: dict[str, Experiment]
    claims: list[Claim]
    stats: Stats
    raw: dict[str, Any] = field(default_factory=dict)
    profile: str | None = None  # the `profiles:` entry applied when loading, if any
    # seedless_key(raw run config) -> its normalized config, made once by the loader while it
    # validates; the plan reuses it instead of normalizing every run again (faspec.config.reseed)
    normalized: dict[str, dict[str, Any]] = field(default_factory=dict)
