"""Claim building: the `claims:` of a schema-valid spec -> `Claim`s, with every check located.

Promise: each claim's expression is parsed (`expr`) and checked against the experiments it names
(methods and labels, `exp:label` references, metrics and layers, margins for `~=`/`>>`/`<<`,
constants on the metric's scale, seeds, `for_each`/`at` against the sweep, `reported:` entries);
every problem becomes a located `SpecError` in the shared error list, never an exception, so
that `load` reports all of a file's errors at once. A claim with errors is left out. The
experiments and stats come from `build.Builder`; this module knows nothing of the registry
beyond the metric names it is given.
"""

from __future__ import annotations

import math
from typing import Any

from faspec.registry import METRICS
from faspec.spec import expr as E
from faspec.spec.errors import Collector, SpecError
from faspec.spec.errors import choices_hint as _choices_hint
from faspec.spec.errors import closest as _closest
from faspec.spec.model import Claim, Experiment, Reported, Stats
from faspec.spec.reported import parse_key, read_reported
from faspec.spec.yamlpos import Doc as _Doc
from faspec.spec.yamlpos import ptr as _ptr


class ClaimBuilder(Collector):
    """Builds the spec's claims, appending each error (located) to the shared `errors`."""

    def __init__(self, doc: _Doc, metrics: list[str], errors: list[SpecError]) -> None:
        super().__init__(doc, errors)
        self.data: dict[str, Any] = doc.data
        self.metrics = metrics

    def claims(self, exps: dict[str, Experiment], stats: Stats) -> list[Claim]:
        """Every valid claim of the spec; ids must be unique, each error is collected."""
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
        return claims

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
            if m in METRICS and op.experiment is None and not _selects(exp, m):
                self.err(
                    self.doc.where_in_scalar(eptr, op.col + len(op.method) + 1),
                    f"'{m}' is a plug-in metric that experiment '{exp.name}' does not compute",
                    f"select it: measure: {{metrics: [{m}]}} (in defaults or the experiment)",
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


def _selects(exp: Experiment, metric: str) -> bool:
    """Whether every point of the experiment computes the plug-in metric (`measure.metrics`)."""
    for p in exp.points:
        measure = p.config.get("measure") if isinstance(p.config, dict) else None
        chosen = measure.get("metrics") if isinstance(measure, dict) else None
        if not isinstance(chosen, list | dict) or metric not in chosen:
            return False
    return True
