"""The machine-readable report (`reports/<spec>.json`): everything the Markdown shows, as data."""

from __future__ import annotations

import json
from typing import Any

from faspec.report.common import (
    STD_NOTE,
    counts,
    degenerate_values,
    family_summary,
    is_stale,
    run_rows,
)


def build(
    spec: Any,
    verdicts: list[Any],
    results: dict[str, dict[str, Any] | None],
    configs: dict[str, dict[str, Any]],
    meta: dict[str, Any],
) -> dict[str, Any]:
    claims = []
    for claim, v in zip(spec.claims, verdicts, strict=True):
        d = v.to_dict()
        d.update(
            {
                "expect": claim.expect,
                "where": claim.where_paper,
                "experiment": claim.experiment,
                "covers": list(claim.covers),
                "run_details": run_rows(v.runs, results, configs),
                "degenerate_reference": degenerate_values(v.numbers),
            }
        )
        claims.append(d)
    return {
        "spec": spec.name,
        "title": spec.title,
        "path": str(spec.path),
        "counts": counts(verdicts),
        # every claim passes (the exit code); `counts.stale` says how many rest on stale runs
        "ok": all(v.verdict == "pass" for v in verdicts),
        "stale_claims": [c.id for c, v in zip(spec.claims, verdicts, strict=True) if is_stale(v)],
        "std": STD_NOTE,
        "family": family_summary(verdicts),
        **meta,
        "claims": claims,
    }


def render(*args: Any) -> str:
    return json.dumps(build(*args), indent=1, sort_keys=False, default=str) + "\n"
