"""The short terminal report: one line per claim, its verdict and the deciding numbers."""

from __future__ import annotations

from typing import Any

from faspec.report.common import counts, degenerate_values, family_line

COLOURS = {
    "pass": "green",
    "fail": "red",
    "inconclusive": "yellow",
    "error": "magenta",
    "unsourced": "cyan",
}


def lines(
    spec: Any, verdicts: list[Any], colour: bool = False, profile: str | None = None
) -> list[str]:
    import click

    out = []
    head = f"{spec.name}: {spec.title}" if spec.title else spec.name
    if profile:
        head += f"   [PROFILE {profile.upper()}: tiny sizes, NOT the paper's setting]"
    out.append(click.style(head, bold=True) if colour else head)
    width = max((len(c.id) for c in spec.claims), default=10)
    for claim, v in zip(spec.claims, verdicts, strict=True):
        tag = f"{v.verdict.upper():<12}"
        if colour:
            tag = click.style(tag, fg=COLOURS.get(v.verdict), bold=True)
        mark = " [degenerate reference]" if degenerate_values(v.numbers) else ""
        if (v.code or {}).get("stale"):
            mark += " [STALE: code changed since these runs]"
        out.append(f"  {tag} {claim.id:<{width}}  {claim.expect}  — {v.message}{mark}")
    c = counts(verdicts)
    out.append("  " + ", ".join(f"{n} {k}" for k, n in c.items() if n))
    if family_line(verdicts):
        out.append("  " + family_line(verdicts))
    return out
