r"""What the audit says about each printed number: `Finding`, `AuditResult`, and the phrases
its reasons are made of (measured values, run lists, stated seed/epoch counts).

Shared by the two judges: `faspec.audit.source` (printed numbers) and
`faspec.audit.macro_use` (results-macro uses). See docs/audit.md for the statuses.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from faspec.audit.allow import Allowance
from faspec.audit.locate import stated_counts
from faspec.audit.values import ClaimValue

__all__ = ["PROBLEMS", "STATUSES", "AuditResult", "Finding", "pretty"]

STATUSES = ("BACKED", "MISMATCH", "CONFIG", "ALLOWED", "UNSOURCED")
PROBLEMS = ("MISMATCH", "UNSOURCED")


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


def fmt(x: float | None, k: float = 1.0) -> str:
    return "—" if x is None else f"{x * k:.4g}"


def measured_text(cv: ClaimValue, k: float = 1.0) -> str:
    if cv.status != "ok":
        return cv.status
    s = fmt(cv.mean, k) + (f" ± {fmt(cv.std, k)}" if cv.std is not None else "")
    return s + ("%" if k == 100 else "") + f" (n={cv.n})"


def runs_text(runs: list[str]) -> str:
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


def counts_check(cv: ClaimValue, context: str) -> str:
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
