"""Spec building: schema-valid spec data -> `Spec` (experiments, methods, sweeps, stats, claims).

Promise: `Builder(doc, path, registry, validate_run_options).build()` returns the `Spec` and
leaves every semantic error, located, in `.errors` (never raises for a user error): unknown
methods and metrics, method labels (keywords, duplicates), missing methods or seeds, the
protocol given twice, run options the trainer rejects (located at the key in the sweep, the
experiment or the defaults that set them), non-finite stats. Experiments are `defaults` deep-
merged with their own sections (SECTIONS; a different dataset or architecture starts afresh),
lists in REPLACED replaced whole, and the sweep expanded to its points. Claims are built by
`build_claims.ClaimBuilder`.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faspec.config import seedless_key
from faspec.spec import expr as E
from faspec.spec.build_claims import ClaimBuilder
from faspec.spec.errors import Collector, SpecError
from faspec.spec.errors import choices_hint as _choices_hint
from faspec.spec.model import (
    DEFAULT_ALPHA,
    DEFAULT_CORRECTION,
    DEFAULT_METRIC_STATS,
    DEFAULT_TEST,
    Experiment,
    MethodEntry,
    MetricStats,
    Point,
    Spec,
    Stats,
    Where,
)
from faspec.spec.yamlpos import Doc as _Doc
from faspec.spec.yamlpos import deep_merge as _deep_merge
from faspec.spec.yamlpos import ptr as _ptr

SECTIONS = ("data", "model", "train", "measure")  # deep-merged from defaults
REPLACED = ("methods", "seeds", "resources")  # replaced as a whole

# validate_run_options(config, where): one RunConfig normalized, or its located errors (see load)
Validate = Callable[
    [dict[str, Any], Callable[[str], Where]], tuple[dict[str, Any] | None, list[SpecError]]
]


# The key that names a section's component: options of one dataset or architecture mean nothing
# to another, so an experiment that names a different one starts from its own options alone.
_COMPONENT_KEY = {"data": "name", "model": "arch"}


def _merge_section(section: str, base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    key = _COMPONENT_KEY.get(section)
    if key and key in over and key in base and over[key] != base[key]:
        return dict(over)
    return _deep_merge(base, over)


def _set_dotted(cfg: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    d = cfg
    for p in parts[:-1]:
        if not isinstance(d.get(p), dict):
            d[p] = {}
        d = d[p]
    d[parts[-1]] = copy.deepcopy(value)


class Builder(Collector):
    """Turns schema-valid data into a Spec, collecting every semantic error with its position.

    `registry` is the component registry (METHODS, metric_names()); `validate_run_options`
    checks one RunConfig with the trainer's rules and returns located errors (both are given by
    `load`, which decides where they come from).
    """

    def __init__(
        self, doc: _Doc, path: Path, registry: Any, validate_run_options: Validate
    ) -> None:
        super().__init__(doc)
        self.data: dict[str, Any] = doc.data
        self.path = path
        self.registry = registry
        self.validate_run_options = validate_run_options
        self.normalized: dict[str, dict[str, Any]] = {}  # seedless_key -> normalized config
        self.methods = sorted(self.registry.METHODS)
        self.metrics = list(self.registry.metric_names())

    # -- stats
    def stats(self) -> Stats:
        raw = self.data.get("stats") or {}
        metrics = {k: copy.copy(v) for k, v in DEFAULT_METRIC_STATS.items()}
        for name, fields in (raw.get("metrics") or {}).items():
            if name not in self.metrics:
                self.err(
                    self.at(_ptr("/stats/metrics", name), key=True),
                    f"stats for unknown metric '{name}'",
                    _choices_hint(name, self.metrics, "metrics"),
                )
                continue
            base = metrics.get(name, MetricStats())
            metrics[name] = MetricStats(**{**base.to_dict(), **fields})
        for key in ("alpha",):
            if key in raw and not _finite(raw[key]):
                self.err(self.at(_ptr("/stats", key)), f"stats: {key} must be a finite number")
        for name, fields in (raw.get("metrics") or {}).items():
            for key, value in fields.items():
                if key != "scale" and not _finite(value):
                    self.err(
                        self.at(_ptr(_ptr("/stats/metrics", name), key)),
                        f"stats: {name}.{key} must be a finite number, not {value!r}",
                        "an infinite margin would silently turn the check off",
                    )
        return Stats(
            alpha=float(raw.get("alpha", DEFAULT_ALPHA))
            if _finite(raw.get("alpha", 0.05))
            else DEFAULT_ALPHA,
            test=str(raw.get("test", DEFAULT_TEST)),
            correction=str(raw.get("correction", DEFAULT_CORRECTION)),
            family=str(raw.get("family", "spec")),
            metrics=metrics,
            reported=str(raw.get("reported", "reproduction")),
        )

    # -- experiments
    def method_entries(self, items: list[Any], ptr: str) -> list[MethodEntry]:
        out: list[MethodEntry] = []
        labels: dict[str, int] = {}
        for i, item in enumerate(items):
            iptr = _ptr(ptr, i)
            if isinstance(item, str):
                entry = MethodEntry(label=item, name=item)
                name_ptr = label_ptr = iptr
            else:
                opts = {k: v for k, v in item.items() if k not in ("method", "as")}
                entry = MethodEntry(
                    label=item.get("as", item["method"]), name=item["method"], options=opts
                )
                name_ptr = _ptr(iptr, "method")
                label_ptr = _ptr(iptr, "as") if "as" in item else name_ptr
            if entry.name not in self.registry.METHODS:
                hint = _choices_hint(entry.name, self.methods, "registered methods")
                if not self.methods:
                    hint = "no methods are registered (is faspec.train importable?)"
                self.err(self.at(name_ptr), f"unknown method '{entry.name}'", hint)
            if entry.label in E.KEYWORDS:
                self.err(
                    self.at(label_ptr),
                    f"'{entry.label}' is a keyword of the claim language and cannot be a label",
                    "give the entry another label with `as:`",
                )
            if entry.label in labels:
                self.err(
                    self.at(label_ptr),
                    f"duplicate method label '{entry.label}' (also entry {labels[entry.label]} of this list)",
                    "give one of them another label with `as:`",
                )
            labels.setdefault(entry.label, i)
            out.append(entry)
        return out

    def experiment(self, name: str, raw: dict[str, Any]) -> Experiment:
        defaults = self.data.get("defaults") or {}
        eptr = _ptr("/experiments", name)
        sections = {s: _merge_section(s, defaults.get(s) or {}, raw.get(s) or {}) for s in SECTIONS}
        protocol = self.protocol(eptr, defaults, raw)
        if protocol is not None:
            sections["measure"] = {**sections["measure"], "protocol": protocol}
        picked: dict[str, tuple[Any, str]] = {}
        for key in REPLACED:
            if key in raw:
                picked[key] = (raw[key], _ptr(eptr, key))
            elif key in defaults:
                picked[key] = (defaults[key], _ptr("/defaults", key))
        methods: list[MethodEntry] = []
        if "methods" in picked:
            methods = self.method_entries(*picked["methods"])
        else:
            self.err(
                self.at(eptr, key=True),
                f"experiment '{name}' has no methods",
                "add `methods: [...]` to it or to defaults",
            )
        seeds = list(picked["seeds"][0]) if "seeds" in picked else []
        if not seeds:
            self.err(
                self.at(eptr, key=True),
                f"experiment '{name}' has no seeds",
                "add `seeds: [42, ...]` to it or to defaults",
            )
        sweep = {k: list(v) for k, v in (raw.get("sweep") or {}).items()}
        points = []
        axes = list(sweep)
        for values in itertools.product(*(sweep[a] for a in axes)):
            config = copy.deepcopy(sections)
            config["method"] = {}
            for axis, value in zip(axes, values, strict=True):
                _set_dotted(config, axis, value)
            points.append(Point(key=tuple(zip(axes, values, strict=True)), config=config))
        resources_ = dict(picked["resources"][0]) if "resources" in picked else {}
        exp = Experiment(
            name=name,
            methods=methods,
            seeds=seeds,
            sweep=sweep,
            points=points,
            where=self.at(eptr, key=True),
            resources=resources_,
        )
        self.check_run_options(exp, picked)
        return exp

    def protocol(
        self, eptr: str, defaults: dict[str, Any], raw: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The experiment's `measure.protocol`: `protocol:` is short for `measure: {protocol:}`.

        Merged in the order defaults.measure.protocol, defaults.protocol,
        experiment.measure.protocol, experiment.protocol (later keys win); giving both forms at
        one level is an error. None when there is nothing to merge, or when a value is not a
        mapping (the trainer's check then reports it, located).
        """
        parts: list[Any] = []
        for base, level in (("/defaults", defaults), (eptr, raw)):
            measure = level.get("measure") or {}
            nested = measure.get("protocol") if isinstance(measure, dict) else None
            short = level.get("protocol")
            if nested is not None and short is not None:
                self.err(
                    self.at(_ptr(base, "protocol"), key=True),
                    "the protocol is given twice here: as `protocol:` and as `measure.protocol`",
                    "keep one of them (`protocol:` is short for `measure: {protocol: ...}`)",
                )
            parts += [p for p in (nested, short) if p is not None]
        if not parts or not all(isinstance(p, dict) for p in parts):
            return None
        out: dict[str, Any] = {}
        for p in parts:
            out = _deep_merge(out, p)
        return out

    def config_where(
        self, exp: Experiment, method_index: int | None, picked: dict[str, Any]
    ) -> Callable[[str], Where]:
        """Locate a dotted RunConfig path of `exp` in the file (sweep, then experiment, then defaults)."""
        eptr = _ptr("/experiments", exp.name)

        def where(path: str) -> Where:
            if not path or path == "<config>":
                return exp.where
            if path == "seed" and "seeds" in picked:
                return self.at(picked["seeds"][1])
            if path in exp.sweep:
                return self.at(_ptr(_ptr(eptr, "sweep"), path), key=True)
            parts = path.split(".")
            if parts[0] == "method":
                if method_index is not None and "methods" in picked:
                    mptr = _ptr(picked["methods"][1], method_index)
                    opt = parts[1] if len(parts) > 1 and parts[1] != "name" else "method"
                    if _ptr(mptr, opt) in self.doc.nodes:
                        return self.at(_ptr(mptr, opt), key=True)
                    return self.at(mptr)
                return exp.where
            if parts[:2] == ["measure", "protocol"]:  # `protocol:` is short for measure.protocol
                for base in (eptr, "/defaults"):
                    for spelled in (parts[1:], parts):
                        for depth in range(len(spelled), len(spelled) - len(parts) + 1, -1):
                            ptr = base + "".join(_ptr("", p) for p in spelled[:depth])
                            if ptr in self.doc.nodes:
                                return self.at(ptr, key=depth == len(spelled))
            for base in (eptr, "/defaults"):
                for depth in range(len(parts), 0, -1):
                    ptr = base + "".join(_ptr("", p) for p in parts[:depth])
                    if ptr in self.doc.nodes:
                        return self.at(ptr, key=depth == len(parts))
            return exp.where

        return where

    def check_run_options(self, exp: Experiment, picked: dict[str, Any]) -> None:
        """Every (point, method) config is checked once; every seed once, with the first of them."""
        if not exp.seeds:
            return
        for p, point in enumerate(exp.points):
            for i, m in enumerate(exp.methods):
                if m.name not in self.registry.METHODS:
                    continue  # already reported as an unknown method
                for seed in exp.seeds if p == 0 and i == 0 else exp.seeds[:1]:
                    config = {
                        "seed": seed,
                        "method": {"name": m.name, **m.options, **point.config["method"]},
                        **{s: point.config[s] for s in SECTIONS},
                    }
                    normalized, errors = self.validate_run_options(
                        config, self.config_where(exp, i, picked)
                    )
                    self.errors += errors
                    if normalized is not None:
                        self.normalized[seedless_key(config)] = normalized

    def build(self) -> Spec:
        stats = self.stats()
        exps = {name: self.experiment(name, raw) for name, raw in self.data["experiments"].items()}
        claims = ClaimBuilder(self.doc, self.metrics, self.errors).claims(exps, stats)
        return Spec(
            name=self.data["name"],
            title=self.data.get("title", ""),
            path=self.path,
            experiments=exps,
            claims=claims,
            stats=stats,
            raw=self.data,
            normalized=self.normalized,
        )


def _finite(x: Any) -> bool:
    """A real number that is neither NaN nor infinite (YAML reads `.nan` and `.inf` as floats)."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
