r"""Sourcing: every number the paper prints gets a status, and the reason for it.

Statuses, decided in this order (the first that applies wins):

* **BACKED** / **MISMATCH** — the number is *claimed*: at its printed precision it equals a
  `reported:` mean or std that a claim of the specs types (``61.5\%`` and ``61.5`` in a
  percent table are compared as 0.615). It is BACKED when the stored measurement, rounded to
  the digits the paper prints, is the printed number — the mean, and for ``a \pm b`` the std
  (ddof=1) too — and MISMATCH otherwise, naming the printed and measured values, the claim and
  the runs. It is also MISMATCH when the sentence around it (or, in a table, its caption) states
  a seed count ("three seeds", "5 runs", "n = 3") of which none is the measured n, or an epoch
  count ("100 epochs") that none of the claim's runs trained for. A claimed number whose runs
  are not in the store is UNSOURCED (nothing backs it yet), or MISMATCH when a run failed.
  When several claims report the value, the one whose `where:` names the number's place
  (Table 1, Sec. 4.2, abstract, a label, caption words) is preferred, then one whose typed std
  is the printed std too; among equals, a backed one.
  A number with one significant digit (``0.01``) only matches a reported value typed with no
  more digits than the paper prints, so that a threshold does not match every small std.
* A results macro ``\fsv{claim}{method}{field}`` is BACKED when the name resolves to a stored
  value and the generated values file prints what the store now holds at the digits it prints;
  MISMATCH when the file is stale (regenerate it) or the stated seed count differs; UNSOURCED
  when the claim, method or field does not exist, its runs are missing, or the file lacks it.
* **CONFIG** — it equals a value of the specs' normalized run configurations: any numeric
  option of any run (epochs, d, blocks, lr, weight_decay, batch_size, penalty, n_train,
  eval_batch, ...), a seed, or an experiment's number of seeds. Integers must be equal; other
  values must agree at the printed digits (and be printed with a fraction or exponent); a range
  needs both ends. This is deliberately loose: the index does not know which configuration a
  sentence talks about, only that the number is one the specs set.
* **ALLOWED** — an allowance file entry covers it (audit.yaml beside the paper, or
  ``[tool.faspec.audit]`` in pyproject.toml), or the built-in rule *formula constant*: a
  plain integer of at most 10 in math mode outside a table (``\frac{1}{2}``, ``(1-\alpha)``,
  ``\sum_{l=1}``). The rule is applied before CONFIG unless the number is written as
  ``name = value`` with the name of a configuration key it equals (``$d = 8$`` with
  ``model.d`` is CONFIG, ``$L = 4$`` stays ALLOWED), so that a formula's 1 is not explained
  as "seed=1".
* Allowances are consulted after claims and CONFIG: an allowance cannot hide a MISMATCH.
* **UNSOURCED** — none of the above.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faspec.audit.allow import Allowance, Allowances
from faspec.audit.latex import Extraction, MacroUse, NumberHit, extract
from faspec.audit.locate import Locator, stated_counts, where_matches
from faspec.audit.macros import (
    FIELDS,
    ValueEntry,
    field_text,
    is_values_file,
    parse_values,
    read_values,
)
from faspec.audit.values import ClaimValue

__all__ = ["STATUSES", "AuditResult", "ConfigIndex", "Finding", "audit", "audit_extraction"]

STATUSES = ("BACKED", "MISMATCH", "CONFIG", "ALLOWED", "UNSOURCED")
PROBLEMS = ("MISMATCH", "UNSOURCED")
FORMULA_CONSTANT = "formula constant (an integer of at most 10 in math)"


@dataclass
class Finding:
    """One printed number (or results macro use) and its status."""

    file: str
    line: int
    col: int
    text: str
    status: str
    reason: str
    kind: str = "number"  # "number" | "macro"
    value: float | None = None
    spec: str | None = None
    claim: str | None = None
    method: str | None = None
    field: str | None = None
    printed: str | None = None
    measured: dict[str, Any] | None = None
    runs: list[str] = dataclasses.field(default_factory=list)
    config: list[str] = dataclasses.field(default_factory=list)
    start: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "text": self.text,
            "status": self.status,
            "reason": self.reason,
            "kind": self.kind,
        }
        for k in ("value", "spec", "claim", "method", "field", "printed", "measured"):
            v = getattr(self, k)
            if v is not None:
                out[k] = v
        if self.runs:
            out["runs"] = list(self.runs)
        if self.config:
            out["config"] = list(self.config)
        return out


@dataclass
class AuditResult:
    paper: str
    findings: list[Finding]
    unused_allowances: list[Allowance] = field(default_factory=list)
    values_files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        c = dict.fromkeys(STATUSES, 0)
        for f in self.findings:
            c[f.status] += 1
        return c

    @property
    def ok(self) -> bool:
        return not any(f.status in PROBLEMS for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "paper": self.paper,
            "ok": self.ok,
            "counts": self.counts(),
            "values_files": self.values_files,
            "notes": self.notes,
            "findings": [f.to_dict() for f in self.findings],
            "unused_allowances": [
                {"file": a.where[0], "line": a.where[1], "col": a.where[2], "reason": a.reason}
                for a in self.unused_allowances
            ],
        }


# --------------------------------------------------------------------------------- config


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out += _flatten(v, key + ".")
        elif isinstance(v, list):
            out += [(key, x) for x in v]
        else:
            out.append((key, v))
    return out


class ConfigIndex:
    """Every numeric value the specs configure, with the keys that set it."""

    def __init__(self) -> None:
        self.values: dict[float, list[str]] = {}

    def add(self, key: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        if not math.isfinite(value) or key.endswith("version"):
            return
        keys = self.values.setdefault(float(value), [])
        desc = f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"
        if desc not in keys:
            keys.append(desc)

    @classmethod
    def build(cls, specs: list[Any], plan: Any) -> ConfigIndex:
        idx = cls()
        for cfg in plan.runs.values():
            for key, v in _flatten(cfg):
                idx.add(key, v)
        for spec in specs:
            for exp in spec.experiments.values():
                idx.add("seeds (count)", len(exp.seeds))
        return idx

    def match(self, hit: NumberHit) -> list[str]:
        if hit.std is not None:
            return []
        keys = self._match(hit, "value")
        if keys and hit.upper is not None:
            upper = self._match(hit, "upper")
            if not upper:
                return []
            keys += [k for k in upper if k not in keys]
        ctx = hit.context.lower()
        return sorted(keys, key=lambda k: _name_in(k, ctx))

    def _match(self, hit: NumberHit, part: str) -> list[str]:
        printed = hit.value if part == "value" else hit.upper
        if printed is None:
            return []
        decimals = hit.decimals if part == "value" else (hit.upper_decimals or 0)
        integer_print = decimals == 0 and hit.exponent == 0
        scales = [1.0, 100.0] if hit.unit == "%" else [1.0]
        out: list[str] = []
        for c, keys in self.values.items():
            for k in scales:
                x = c * k
                if x == int(x) and abs(x) < 1e15:
                    ok = printed == x
                else:
                    ok = not integer_print and hit.rounds_to(x, part)
                if ok:
                    out += keys
                    break
        return out


def _name_in(key: str, ctx: str) -> int:
    name = key.split("=")[0].split(".")[-1].replace("_", " ")
    return 0 if name and name in ctx else 1


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


def _scales(hit: NumberHit, typed: float) -> list[float]:
    if hit.unit in ("%", "pp"):
        return [100.0]
    if hit.unit is None and hit.kind in ("plain", "pm") and 1 < abs(hit.value) <= 100:
        if abs(typed) <= 1:
            return [1.0, 100.0]  # a percent table printed without the % sign
    return [1.0]


def _fmt(x: float | None, k: float = 1.0) -> str:
    return "—" if x is None else f"{x * k:.4g}"


def _measured_text(cv: ClaimValue, k: float = 1.0) -> str:
    if cv.status != "ok":
        return cv.status
    s = _fmt(cv.mean, k) + (f" ± {_fmt(cv.std, k)}" if cv.std is not None else "")
    return s + ("%" if k == 100 else "") + f" (n={cv.n})"


def _runs_text(runs: list[str]) -> str:
    if len(runs) <= 6:
        return ", ".join(runs)
    return ", ".join(runs[:6]) + f" and {len(runs) - 6} more"


def pretty(text: str) -> str:
    """A LaTeX number snippet made readable: `0.609 \\pm 0.004` -> `0.609 ± 0.004`."""
    s = text.replace("\\pm", " ± ").replace("\\%", "%").replace("\\times", "×")
    s = re.sub(r"\\[,;!: ]", "", s)
    s = re.sub(r"\\[A-Za-z]+\*?", "", s)
    s = re.sub(r"[{}$~]", "", s)
    return " ".join(s.split()).replace("± ±", "±")


def _counts_check(cv: ClaimValue, context: str) -> str:
    """'' or why the stated seed / epoch counts disagree with the runs."""
    seeds, epochs = stated_counts(context)
    out = []
    if seeds and cv.status == "ok" and cv.n not in seeds:
        said = ", ".join(str(s) for s in dict.fromkeys(seeds))
        out.append(f"the text states {said} seed(s) but {cv.n} were measured")
    if epochs and cv.epochs and not set(epochs) & set(cv.epochs):
        said = ", ".join(str(e) for e in dict.fromkeys(epochs))
        ran = ", ".join(str(e) for e in cv.epochs)
        out.append(f"the text states {said} epoch(s) but the runs trained {ran}")
    return "; ".join(out)


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
    counts = _counts_check(cv, context)
    measured = _measured_text(cv, k)
    runs = _runs_text(cv.runs)
    if problems or counts:
        what = f"printed {printed}, measured {measured}" if problems else ""
        cand.status = "MISMATCH"
        cand.reason = "; ".join(x for x in (what, counts) if x) + f" — {who}; runs {runs}"
    else:
        cand.status = "BACKED"
        cand.reason = f"{who}: measured {measured}; runs {runs}"


def _candidates(hit: NumberHit, values: list[ClaimValue]) -> list[_Cand]:
    out = []
    for cv in values:
        rep = cv.reported
        if rep is None:
            continue
        for k in _scales(hit, rep.mean):
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


def _nearest(hit: NumberHit, values: list[ClaimValue]) -> str:
    best: tuple[float, str] | None = None
    for cv in values:
        rep = cv.reported
        if rep is None:
            continue
        for k in _scales(hit, rep.mean):
            for typed, name in ((rep.mean, "mean"), (rep.std, "std")):
                if typed is None:
                    continue
                d = abs(hit.value / k - typed)
                if d <= 10 * hit.resolution / k and (best is None or d < best[0]):
                    shown = f"{typed * k:g}"
                    best = (d, f"{cv.ref} {cv.method} {name} {shown} (spec {cv.spec})")
    return f"; nearest claimed value: {best[1]}" if best else ""


# --------------------------------------------------------------------------------- macros


def _macro_finding(
    use: MacroUse,
    by_name: dict[tuple[str, str], ClaimValue],
    refs: dict[str, list[ClaimValue]],
    entries: dict[tuple[str, str, str], ValueEntry] | None,
    context: str,
) -> Finding:
    f = Finding(use.file, use.line, use.col, use.text, "UNSOURCED", "", kind="macro")
    f.start = use.start
    if len(use.args) < 3:
        f.reason = f"\\{use.name} needs three arguments {{claim}}{{method}}{{field}}"
        return f
    ref, method, fld = (a.strip() for a in use.args[:3])
    f.claim, f.method, f.field = ref, method, fld
    if ref not in refs:
        close = difflib.get_close_matches(ref, list(refs), n=1)
        f.reason = f"no claim '{ref}' in the specs" + (
            f" (did you mean {close[0]}?)" if close else ""
        )
        return f
    cv = by_name.get((ref, method))
    if cv is None:
        have = ", ".join(c.method for c in refs[ref])
        f.reason = f"claim '{ref}' has no operand '{method}' (it has {have})"
        return f
    f.spec, f.claim, f.runs = cv.spec, cv.claim, list(cv.runs)
    if fld not in FIELDS:
        close = difflib.get_close_matches(fld, FIELDS, n=1)
        f.reason = f"unknown field '{fld}'" + (
            f" (did you mean {close[0]}?)" if close else f"; fields are {', '.join(FIELDS)}"
        )
        return f
    if cv.status != "ok":
        f.status = "UNSOURCED" if cv.status == "unsourced" else "MISMATCH"
        f.reason = f"claim {ref} {method}: {cv.reason}"
        return f
    f.measured = cv.measured()
    measured = _measured_text(cv)
    runs = _runs_text(cv.runs)
    if field_text(cv, fld) is None:
        f.reason = f"claim {ref} {method} has no {fld} ({measured})"
        return f
    counts = _counts_check(cv, context) if fld not in ("n",) else ""
    if entries is None:
        f.status = "MISMATCH" if counts else "BACKED"
        f.reason = (counts + " — " if counts else "") + (
            f"claim {ref} {method} {fld}: measured {measured}; runs {runs} "
            "(no generated values file found: what LaTeX prints is not checked)"
        )
        return f
    entry = entries.get((ref, method, fld))
    if entry is None:
        f.reason = (
            f"the values file has no {ref}/{method}/{fld} (LaTeX prints ??): "
            "regenerate it with faspec macros"
        )
        return f
    f.printed = entry.text
    stale = _stale(entry, cv, fld)
    if stale:
        f.status = "MISMATCH"
        f.reason = (
            f"{os.path.basename(entry.file)}:{entry.line} prints {pretty(entry.text)} but the "
            f"store now gives {measured} — claim {ref} ({cv.spec}) {method}; runs {runs}; "
            "regenerate with faspec macros"
        )
    elif counts:
        f.status = "MISMATCH"
        f.reason = f"{counts} — claim {ref} ({cv.spec}) {method}; runs {runs}"
    else:
        f.status = "BACKED"
        f.reason = f"claim {ref} ({cv.spec}) {method} {fld} = {pretty(entry.text)}: measured {measured}; runs {runs}"
    return f


def _stale(entry: ValueEntry, cv: ClaimValue, fld: str) -> bool:
    """Does the file's printed text disagree with the store at the digits it prints?"""
    from faspec.audit.latex import extract_string

    if fld == "n":
        return entry.text.strip() != str(cv.n)
    hits = extract_string(entry.text).numbers
    if len(hits) != 1:
        return True
    h = hits[0]
    k = 100.0 if fld.startswith("pct") else 1.0
    mean, std = cv.mean, cv.std
    if fld in ("mean", "pct"):
        return mean is None or not h.rounds_to(mean * k)
    if fld in ("std", "pctstd"):
        return std is None or not h.rounds_to(std * k)
    # pm, pctpm
    return (
        mean is None or std is None or not (h.rounds_to(mean * k) and h.rounds_to(std * k, "std"))
    )


# --------------------------------------------------------------------------------- audit


def audit(
    paper: str | os.PathLike[str],
    specs: list[Any],
    plan: Any,
    values: list[ClaimValue],
    allowances: Allowances | None = None,
    values_file: str | os.PathLike[str] | None = None,
    allow_outside: bool = False,
) -> AuditResult:
    r"""Audit the paper at `paper` (following its inputs) against claims, store and configs.

    `allow_outside`: follow ``\input`` of files outside the paper's folder tree."""
    ex = extract(paper, allow_outside=allow_outside)
    return audit_extraction(ex, os.fspath(paper), specs, plan, values, allowances, values_file)


def audit_extraction(
    ex: Extraction,
    paper: str,
    specs: list[Any],
    plan: Any,
    values: list[ClaimValue],
    allowances: Allowances | None = None,
    values_file: str | os.PathLike[str] | None = None,
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
    loc = Locator(ex.sources)
    order = {s.file: k for k, s in enumerate(ex.sources)}

    for hit in ex.numbers:
        if hit.file in gen_files:
            continue
        result.findings.append(_number_finding(hit, claimed, config, allowances, loc, values))
    by_name = {(cv.ref, cv.method): cv for cv in values}
    refs: dict[str, list[ClaimValue]] = {}
    for cv in values:
        refs.setdefault(cv.ref, []).append(cv)
    for use in ex.macros:
        if use.file in gen_files:
            continue
        ctx = loc.context(use.file, use.start, use.end)
        result.findings.append(_macro_finding(use, by_name, refs, entries, ctx))
    result.findings.sort(key=lambda f: (order.get(f.file, 1 << 30), f.start, f.col))
    result.unused_allowances = allowances.unused()
    return result


def _number_finding(
    hit: NumberHit,
    claimed: list[ClaimValue],
    config: ConfigIndex,
    allowances: Allowances,
    loc: Locator,
    values: list[ClaimValue],
) -> Finding:
    f = Finding(hit.file, hit.line, hit.col, hit.text, "UNSOURCED", "", value=hit.value)
    f.start = hit.start
    cands = _candidates(hit, claimed)
    if cands:
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
        return f
    keys = config.match(hit)
    if _formula_constant(hit) and not _named_before(keys, loc.before(hit.file, hit.start)):
        f.status, f.reason = "ALLOWED", FORMULA_CONSTANT
        return f
    if keys:
        f.status = "CONFIG"
        f.config = keys
        f.reason = ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
        return f
    reason = allowances.is_allowed(hit)
    if reason is not None:
        f.status, f.reason = "ALLOWED", reason
        return f
    f.reason = "no claim reports it, no spec configures it, no allowance covers it" + _nearest(
        hit, claimed
    )
    return f


def _named_before(keys: list[str], before: str) -> bool:
    """Is the number written as `name = value` with the name of a key it equals?"""
    for k in keys:
        name = k.split("=")[0].split(".")[-1]
        if re.search(r"(?<![A-Za-z])" + re.escape(name) + r"\s*=\s*$", before):
            return True
    return False


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
