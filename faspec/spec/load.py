"""Spec loading: YAML -> validated, merged, expanded `Spec` dataclasses.

Every error a user can make in a spec is reported as `SpecError` with `file:line:col` and, where
we can guess the intent, a hint ("did you mean 'dfa'?"); the CLI prints it and exits 2, never a
traceback. All errors of a spec are collected (`SpecError.errors`); the exception itself is the
first one by position.

Validation runs in layers, each only when the previous one is clean (later layers rely on the
shape the earlier ones guarantee): bytes and YAML (`yamlpos`: forbidden characters, nesting,
non-JSON types, numbers out of range, all located) -> JSON Schema (`validate`, schema.json) ->
names and semantics here (registered methods and metrics, experiments, claim expressions,
sweeps, margins).
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from faspec.spec import expr as E
from faspec.spec.errors import SpecError
from faspec.spec.errors import choices_hint as _choices_hint
from faspec.spec.errors import closest as _closest
from faspec.spec.errors import raise_all as _raise
from faspec.spec.model import (
    DEFAULT_ALPHA,
    DEFAULT_CORRECTION,
    DEFAULT_METRIC_STATS,
    DEFAULT_TEST,
    Claim,
    Experiment,
    MethodEntry,
    MetricStats,
    Point,
    Reported,
    Spec,
    Stats,
    Where,
)
from faspec.spec.reported import parse_key, parse_reported, read_reported  # noqa: F401
from faspec.spec.validate import schema, schema_errors
from faspec.spec.yamlpos import MAX_BYTES, MAX_NODES, PROFILE_KEYS
from faspec.spec.yamlpos import Doc as _Doc
from faspec.spec.yamlpos import deep_merge as _deep_merge
from faspec.spec.yamlpos import ptr as _ptr

__all__ = [
    "DEFAULT_METRIC_STATS",
    "MAX_BYTES",
    "MAX_NODES",
    "PROFILE_KEYS",
    "SpecError",
    "load",
    "load_many",
    "load_text",
    "schema",
]

SECTIONS = ("data", "model", "train", "measure")  # deep-merged from defaults
REPLACED = ("methods", "seeds", "resources")  # replaced as a whole

# ------------------------------------------------------------------------------------ registry


def _registry() -> Any:
    """The component registry, read at call time: plug-ins and tests register into it.

    `faspec.components` declares the built-in components (and loads entry-point plug-ins)
    without torch.
    """
    import faspec.components  # noqa: F401  (declares the built-ins)
    from faspec import registry

    return registry


def _validate_run_options(config: dict[str, Any], where: Callable[[str], Where]) -> list[SpecError]:
    """Validate one run's options (names, types, choices) with the trainer's own rules.

    `config` is a RunConfig as in docs/internals.md (seed, method, data, model, train, measure)
    before normalisation; `where(dotted_path)` locates a dotted key such as "model.blocks" in
    the spec. The trainer is the authority on its options, so its `ConfigError(path, message,
    hint)` is turned into a located SpecError instead of duplicating its rules here.
    """
    from faspec.config import ConfigError, normalize_config

    try:
        normalize_config(copy.deepcopy(config))
    except ConfigError as e:
        path = str(e.path or "")
        return [SpecError(where(path), f"{path}: {e.message}" if path else e.message, e.hint)]
    return []


# ----------------------------------------------------------------------------------- building


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


class _Builder:
    """Turns schema-valid data into a Spec, collecting every semantic error with its position."""

    def __init__(self, doc: _Doc, path: Path) -> None:
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.path = path
        self.errors: list[SpecError] = []
        self.registry = _registry()
        self.methods = sorted(self.registry.METHODS)
        self.metrics = list(self.registry.metric_names())

    def err(self, where: Where, message: str, hint: str = "") -> None:
        self.errors.append(SpecError(where, message, hint))

    def at(self, ptr: str, key: bool = False) -> Where:
        return self.doc.where(ptr, key)

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
                    self.errors += _validate_run_options(config, self.config_where(exp, i, picked))

    # -- claims
    def claim(
        self, i: int, raw: dict[str, Any], exps: dict[str, Experiment], stats: Stats
    ) -> Claim | None:
        cptr = _ptr("/claims", i)
        cid = raw["id"]
        exp_name = raw["in"]
        metric = raw.get("metric", "test_acc")
        ok = True
        if metric not in self.metrics:
            self.err(
                self.at(_ptr(cptr, "metric")),
                f"unknown metric '{metric}'",
                _choices_hint(metric, self.metrics, "metrics"),
            )
            ok = False
        exp = exps.get(exp_name)
        if exp is None:
            self.err(
                self.at(_ptr(cptr, "in")),
                f"claim '{cid}' is in experiment '{exp_name}', which does not exist",
                _choices_hint(exp_name, exps, "experiments"),
            )
        eptr = _ptr(cptr, "expect")
        try:
            node = E.parse(raw["expect"])
            # `not` over `by epoch N` over seeds has no complement: located here
            E.push_not(node, per_seed=raw.get("seeds") is not None)
        except E.ExprError as e:
            self.err(self.doc.where_in_scalar(eptr, e.col), f"bad claim expression: {e.message}")
            return None
        if exp is None:
            return None
        labels = [m.label for m in exp.methods]
        for pred in E.predicates(node):
            if pred.method not in labels:
                self.err(
                    self.doc.where_in_scalar(eptr, pred.col),
                    f"method '{pred.method}' is not in experiment '{exp.name}'",
                    _closest(pred.method, labels)
                    or f"experiment '{exp.name}' has {', '.join(labels)}",
                )
                ok = False
        for op in E.operands(node):
            where = self.doc.where_in_scalar(eptr, op.col)
            if op.experiment is not None:  # `exp:label`: a method of another experiment
                other = exps.get(op.experiment)
                if other is None:
                    self.err(
                        where,
                        f"'{op.method}' names experiment '{op.experiment}', which does not exist",
                        _choices_hint(op.experiment, exps, "experiments"),
                    )
                    ok = False
                elif op.label not in [m.label for m in other.methods]:
                    olabels = [m.label for m in other.methods]
                    self.err(
                        where,
                        f"method '{op.label}' is not in experiment '{op.experiment}'",
                        _closest(op.label, olabels)
                        or f"experiment '{op.experiment}' has {', '.join(olabels)}",
                    )
                    ok = False
            elif op.method not in labels:
                hint = (
                    _closest(op.method, labels)
                    or f"experiment '{exp.name}' has {', '.join(labels)}"
                )
                self.err(where, f"method '{op.method}' is not in experiment '{exp.name}'", hint)
                ok = False
            m = op.metric_or(metric)
            if op.metric is not None and m not in self.metrics:
                self.err(
                    self.doc.where_in_scalar(eptr, op.col + len(op.method) + 1),
                    f"unknown metric '{m}'",
                    _choices_hint(m, self.metrics, "metrics"),
                )
                ok = False
                continue
            layered = m.endswith("_layers")
            if op.index is not None and not layered:
                self.err(
                    where,
                    f"'{op.text(metric)}': {m} is a scalar metric and cannot be indexed",
                    "per-layer metrics end in _layers, e.g. cos_layers[0]",
                )
                ok = False
            if op.pool is not None and not layered:
                self.err(
                    where,
                    f"'{op.text(metric)}': {m} is a scalar metric; only per-layer metrics pool layers",
                )
                ok = False
            if op.index is None and op.pool is None and layered:
                self.err(
                    where,
                    f"'{op.text(metric)}' is a per-layer list; pick a layer",
                    f"write {op.text(metric)}[0]",
                )
                ok = False
        if ok:
            self.check_links(node, metric, stats, eptr)
        seeds = raw.get("seeds")
        if isinstance(node, E.ForSeeds):
            if seeds is not None:
                self.err(
                    self.at(_ptr(cptr, "seeds"), key=True),
                    f"the expression says 'for {node.k} of {node.n} seeds'; seeds: says it again",
                    "keep one of them",
                )
            elif node.n != len(exp.seeds):
                self.err(
                    self.doc.where_in_scalar(eptr, node.col),
                    f"'for {node.k} of {node.n} seeds' but experiment '{exp.name}' has "
                    f"{len(exp.seeds)} seeds",
                )
        if isinstance(seeds, str) and "/" in seeds:
            k, n = (int(x) for x in seeds.split("/"))
            sptr = _ptr(cptr, "seeds")
            if k > n:
                self.err(
                    self.at(sptr),
                    f"seeds: {seeds} asks for more seeds than there are",
                    "k/n needs k <= n",
                )
            elif n != len(exp.seeds):
                self.err(
                    self.at(sptr),
                    f"seeds: {seeds} but experiment '{exp.name}' has {len(exp.seeds)} seeds",
                    f"write {k}/{len(exp.seeds)}, or change the experiment's seeds",
                )
        for_each = raw.get("for_each")
        at = dict(raw.get("at") or {})
        axes = list(exp.sweep)
        if for_each is not None and for_each not in exp.sweep:
            hint = _closest(for_each, axes) or (
                f"experiment '{exp.name}' sweeps {', '.join(axes)}"
                if axes
                else f"experiment '{exp.name}' has no sweep"
            )
            self.err(
                self.at(_ptr(cptr, "for_each")),
                f"for_each: '{for_each}' is not a sweep axis of experiment '{exp.name}'",
                hint,
            )
        for axis, value in at.items():
            aptr = _ptr(_ptr(cptr, "at"), axis)
            if axis not in exp.sweep:
                hint = _closest(axis, axes) or (
                    f"experiment '{exp.name}' sweeps {', '.join(axes)}"
                    if axes
                    else f"experiment '{exp.name}' has no sweep"
                )
                self.err(
                    self.at(aptr, key=True),
                    f"at: '{axis}' is not a sweep axis of experiment '{exp.name}'",
                    hint,
                )
            elif not any(_same(value, v) for v in exp.sweep[axis]):
                self.err(
                    self.at(aptr),
                    f"at: {axis} = {value!r} is not among its values {exp.sweep[axis]}",
                )
            if axis == for_each:
                self.err(
                    self.at(aptr, key=True), f"'{axis}' is both for_each and at", "keep one of them"
                )
        open_axes = [a for a in axes if a != for_each and a not in at and len(exp.sweep[a]) > 1]
        selection_valid = (for_each is None or for_each in exp.sweep) and all(
            a in exp.sweep for a in at
        )
        if open_axes and selection_valid:  # an invalid for_each/at is reported already
            a = open_axes[0]
            self.err(
                self.at(_ptr(cptr, "in")),
                f"experiment '{exp.name}' sweeps {a} ({len(exp.sweep[a])} values); claim '{cid}' must pick its points",
                f"add `for_each: {a}` (decide at every value) or `at: {{{a}: {exp.sweep[a][0]!r}}}`",
            )
        reported: dict[str, Reported] = {}
        rptr = _ptr(cptr, "reported")
        if raw.get("reported") and for_each is not None:
            self.err(
                self.at(rptr, key=True),
                "reported: cannot be checked on a for_each claim (one number, many points)",
                "state the paper's number in a separate claim with `at:`",
            )
        for key, value in (raw.get("reported") or {}).items():
            kptr = _ptr(rptr, key)
            try:
                rep = self.reported_entry(key, value, kptr, exp, labels, metric)
            except ValueError as e:
                self.err(
                    self.at(kptr),
                    f"reported: {e}",
                    'write "0.401 ± 0.009", "0.401 +- 0.009 (n=3)", 0.401, {mean: 0.401, std: '
                    "0.009, n: 3}, a per-seed list [0.457, 0.444, 0.439], {min: .., max: ..} or "
                    '{below: frozen, count: "2/3"}',
                )
                continue
            if rep is not None:
                reported[key] = rep
        return Claim(
            id=cid,
            expect=raw["expect"],
            expr=node,
            experiment=exp_name,
            metric=metric,
            where_paper=raw.get("where", ""),
            seeds=seeds,
            for_each=for_each,
            at=at,
            reported=reported,
            covers=list(raw.get("covers") or []),
            where=self.at(cptr),
            expect_where=self.at(eptr),
            baseline=baseline_label(exp),
            reference=str(raw.get("reference", "valid")),
        )

    def reported_entry(
        self, key: str, value: Any, kptr: str, exp: Experiment, labels: list[str], metric: str
    ) -> Reported | None:
        """One `reported:` entry; key errors are reported here (None), value errors raised."""
        try:
            label, rmetric, index, _ = parse_key(key)
        except ValueError as e:
            self.err(self.at(kptr, key=True), f"reported: {e}")
            return None
        ok = True
        if label not in labels:
            self.err(
                self.at(kptr, key=True),
                f"reported: method '{label}' is not in experiment '{exp.name}'",
                _closest(label, labels) or f"experiment '{exp.name}' has {', '.join(labels)}",
            )
            ok = False
        m = rmetric or metric
        if rmetric and rmetric not in self.metrics:
            self.err(
                self.at(kptr, key=True),
                f"reported: unknown metric '{rmetric}'",
                _choices_hint(rmetric, self.metrics, "metrics"),
            )
            ok = False
        elif m.endswith("_layers") and index is None:  # (a pooled [a:b] / [*] is a tuple)
            self.err(
                self.at(kptr, key=True),
                "reported: a per-layer metric is reported per layer",
                f"write {label}.{m}[0]",
            )
            ok = False
        elif index is not None and not m.endswith("_layers"):  # a layer or a pooled range
            self.err(self.at(kptr, key=True), f"reported: {m} is a scalar metric and has no layers")
            ok = False
        if isinstance(value, dict) and "below" in value and value["below"] not in labels:
            self.err(
                self.at(_ptr(kptr, "below")),
                f"reported: below '{value['below']}', which is not in experiment '{exp.name}'",
            )
            ok = False
        if isinstance(value, list) and len(value) != len(exp.seeds):
            raise ValueError(
                f"{len(value)} per-seed values for the {len(exp.seeds)} seeds of experiment "
                f"'{exp.name}' ({exp.seeds})"
            )
        text = self.doc.scalar_text(_ptr(kptr, "mean") if isinstance(value, dict) else kptr)
        std_text = self.doc.scalar_text(_ptr(kptr, "std")) if isinstance(value, dict) else None
        rep = read_reported(key, value, text, std_text)
        if rep.count is not None and rep.count[1] != len(exp.seeds):
            raise ValueError(
                f"count {rep.count[0]}/{rep.count[1]} but experiment '{exp.name}' has "
                f"{len(exp.seeds)} seeds"
            )
        return rep if ok else None

    def check_links(self, node: E.Node, metric: str, stats: Stats, eptr: str) -> None:
        """Margins exist where the relation needs them; constants make sense on the metric's scale."""
        for cmp in E.comparisons(node):
            for j, (left, op, right) in enumerate(cmp.links()):
                where = self.doc.where_in_scalar(eptr, cmp.op_cols[j])
                arith = next((t for t in (left, right) if isinstance(t, E.Arith)), None)
                if arith is not None:
                    self.check_arith(arith, op, cmp, metric, stats, eptr)
                    continue
                ops = [t for t in (left, right) if isinstance(t, E.Operand)]
                if not ops:
                    self.err(
                        where,
                        f"'{left} {op} {right}' compares two numbers",
                        "one side must be a method, e.g. dfa.g_norm < 1e-7",
                    )
                    continue
                names = [t.metric_or(metric) for t in ops]
                ms = [stats.metric(n) for n in names]
                if len(ms) == 2 and ms[0].scale != ms[1].scale:
                    self.err(
                        where,
                        f"'{op}' compares {names[0]} ({ms[0].scale} scale) with {names[1]} ({ms[1].scale} scale)",
                    )
                    continue
                if len(names) == 2 and names[0] != names[1] and op in ("~=", ">>", "<<"):
                    self.err(
                        where,
                        f"'{op}' needs one metric on both sides (margins are per metric); got {names[0]} and {names[1]}",
                    )
                    continue
                m, name = ms[0], names[0]
                log = m.scale == "log"
                if op == "~=" and (m.close_ratio if log else m.close) is None:
                    field_ = "close_ratio" if log else "close"
                    self.err(
                        where,
                        f"'~=' on {name}, which has no {field_} margin",
                        f"set stats.metrics.{name}.{field_}",
                    )
                if op in (">>", "<<") and (m.much_ratio if log else m.much) is None:
                    field_ = "much_ratio" if log else "much"
                    self.err(
                        where,
                        f"'{op}' on {name}, which has no {field_} margin",
                        f"set stats.metrics.{name}.{field_}",
                    )
                for t in (left, right):
                    if isinstance(t, E.Const) and log and not t.value > 0:
                        self.err(
                            self.doc.where_in_scalar(eptr, t.col),
                            f"{name} is compared on a log10 scale; the constant {t} must be positive",
                            f"norms are positive anyway; or set stats.metrics.{name}.scale: linear",
                        )
                    elif isinstance(t, E.Const) and not math.isfinite(t.value):
                        self.err(
                            self.doc.where_in_scalar(eptr, t.col), f"the constant {t} is not finite"
                        )

    def check_arith(
        self, t: E.Arith, op: str, cmp: E.Compare, metric: str, stats: Stats, eptr: str
    ) -> None:
        """`a - b` / `a / b`: one metric on both sides; a difference needs a linear metric (and
        its margins for ~= >> <<); a ratio a positive constant; read at the end or at epoch N."""
        where = self.doc.where_in_scalar(eptr, t.col)
        names = [t.left.metric_or(metric), t.right.metric_or(metric)]
        if names[0] != names[1]:
            self.err(where, f"'{t}' combines {names[0]} with {names[1]}; use one metric")
            return
        ms = stats.metric(names[0])
        if t.op == "-" and ms.scale == "log":
            self.err(
                where,
                f"'{t}': {names[0]} is compared on a log scale; a difference of it means little",
                f"write a ratio: {t.left} / {t.right}",
            )
            return
        if t.op == "-" and op in ("~=", ">>", "<<"):
            field_ = "close" if op == "~=" else "much"
            if getattr(ms, field_) is None:
                self.err(
                    where,
                    f"'{op}' on {names[0]}, which has no {field_} margin",
                    f"set stats.metrics.{names[0]}.{field_}",
                )
        if cmp.by_epoch is not None or cmp.first_epoch is not None:
            self.err(
                where, f"'{t}' is read at the end of training or 'at epoch N', not {cmp.epoch_text}"
            )
        const = next((x for x in cmp.operands if isinstance(x, E.Const)), None)
        if const is not None and not math.isfinite(const.value):
            self.err(
                self.doc.where_in_scalar(eptr, const.col), f"the constant {const} is not finite"
            )
        elif const is not None and t.op == "/" and not const.value > 0:
            self.err(
                self.doc.where_in_scalar(eptr, const.col),
                f"a ratio is compared on a log10 scale; the constant {const} must be positive",
            )

    def build(self) -> Spec:
        stats = self.stats()
        exps = {name: self.experiment(name, raw) for name, raw in self.data["experiments"].items()}
        claims: list[Claim] = []
        ids: dict[str, int] = {}
        for i, raw in enumerate(self.data.get("claims") or []):
            cid = raw["id"]
            if cid in ids:
                first = self.at(_ptr(_ptr("/claims", ids[cid]), "id"))
                self.err(
                    self.at(_ptr(_ptr("/claims", i), "id")),
                    f"duplicate claim id '{cid}' (first on line {first.line})",
                    "claim ids must be unique within a spec",
                )
            ids.setdefault(cid, i)
            c = self.claim(i, raw, exps, stats)
            if c is not None:
                claims.append(c)
        return Spec(
            name=self.data["name"],
            title=self.data.get("title", ""),
            path=self.path,
            experiments=exps,
            claims=claims,
            stats=stats,
            raw=self.data,
        )


BASELINE_METHOD = "frozen"  # the registered method of protocol diagnostic (d)'s baseline


def baseline_label(exp: Experiment) -> str:
    """The label of the frozen-blocks baseline that diagnostic (d) compares an experiment's runs
    with: its own entry labelled `frozen` (method frozen), else its first method-`frozen` entry
    without options, else the label the plan adds it under (`frozen`, or `frozen_baseline` when
    another method already uses that label)."""
    plain = [m for m in exp.methods if m.name == BASELINE_METHOD and not m.options]
    for m in plain:
        if m.label == BASELINE_METHOD:
            return m.label
    if plain:
        return plain[0].label
    labels = {m.label for m in exp.methods}
    label, i = BASELINE_METHOD, 1
    while label in labels:
        label = f"{BASELINE_METHOD}_baseline" + (str(i) if i > 1 else "")
        i += 1
    return label


def _finite(x: Any) -> bool:
    """A real number that is neither NaN nor infinite (YAML reads `.nan` and `.inf` as floats)."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _same(a: Any, b: Any) -> bool:
    """Sweep value equality without True == 1 surprises."""
    return (
        type(a) is type(b)
        and a == b
        or (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and not isinstance(a, bool)
            and not isinstance(b, bool)
            and a == b
        )
    )


# --------------------------------------------------------------------------------------- public


def load_text(text: str, filename: str = "<spec>", profile: str | None = None) -> Spec:
    """Load a spec from YAML text; `filename` is used in error positions and as Spec.path.

    `profile` names an entry of the spec's `profiles:` to apply first (e.g. a cheap `smoke`
    variant with fewer epochs and seeds); a spec without that profile is an error, so that a
    smoke run never silently becomes a full one.
    """
    doc = _Doc(filename, text)
    _raise(doc.errors)
    if profile is not None:
        _raise(doc.apply_profile(profile))
    _raise(schema_errors(doc))
    builder = _Builder(doc, Path(filename))
    spec = builder.build()
    _raise(builder.errors)
    spec.profile = profile
    return spec


def read_text(p: Path) -> str:
    """A spec file's text, or SpecError: missing, a folder, unreadable, too large, not UTF-8
    (located at the first bad byte)."""
    try:
        size = p.stat().st_size
        if p.is_dir():
            raise SpecError(
                Where(str(p), 0, 0), "is a folder", "give spec files or folders of them"
            )
        if size > MAX_BYTES:
            raise SpecError(
                Where(str(p), 0, 0),
                f"is {size} bytes; a spec is read only up to {MAX_BYTES} bytes",
                "a spec is a few kB; split it into several files",
            )
        data = p.read_bytes()
    except FileNotFoundError:
        raise SpecError(Where(str(p), 0, 0), "no such file") from None
    except PermissionError:
        raise SpecError(Where(str(p), 0, 0), "permission denied (cannot read it)") from None
    except OSError as e:
        raise SpecError(Where(str(p), 0, 0), f"cannot read it: {e.strerror or e}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start)
        col = len(data[data.rfind(b"\n", 0, e.start) + 1 : e.start].decode("utf-8", "replace"))
        raise SpecError(
            Where(str(p), line + 1, col + 1),
            f"not UTF-8 text: byte 0x{data[e.start]:02x} ({e.reason})",
            "save the file as UTF-8",
        ) from None


def load(path: str | Path, profile: str | None = None) -> Spec:
    """Load one spec file (see load_text for `profile`)."""
    p = Path(path)
    return load_text(read_text(p), str(p), profile)


def load_many(paths: Iterable[str | Path] | str | Path, profile: str | None = None) -> list[Spec]:
    """Load files and directories (a directory: its *.yaml / *.yml, sorted, not recursive).

    Spec names must be unique across everything loaded together, since plans and the store
    key cells by spec name.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.suffix in (".yaml", ".yml") and f.is_file())
        else:
            files.append(p)
    specs: list[Spec] = []
    names: dict[str, Spec] = {}
    for f in files:
        spec = load(f, profile)
        if spec.name in names:
            raise SpecError(
                Where(str(f), *_name_pos(spec)),
                f"spec name '{spec.name}' is already used by {names[spec.name].path}",
                "spec names must be unique; rename one of them",
            )
        names[spec.name] = spec
        specs.append(spec)
    return specs


def _name_pos(spec: Spec) -> tuple[int, int]:
    try:
        doc = _Doc(str(spec.path), read_text(spec.path))
        w = doc.where("/name")
        return w.line, w.col
    except (OSError, SpecError):
        return 0, 0
