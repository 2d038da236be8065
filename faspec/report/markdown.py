"""The Markdown report (`reports/<spec>.md`): verdict, rule and numbers per claim, then its runs."""

from __future__ import annotations

from typing import Any

from faspec.report.common import (
    STD_NOTE,
    code_text,
    counts,
    degenerate_values,
    family_line,
    family_text,
    fmt,
    reported_row,
    run_rows,
)


def _stat_rows(numbers: Any, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Find every {mean, std, n} summary inside a verdict's numbers, with a readable name."""
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(numbers, dict):
        if "mean" in numbers and "n" in numbers:
            return [(prefix or "value", numbers)]
        for k, v in numbers.items():
            if k in ("operands", "points"):
                out += _stat_rows(v, prefix)
            elif isinstance(v, (dict, list)):
                out += _stat_rows(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(numbers, list):
        for i, v in enumerate(numbers):
            point = v.get("point") if isinstance(v, dict) else None
            if isinstance(point, dict) and point:
                name = "@ " + ", ".join(f"{a}={b}" for a, b in point.items())
            else:
                name = "" if len(numbers) == 1 else f"[{i}]"
            out += _stat_rows(v, " ".join(x for x in (prefix, name) if x))
    return out


def _scalars(numbers: Any) -> list[tuple[str, Any]]:
    if not isinstance(numbers, dict):
        return []
    return [
        (k, v)
        for k, v in numbers.items()
        if isinstance(v, (int, float, str)) and not isinstance(v, bool)
    ]


def render(
    spec: Any,
    verdicts: list[Any],
    results: dict[str, dict[str, Any] | None],
    configs: dict[str, dict[str, Any]],
    meta: dict[str, Any],
) -> str:
    c = counts(verdicts)
    lines = [f"# {spec.name}: {spec.title}".rstrip(": "), ""]
    if meta.get("profile"):
        lines += [
            f"> **PROFILE `{meta['profile']}`: tiny sizes, not the paper's setting. These verdicts say "
            "the pipeline runs, not that the paper's claims hold.**",
            "",
        ]
    lines += [
        f"Spec `{spec.path}` · store `{meta.get('store')}` · faspec {meta.get('faspec')} · {meta.get('generated')}",
        "",
        "**" + " · ".join(f"{n} {k}" for k, n in c.items() if n) + "**",
        "",
        STD_NOTE,
        "",
        *([family_line(verdicts), ""] if family_line(verdicts) else []),
        "| claim | where | expect | verdict | why |",
        "|---|---|---|---|---|",
    ]
    for claim, v in zip(spec.claims, verdicts, strict=True):
        why = v.message.replace("|", "\\|")
        lines.append(
            f"| `{claim.id}` | {claim.where_paper or ''} | `{claim.expect}` | **{v.verdict.upper()}** | {why} |"
        )
    for claim, v in zip(spec.claims, verdicts, strict=True):
        lines += ["", f"## `{claim.id}` — {v.verdict.upper()}", "", f"- expect: `{claim.expect}`"]
        if claim.where_paper:
            lines.append(f"- where: {claim.where_paper}")
        lines.append(f"- rule: {v.rule}")
        lines.append(f"- why: {v.message}")
        if v.power.get("text"):
            lines.append(f"- power: {v.power['text']}")
        if family_text(v):
            lines.append(f"- family: {family_text(v)}")
        if code_text(v):
            lines.append(f"- **code**: {code_text(v)}")
        for dv in degenerate_values(v.numbers):
            lines.append(
                f"- **degenerate reference**: {dv.get('method')} seed {dv.get('seed')} "
                f"(run `{dv.get('run')}`): ‖g_L‖ {fmt(dv.get('g_norm'))} < floor "
                f"{fmt(dv.get('floor'))} at epoch {dv.get('epoch')}; its {dv.get('metric')} is "
                "measured against a numerically meaningless BP gradient"
            )
        stats = _stat_rows(v.numbers)
        if stats:
            lines += [
                "",
                "| operand | mean | std (ddof=1) | n | per seed |",
                "|---|---|---|---|---|",
            ]
            for name, s in stats:
                per_seed = s.get("values") or s.get("per_seed") or []
                if isinstance(per_seed, dict):
                    per_seed = [f"{k}: {fmt(x)}" for k, x in per_seed.items()]
                else:
                    per_seed = [fmt(x) for x in per_seed]
                lines.append(
                    f"| {name} | {fmt(s.get('mean'))} | {fmt(s.get('std'))} | {s.get('n')} | {', '.join(per_seed)} |"
                )
        sc = _scalars(v.numbers)
        if sc:
            lines += [""] + [f"- {k}: {fmt(x)}" for k, x in sc]
        if v.reported:
            lines += [
                "",
                "| reported | paper | measured | test | status | why |",
                "|---|---|---|---|---|---|",
            ]
            for r in v.reported:
                row = reported_row(r)
                lines.append(
                    "| "
                    + " | ".join(
                        row[k].replace("|", "\\|")
                        for k in ("what", "paper", "measured", "test", "status", "why")
                    )
                    + " |"
                )
        rows = run_rows(v.runs, results, configs)
        if rows:
            lines += [
                "",
                "<details><summary>runs</summary>",
                "",
                "| run | method | seed | status | wall s | device | faspec |",
                "|---|---|---|---|---|---|---|",
            ]
            for r in rows:
                lines.append(
                    f"| `{r['run']}` | {r['method']} | {r['seed']} | {r['status']}{' (' + r['flag'] + ')' if r['flag'] else ''} | {fmt(r['wall_s'], 3)} | {r['device']} | {r['faspec']} |"
                )
            lines += ["", "</details>"]
    return "\n".join(lines) + "\n"
