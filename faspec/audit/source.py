r"""Sourcing: every number the paper prints gets a status, and the reason for it.

Statuses, decided in this order (the first that applies wins):

* **BACKED** / **MISMATCH** — the number is *claimed*: at its printed precision it equals a
  `reported:` mean or std that a claim of the specs types, **and its context names that
  claim's metric** (`faspec.audit.context`: the column header, row header or caption of its
  table, or the words around it in its sentence) **and identifies the operand**: the method,
  the quantity (mean, not a std, error, gap or one seed) and no setting the claim's runs do not
  have (`faspec.audit.operand`); a context naming another operand makes it a MISMATCH naming
  both, one naming none leaves it UNSOURCED with the candidate. ``61.5\%`` is compared as 0.615; a plain
  ``61.5`` only in a column or table the paper declares in percent. It is BACKED when the
  stored measurement, rounded to the digits the paper prints, is the printed number — the mean,
  and for ``a \pm b`` the std (ddof=1) too — and MISMATCH otherwise, naming the printed and
  measured values, the claim and the runs. It is also MISMATCH when the sentence around it (or,
  in a table, its caption) states a seed count ("three seeds", "5 runs", "n = 3") of which none
  is the measured n, or an epoch count ("100 epochs") that none of the claim's runs trained for.
  A claimed number whose runs are not in the store is UNSOURCED (nothing backs it yet), or
  MISMATCH when a run failed. When several claims report the value, the one whose `where:`
  names the number's place (Table 1, Sec. 4.2, abstract, a label, caption words) is preferred,
  then one whose typed std is the printed std too; among equals, a backed one. A number with
  one significant digit (``0.01``) only matches a reported value typed with no more digits than
  the paper prints, so that a threshold does not match every small std. A value match whose
  metric the context does not name is never compared: it is a *candidate*, shown in the reason
  of whatever status the number then gets.
* A results macro ``\fsv{claim}{method}{field}``: see `faspec.audit.macro_use`.
* **CONFIG** — it equals a value of the specs' normalized run configurations (any numeric
  option of any run, a seed, an experiment's number of seeds) **and its context names that
  key** (`faspec.audit.vocab`: ``$d = 256$``, "100 epochs", "3 seeds", "batch size 128").
  Integers must be equal; other values must agree at the printed digits (and be printed with a
  fraction or exponent); a range needs both ends.
* **ALLOWED** — an allowance file entry covers it (audit.yaml beside the paper, or
  ``[tool.faspec.audit]`` in pyproject.toml), or the built-in rule *formula constant*: a
  plain integer of at most 10 in math mode outside a table (``\frac{1}{2}``, ``(1-\alpha)``,
  ``\sum_{l=1}``) that is not CONFIG by name. Allowances are consulted after claims and CONFIG:
  an allowance cannot hide a MISMATCH.
* **UNSOURCED** — none of the above (the reason names value-only candidates and settings).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faspec.audit.allow import Allowances
from faspec.audit.context import ConfigIndex, NumberContext, percent_ok
from faspec.audit.findings import (
    PROBLEMS,
    STATUSES,
    AuditResult,
    Finding,
    counts_check,
    measured_text,
    pretty,
    runs_text,
)
from faspec.audit.latex import Extraction, NumberHit, extract
from faspec.audit.locate import Locator, where_matches
from faspec.audit.macro_use import macro_finding
from faspec.audit.macros import ValueEntry, is_values_file, parse_values, read_values
from faspec.audit.operand import (
    NOT_MEAN,
    MethodVocab,
    methods_named,
    point_problems,
    quantity_named,
    run_configs,
    settings_named,
)
from faspec.audit.values import ClaimValue

__all__ = [
    "PROBLEMS",
    "STATUSES",
    "AuditResult",
    "ConfigIndex",
    "Finding",
    "audit",
    "audit_extraction",
    "pretty",
]

FORMULA_CONSTANT = "formula constant (an integer of at most 10 in math)"


# --------------------------------------------------------------------------------- claims


@dataclass
class _Cand:
    cv: ClaimValue
    part: str  # "mean" | "std": which reported number the printed value equals
    scale: float
    std_too: bool = False
    where: bool = False
    status: str = ""
    reason: str = ""


def _typed_match(hit: NumberHit, part: str, typed: float, typed_dec: int | None, k: float) -> bool:
    """Is the paper's `typed` value (from the spec) the printed number at its precision?"""
    printed = hit.value if part == "value" else hit.std
    res = hit.resolution if part == "value" else hit.std_resolution
    dec = hit.decimals if part == "value" else hit.std_decimals
    if printed is None or res is None or dec is None:
        return False
    if abs(printed / k - typed) > res / k / 2 + 1e-9 * max(abs(typed), res / k):
        return False
    sig = (
        hit.sig_digits if part == "value" else len(f"{abs(printed):g}".replace(".", "").lstrip("0"))
    )
    eff = dec - hit.exponent + round(math.log10(k))
    return sig >= 2 or typed_dec is None or eff >= typed_dec


def _scales(hit: NumberHit, typed: float, pct: bool) -> list[float]:
    """The scales a stored value is compared at: 100 for a printed percentage, also 100 for a
    plain number in a column or table the paper declares as percent (`pct`), else 1."""
    if hit.unit in ("%", "pp"):
        return [100.0]
    if pct and hit.unit is None and hit.kind in ("plain", "pm") and 1 < abs(hit.value) <= 100:
        if abs(typed) <= 1:
            return [1.0, 100.0]
    return [1.0]


def _judge(hit: NumberHit, cand: _Cand, context: str) -> None:
    cv, k = cand.cv, cand.scale
    who = f"claim {cv.ref} ({cv.spec}) {cv.method}"
    printed = pretty(hit.text)
    if cv.status != "ok":
        cand.status = "UNSOURCED" if cv.status == "unsourced" else "MISMATCH"
        cand.reason = f"{who} reports {printed}, but {cv.reason}"
        return
    problems = []
    if cand.part == "mean":
        if not hit.rounds_to(cv.mean * k):  # type: ignore[operator]
            problems.append("mean")
        if hit.std is not None:
            if cv.std is None:
                problems.append("std (one seed has none)")
            elif not hit.rounds_to(cv.std * k, "std"):
                problems.append("std")
    elif cv.std is None or not hit.rounds_to(cv.std * k):
        problems.append("std")
    counts = counts_check(cv, context)
    measured = measured_text(cv, k)
    runs = runs_text(cv.runs)
    if problems or counts:
        what = f"printed {printed}, measured {measured}" if problems else ""
        cand.status = "MISMATCH"
        cand.reason = "; ".join(x for x in (what, counts) if x) + f" — {who}; runs {runs}"
    else:
        cand.status = "BACKED"
        cand.reason = f"{who}: measured {measured}; runs {runs}"


def _candidates(hit: NumberHit, values: list[ClaimValue], pct: bool) -> list[_Cand]:
    out = []
    for cv in values:
        rep = cv.reported
        if rep is None:
            continue
        for k in _scales(hit, rep.mean, pct):
            if _typed_match(hit, "value", rep.mean, rep.decimals, k):
                std_too = (
                    hit.std is not None
                    and rep.std is not None
                    and _typed_match(hit, "std", rep.std, rep.std_decimals, k)
                )
                out.append(_Cand(cv, "mean", k, std_too))
                break
            if (
                hit.std is None
                and rep.std is not None
                and _typed_match(hit, "value", rep.std, rep.std_decimals, k)
            ):
                out.append(_Cand(cv, "std", k))
                break
    return out


def _nearest(hit: NumberHit, values: list[ClaimValue], pct: bool) -> str:
    best: tuple[float, str] | None = None
    for cv in values:
        rep = cv.reported
        if rep is None:
            continue
        for k in _scales(hit, rep.mean, pct):
            for typed, name in ((rep.mean, "mean"), (rep.std, "std")):
                if typed is None:
                    continue
                d = abs(hit.value / k - typed)
                if d <= 10 * hit.resolution / k and (best is None or d < best[0]):
                    shown = f"{typed * k:g}"
                    best = (d, f"{cv.ref} {cv.method} {name} {shown} (spec {cv.spec})")
    return f"; nearest claimed value: {best[1]}" if best else ""


# --------------------------------------------------------------------------------- audit


def audit(
    paper: str | os.PathLike[str],
    specs: list[Any],
    plan: Any,
    values: list[ClaimValue],
    allowances: Allowances | None = None,
    values_file: str | os.PathLike[str] | None = None,
    allow_outside: bool = False,
    strict: bool = False,
) -> AuditResult:
    r"""Audit the paper at `paper` (following its inputs) against claims, store and configs.

    `allow_outside`: follow ``\input`` of files outside the paper's folder tree. `strict`: a
    typed number is never BACKED, only a generated ``\fsv`` use is."""
    ex = extract(paper, allow_outside=allow_outside)
    return audit_extraction(
        ex, os.fspath(paper), specs, plan, values, allowances, values_file, strict
    )


def audit_extraction(
    ex: Extraction,
    paper: str,
    specs: list[Any],
    plan: Any,
    values: list[ClaimValue],
    allowances: Allowances | None = None,
    values_file: str | os.PathLike[str] | None = None,
    strict: bool = False,
) -> AuditResult:
    allowances = allowances if allowances is not None else Allowances()
    result = AuditResult(paper, [])
    gen_files = {s.file for s in ex.sources if is_values_file(s.text)}
    entries: dict[tuple[str, str, str], ValueEntry] | None = None
    for s in ex.sources:
        if s.file in gen_files:
            entries = {**(entries or {}), **parse_values(s.text, s.file)}
            result.values_files.append(s.file)
    if values_file is not None:
        entries = {**(entries or {}), **read_values(values_file)}
        result.values_files.append(os.fspath(values_file))
    elif entries is None:
        guess = Path(paper).parent / "faspec_values.tex"
        if guess.is_file() and is_values_file(guess.read_text(encoding="utf-8")):
            entries = read_values(guess)
            result.values_files.append(str(guess))
            result.notes.append(
                f"{guess} is not \\input by the paper as far as the audit can follow; "
                "macro uses were checked against it anyway"
            )
    claimed = [cv for cv in values if cv.reported is not None]
    if not specs:
        result.notes.append("no specs given: no number can be BACKED (use --specs DIR)")
    config = ConfigIndex.build(specs, plan)
    env = _Env(MethodVocab.of(specs), run_configs(plan), values, strict)
    loc = Locator(ex.sources)
    order = {s.file: k for k, s in enumerate(ex.sources)}

    for hit in ex.numbers:
        if hit.file in gen_files:
            continue
        result.findings.append(_number_finding(hit, claimed, config, allowances, loc, env))
    by_name = {(cv.ref, cv.method): cv for cv in values}
    refs: dict[str, list[ClaimValue]] = {}
    for cv in values:
        refs.setdefault(cv.ref, []).append(cv)
    for use in ex.macros:
        if use.file in gen_files:
            continue
        ctx = loc.context(use.file, use.start, use.end)
        result.findings.append(macro_finding(use, by_name, refs, entries, ctx))
    result.findings.sort(key=lambda f: (order.get(f.file, 1 << 30), f.start, f.col))
    result.unused_allowances = allowances.unused()
    return result


def _number_finding(
    hit: NumberHit,
    claimed: list[ClaimValue],
    config: ConfigIndex,
    allowances: Allowances,
    loc: Locator,
    env: _Env,
) -> Finding:
    f = Finding(hit.file, hit.line, hit.col, hit.text, "UNSOURCED", "", value=hit.value)
    f.start = hit.start
    ctx = env.methods.canon_context(NumberContext.of(hit, loc))
    pct = percent_ok(hit, ctx)
    cands = _candidates(hit, claimed, pct)
    note = ""
    if cands:
        named, where_named = ctx.metrics({c.cv.metric for c in cands})
        fit = [c for c in cands if c.cv.metric in named]
        if fit:
            good, note = _operand(hit, ctx, fit, loc, env, f)
            if good:
                _decide(f, hit, good, loc)
                if env.strict and f.status == "BACKED":
                    f.status = "UNSOURCED"
                    f.reason = (
                        f"--strict: a typed result is never BACKED; print it with "
                        f"\\fsv{{{f.claim}}}{{{f.method}}}{{...}} ({f.reason})"
                    )
                return f
            if f.status == "MISMATCH":
                return f
        else:
            quants, q_where = quantity_named(ctx, hit.unit)
            if "other" in quants:  # "52.3% of BP's wall-clock time" equals BP's accuracy
                c = cands[0]
                f.status = "MISMATCH"
                f.reason = (
                    f"the value equals {_operand_name(c)}, but {q_where} says it is "
                    "another quantity (time, memory, a share of something)"
                )
                f.spec, f.claim, f.method, f.field = c.cv.spec, c.cv.ref, c.cv.method, c.part
                return f
            note = _candidate_note(cands, named, where_named)
    keys, by_value = config.match(hit, ctx.config_text())
    other = config.named_other(hit, ctx) if not keys else []
    if _formula_constant(hit) and not keys and not other:
        f.status, f.reason = "ALLOWED", FORMULA_CONSTANT + note
        return f
    if other:
        f.status = "MISMATCH"
        f.reason = f"its words name {', '.join(other[:3])} but no run has {pretty(hit.text)}" + note
        return f
    if keys:
        f.status, f.config = "CONFIG", keys
        more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
        f.reason = ", ".join(keys[:3]) + more + note
        return f
    reason = allowances.is_allowed(hit)
    if reason is not None:
        f.status, f.reason = "ALLOWED", reason + note
        return f
    f.reason = "no claim reports it, no spec configures it, no allowance covers it"
    f.reason += note or _nearest(hit, claimed, pct)
    if by_value:
        f.reason += f"; it equals {', '.join(by_value[:3])} but its context names no such setting"
    return f


@dataclass
class _Env:
    """What judging an operand needs besides the number: method words, run configs."""

    methods: MethodVocab
    run_cfg: dict[str, dict[str, set[Any]]]
    values: list[ClaimValue]
    strict: bool = False


_POINT_SECTIONS = ("model.", "data.", "train.", "method.")  # what makes an experiment point
_POINT_SKIP = ("data.seed", "train.epochs")  # counts_check says seeds and epochs


def _operand(
    hit: NumberHit, ctx: NumberContext, fit: list[_Cand], loc: Locator, env: _Env, f: Finding
) -> tuple[list[_Cand], str]:
    """The candidates whose operand the context identifies (method, quantity, experiment
    point; see `faspec.audit.operand`). When none is, `f` is made a MISMATCH (the context names
    another method, quantity or setting) and the note is empty, or the note says why the
    value-equal candidates were not compared (the context does not say which)."""
    methods, m_where = methods_named(env.methods, ctx)
    quants, q_where = quantity_named(ctx, hit.unit)
    before, after, caption, in_table = loc.parts(hit.file, hit.start, hit.end)
    point_raw = (
        (caption, hit.row_header, hit.header)
        if ctx.in_table
        else (before.split(";")[-1] + " " + after.split(";")[0],)  # its clause
    )
    keys = sorted(
        k
        for k in {k for cfg in env.run_cfg.values() for k in cfg}
        if k.startswith(_POINT_SECTIONS) and k not in _POINT_SKIP
    )
    named_pts = [kv for raw in point_raw for kv in settings_named(raw, keys)]
    good, wrong, vague = [], [], []
    for c in fit:
        problems = []
        if methods and c.cv.label not in methods:
            problems.append(
                f"{m_where} names {', '.join(sorted(methods))}{_theirs(c, methods, env)}"
            )
        bad = set(quants) & set(NOT_MEAN) if "mean" not in quants or c.part == "std" else set()
        if hit.std is not None:
            bad.discard("std")
        if c.part == "std":
            bad.discard("std")
        if bad:
            problems.append(f"{q_where} says it is {'/'.join(sorted(bad))}, not the {c.part}")
        problems += point_problems(c.cv.runs, named_pts, env.run_cfg)
        if problems:
            wrong.append((c, problems))
        elif not methods:
            vague.append((c, "its context names no method (row label, column header, subject)"))
        elif c.part == "std" and "std" not in quants:
            vague.append((c, "its context does not say it is a std"))
        else:
            good.append(c)
    if good:
        return good, ""
    if wrong:
        c, problems = wrong[0]
        f.status = "MISMATCH"
        counts = counts_check(c.cv, loc.context(hit.file, hit.start, hit.end))
        problems += [counts] if counts else []
        f.reason = f"the value equals {_operand_name(c)}, but " + "; ".join(problems)
        f.spec, f.claim, f.method, f.field = c.cv.spec, c.cv.ref, c.cv.method, c.part
        f.printed, f.runs = pretty(hit.text), list(c.cv.runs)
        return [], ""
    shown = "; ".join(f"{_operand_name(c)} — not compared, {why}" for c, why in vague[:3])
    return [], f"; value-only candidate: {shown}"


def _operand_name(c: _Cand) -> str:
    rep = c.cv.reported
    typed = (rep.std if c.part == "std" else rep.mean) if rep is not None else None
    val = "" if typed is None else f" {typed * c.scale:g}" + ("%" if c.scale == 100 else "")
    return f"claim {c.cv.ref} {c.cv.label} {c.cv.metric} {c.part}{val} (spec {c.cv.spec})"


def _theirs(c: _Cand, methods: set[str], env: _Env) -> str:
    """What the named method's own value is, when a claim measures it."""
    for cv in env.values:
        if cv.label in methods and cv.metric == c.cv.metric and cv.index == c.cv.index:
            if cv.status == "ok":
                return f" (whose {c.cv.metric} is {measured_text(cv, c.scale)})"
    return ""


def _decide(f: Finding, hit: NumberHit, cands: list[_Cand], loc: Locator) -> None:
    """Judge each claim the number may print and keep the best (see the module docstring)."""
    context = loc.context(hit.file, hit.start, hit.end)
    where = loc.locate(hit.file, hit.start)
    for c in cands:
        c.where = bool(c.cv.where_paper) and where_matches(c.cv.where_paper, where)
        _judge(hit, c, context)
    best = max(
        cands,
        key=lambda c: (
            c.where,
            c.std_too,  # mean and std both as typed: that claim's number
            c.status == "BACKED",
            c.part == "mean",
            c.scale == 1,
        ),
    )
    cv = best.cv
    f.status, f.reason = best.status, best.reason
    f.spec, f.claim, f.method = cv.spec, cv.ref, cv.method
    f.field = best.part
    f.printed = pretty(hit.text)
    f.runs = list(cv.runs)
    if cv.status == "ok":
        f.measured = cv.measured()


def _candidate_note(cands: list[_Cand], named: set[str], where: str) -> str:
    """Why value-equal claims were not compared: their metric is not what the context names."""
    shown = []
    for c in cands[:3]:
        rep = c.cv.reported
        typed = rep.std if c.part == "std" and rep is not None else rep.mean if rep else None
        val = "" if typed is None else f" {typed * c.scale:g}" + ("%" if c.scale == 100 else "")
        shown.append(f"{c.cv.ref} {c.cv.method}{val} ({c.cv.metric}, spec {c.cv.spec})")
    says = f"{where} names {', '.join(sorted(named))}" if named else "its context names no metric"
    return f"; value-only candidate: {'; '.join(shown)} — not compared, {says}"


def _formula_constant(hit: NumberHit) -> bool:
    return (
        hit.math
        and hit.kind == "plain"
        and hit.cell is None
        and hit.decimals == 0
        and hit.exponent == 0
        and hit.unit is None
        and abs(hit.value) <= 10
    )
