"""The HTML report (`reports/<spec>.html`) and the index over every report of a folder.

One self-contained file per spec: no script, no stylesheet or font from the network, every figure
a base64 PNG or an inline SVG (figures.py). Input is the JSON report (`json_report.build`), the
stored results (per-epoch logs for curves) and, optionally, the spec's cells (`cells_for(plan,
spec_name)`: which method label, seed and sweep point each run is), which the JSON report does not
carry. This module lays the page out; claim_view.py reads the verdicts, figures.py draws.

Rendering is generic over the verdict: every field of a verdict's `numbers` is shown (operand
summaries, tests, per-seed rows, then any other field as `name: value`), and any claim-level field
the page does not lay out by name is listed under the claim's rule, so a field check/claims.py
adds later appears without a change here.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from faspec.report.claim_view import PointNumbers, claim_id_of, per_seed_values, read_numbers
from faspec.report.common import (
    STD_NOTE,
    VERDICTS,
    code_text,
    family_sentence,
    fmt,
    is_stale,
    reported_row,
)
from faspec.report.figures import figure

__all__ = ["cells_for", "render", "render_index", "load_reports", "badge", "reported_row"]

BADGE = {
    "pass": "#1a7f37",
    "fail": "#cf222e",
    "inconclusive": "#9a6700",
    "error": "#8250df",
    "unsourced": "#0969da",
}


def cells_for(plan: Any, spec_name: str) -> list[dict[str, Any]]:
    """The cells of one spec as plain rows: experiment, method label, seed, sweep point, run."""
    return [
        {
            "experiment": c.experiment,
            "label": c.label,
            "seed": c.seed,
            "point": dict(c.point),
            "run": rid,
        }
        for c, rid in plan.cells.items()
        if c.spec == spec_name
    ]


# ---------------------------------------------------------------------------------------------
# Pages

CSS = (
    """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;
 padding:0 1em;color:#1f2328;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #d0d7de}
code{background:#f6f8fa;padding:.1em .3em;border-radius:4px;font-size:90%}
table{border-collapse:collapse;margin:.6em 0;font-size:90%} th,td{border:1px solid #d0d7de;padding:.25em .6em;
 text-align:left;vertical-align:top} th{background:#f6f8fa}
.badge{display:inline-block;color:#fff;font-weight:600;font-size:80%;padding:.15em .6em;border-radius:1em;
 letter-spacing:.03em}
"""
    + "".join(f".verdict-{k}{{background:{c}}}" for k, c in BADGE.items())
    + """
.meta{color:#57606a;font-size:90%} .profile{background:#fff8c5;border:1px solid #d4a72c;padding:.6em;
 font-weight:600} .claim{margin-bottom:2.5em} dl{display:grid;grid-template-columns:max-content auto;
 gap:.2em 1em} dt{font-weight:600;color:#57606a} dd{margin:0} img.plot,svg.plot{max-width:100%;display:block;
 margin:.8em 0} .no{color:#cf222e;font-weight:600}
 .stale{background:#9a6700;color:#fff;border-radius:4px;padding:.05em .4em;font-weight:600} details{margin:.5em 0}
"""
)


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def badge(verdict: str, claim_id: str | None = None) -> str:
    v = verdict if verdict in VERDICTS else "error"
    attr = f' data-claim="{_e(claim_id)}"' if claim_id is not None else ""
    return f'<span class="badge verdict-{v}" data-verdict="{_e(verdict)}"{attr}>{_e(verdict.upper())}</span>'


def _anchor(claim_id: str) -> str:
    return "claim-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in claim_id)


def _page(title: str, body: list[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
            *body,
            "</body></html>",
            "",
        ]
    )


def _counts_line(counts: dict[str, int]) -> str:
    line = " ".join(f"{badge(k)}&nbsp;{n}" for k, n in counts.items() if n and k != "stale")
    if counts.get("stale"):
        line += f" {STALE_MARK}&nbsp;{counts['stale']} decided on stale runs (--keep-stale)"
    return line


STALE_MARK = '<span class="stale" title="decided on runs of code no longer installed">STALE</span>'


def _stale(claim: dict[str, Any]) -> str:
    return f" {STALE_MARK}" if is_stale(claim) else ""


def _table(cls: str, head: list[str], rows: list[list[str]]) -> list[str]:
    """A table; cells are already HTML."""
    out = [f'<table class="{cls}"><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    return out + ["</table>"]


# Keys of an operand summary, a test (link) and a per-seed row that have a column of their own
# (or, for log10_* and epochs_checked, are shown through another); any other key is appended to
# the row's last cell by `_rest`, so fields check/claims.py adds later are never dropped.
_SUMMARY_KEYS = frozenset(
    (
        "mean",
        "std",
        "n",
        "values",
        "per_seed",
        "seeds",
        "geomean",
        "metric",
        "log10_mean",
        "log10_std",
    )
)
_LINK_KEYS = frozenset(
    ("left", "op", "right", "test", "p", "diff", "scale", "margin", "verdict", "message")
    + ("seeds_needed", "test_note")
)
_SEED_KEYS = frozenset(("seed", "holds", "epoch", "values", "epochs_checked"))


def _rest(d: dict[str, Any], known: frozenset[str]) -> str:
    """The fields of `d` outside `known`, as `name value` text; empty values are left out."""
    parts = []
    for k, v in d.items():
        if k in known or v is None or v == "" or v == [] or v == {}:
            continue
        if isinstance(v, dict):
            v = ", ".join(f"{a}={fmt(b)}" for a, b in v.items())
        elif isinstance(v, list):
            v = ", ".join(fmt(x) for x in v)
        parts.append(f"{k.replace('_', ' ')} {fmt(v)}")
    return "; ".join(parts)


def _with_rest(text: str, d: dict[str, Any], known: frozenset[str]) -> str:
    rest = _rest(d, known)
    return f"{text} ({rest})" if rest and text else text or rest


def _point_html(pn: PointNumbers) -> list[str]:
    out: list[str] = []
    if pn.operands:
        rows = []
        for key, s in pn.operands.items():
            seeds = ", ".join(
                f"{sd}: {fmt(v)}" if sd is not None else fmt(v) for sd, v in per_seed_values(s)
            )
            mean = fmt(s.get("mean"))
            if s.get("geomean") is not None:
                mean += f" (geometric {fmt(s['geomean'])})"
            rows.append(
                [
                    f"<code>{_e(key)}</code>",
                    _e(mean),
                    _e(fmt(s.get("std"))),
                    _e(s.get("n")),
                    _e(_with_rest(seeds, s, _SUMMARY_KEYS)),
                ]
            )
        out += _table("stats", ["operand", "mean", "std (ddof=1)", "n", "per seed"], rows)
    if pn.links:
        rows = []
        for lk in pn.links:
            margin = lk.get("margin")
            margin = (
                ", ".join(f"{k} {fmt(v)}" for k, v in margin.items())
                if isinstance(margin, dict)
                else fmt(margin)
            )
            note = str(lk.get("message") or "")
            if lk.get("seeds_needed"):
                note += f" (about {lk['seeds_needed']} seeds would decide)"
            if lk.get("test_note"):
                note += f" [{lk['test_note']}]"
            diff = fmt(lk.get("diff")) + (
                f" ({lk['scale']})" if lk.get("scale") not in (None, "linear") else ""
            )
            rows.append(
                [
                    f"<code>{_e(lk.get('left'))} {_e(lk.get('op'))} {_e(lk.get('right'))}</code>",
                    _e(lk.get("test")),
                    _e(fmt(lk.get("p"))),
                    _e(diff),
                    _e(margin),
                    badge(str(lk["verdict"])) if lk.get("verdict") else "",
                    _e(_with_rest(note, lk, _LINK_KEYS)),
                ]
            )
        out += _table(
            "tests", ["comparison", "test", "p", "difference", "margin", "verdict", "why"], rows
        )
    if pn.per_seed:
        rows = []
        for r in pn.per_seed:
            vals = r.get("values") if isinstance(r.get("values"), dict) else {}
            rows.append(
                [
                    _e(r.get("seed")),
                    "yes" if r.get("holds") else '<span class="no">no</span>',
                    _e(fmt(r.get("epoch"))),
                    _e(
                        _with_rest(
                            ", ".join(f"{k} {fmt(v)}" for k, v in vals.items()), r, _SEED_KEYS
                        )
                    ),
                ]
            )
        out += _table("per-seed", ["seed", "holds", "epoch", "values"], rows)
    if pn.other:
        out.append(
            '<p class="meta">' + " · ".join(f"{_e(k)}: {_e(fmt(v))}" for k, v in pn.other) + "</p>"
        )
    return out


def _numbers_html(numbers: Any) -> list[str]:
    nums = read_numbers(numbers)
    out = []
    if nums.settings:
        parts = [f"{k} {fmt(v)}" for k, v in nums.settings.items()] + ["std ddof=1"]
        out.append(f'<p class="settings">statistics: {_e(" · ".join(parts))}</p>')
    many = len(nums.points) > 1
    for pn in nums.points:
        if many or pn.point:
            where = ", ".join(f"{k} = {v}" for k, v in pn.point.items()) or "point"
            head = f"<h3>{_e(where)}"
            if pn.verdict:
                head += f" {badge(pn.verdict)}"
            out.append(head + "</h3>")
            if many and pn.message:
                out.append(f"<p>{_e(pn.message)}</p>")
        out += _point_html(pn)
    return out


# The claim fields the page lays out by name; any other field of a verdict is listed as it is.
_LAID_OUT = frozenset(
    (
        "claim_id",
        "verdict",
        "rule",
        "message",
        "numbers",
        "runs",
        "reported",
        "expect",
        "where",
        "experiment",
        "for_each",
        "covers",
        "run_details",
        "code",
    )
)


def _extra_fields(claim: dict[str, Any]) -> list[tuple[str, str]]:
    """Claim-level fields not laid out by name (a family size, a corrected threshold, a mark
    added to verdicts later), as (name, text); empty values are left out."""
    out = []
    for k, v in claim.items():
        if k in _LAID_OUT or v is None or v == "" or v == [] or v == {}:
            continue
        if isinstance(v, dict):
            text = ", ".join(f"{a} {fmt(b)}" for a, b in v.items())
        elif isinstance(v, list):
            text = ", ".join(fmt(x) for x in v)
        else:
            text = fmt(v)
        out.append((k.replace("_", " "), text))
    return out


def _claim_section(
    claim: dict[str, Any],
    results: dict[str, dict[str, Any] | None],
    cells: list[dict[str, Any]] | None,
) -> list[str]:
    cid = claim_id_of(claim)
    verdict = str(claim.get("verdict") or "error")
    out = [
        f'<section class="claim" id="{_anchor(cid)}" data-claim="{_e(cid)}">',
        f"<h2>{badge(verdict, cid)}{_stale(claim)} <code>{_e(cid)}</code></h2>",
        "<dl>",
        f"<dt>expect</dt><dd><code>{_e(claim.get('expect'))}</code></dd>",
    ]
    if claim.get("where"):
        out.append(f"<dt>where</dt><dd>{_e(claim['where'])}</dd>")
    if claim.get("experiment"):
        out.append(f"<dt>experiment</dt><dd><code>{_e(claim['experiment'])}</code></dd>")
    if claim.get("for_each"):
        out.append(f"<dt>for each</dt><dd><code>{_e(claim['for_each'])}</code></dd>")
    out += [
        f"<dt>rule</dt><dd>{_e(claim.get('rule'))}</dd>",
        f"<dt>why</dt><dd>{_e(claim.get('message'))}</dd>",
    ]
    if code_text(claim):
        out.append(f'<dt>code</dt><dd class="stale-why">{_e(code_text(claim))}</dd>')
    out += [f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in _extra_fields(claim)]
    out.append("</dl>")
    out += _numbers_html(claim.get("numbers"))
    reported = [reported_row(r) for r in claim.get("reported") or [] if isinstance(r, dict)]
    if reported:
        rows = [
            [
                f"<code>{_e(r['what'])}</code>",
                _e(r["paper"]),
                _e(r["measured"]),
                _e(r["test"]),
                "yes"
                if r["status"] == "agree"
                else f'<span class="no">{_e(r["status"].upper())}</span>',
                _e(r["why"]),
            ]
            for r in reported
        ]
        out += _table("reported", ["reported", "paper", "measured", "test", "agrees", "why"], rows)
    out.append(f'<figure data-claim="{_e(cid)}">{figure(claim, results, cells)}</figure>')
    runs = claim.get("run_details") or []
    if runs:
        out.append(f"<details><summary>{len(runs)} run{'s' if len(runs) != 1 else ''}</summary>")
        rows = [
            [
                f"<code>{_e(r.get('run'))}</code>",
                _e(r.get("method")),
                _e(r.get("seed")),
                _e(r.get("status")),
                _e(fmt(r.get("wall_s"), 3)),
                _e(r.get("device")),
                _e(r.get("faspec")),
            ]
            for r in runs
        ]
        out += _table(
            "runs", ["run", "method", "seed", "status", "wall s", "device", "faspec"], rows
        )
        out.append("</details>")
    out.append("</section>")
    return out


def render(
    report: dict[str, Any],
    results: dict[str, dict[str, Any] | None],
    cells: list[dict[str, Any]] | None = None,
) -> str:
    """The HTML page of one verified spec, from its JSON report and the stored results."""
    name, title = report.get("spec", "?"), report.get("title") or ""
    claims = report.get("claims") or []
    body = [f"<h1>{_e(name)}{': ' + _e(title) if title else ''}</h1>"]
    if report.get("profile"):
        body.append(
            f'<p class="profile">PROFILE <code>{_e(report["profile"])}</code>: tiny sizes, not the '
            "paper's setting. These verdicts say the pipeline runs, not that the paper's claims hold.</p>"
        )
    body += [
        f'<p class="meta">spec <code>{_e(report.get("path"))}</code> · store <code>{_e(report.get("store"))}'
        f"</code> · faspec {_e(report.get('faspec'))} · {_e(report.get('generated'))} · "
        '<a href="index.html">all reports</a></p>',
        f'<p class="counts">{_counts_line(report.get("counts") or {})}</p>',
        f"<p>{_e(report.get('std') or STD_NOTE)}</p>",
        *(
            [f'<p class="family">{_e(family_sentence(report["family"]))}</p>']
            if report.get("family")
            else []
        ),
        '<table class="summary"><tr><th>claim</th><th>where</th><th>expect</th><th>verdict</th><th>why</th></tr>',
    ]
    for c in claims:
        cid = claim_id_of(c)
        body.append(
            f'<tr><td><a href="#{_anchor(cid)}"><code>{_e(cid)}</code></a></td><td>{_e(c.get("where"))}</td>'
            f"<td><code>{_e(c.get('expect'))}</code></td><td>{badge(str(c.get('verdict')))}{_stale(c)}</td>"
            f"<td>{_e(c.get('message'))}</td></tr>"
        )
    body.append("</table>")
    for c in claims:
        body += _claim_section(c, results, cells)
    return _page(f"faspec: {name}", body)


def load_reports(reports_dir: str | Path) -> list[dict[str, Any]]:
    """Every JSON report of a folder (files that are not faspec reports are skipped), by spec name."""
    out = []
    for p in sorted(Path(reports_dir).glob("*.json")):
        try:
            d = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(d, dict) and "spec" in d and isinstance(d.get("claims"), list):
            out.append(d)
    return sorted(out, key=lambda d: str(d["spec"]))


def render_index(reports_dir: str | Path) -> str:
    """The index page over every verified spec whose JSON report lies in `reports_dir`."""
    reports = load_reports(reports_dir)
    body = [
        "<h1>faspec reports</h1>",
        f'<p class="meta">{len(reports)} spec{"s" if len(reports) != 1 else ""} · '
        f"{_e(STD_NOTE)}</p>",
        '<table class="index"><tr><th>spec</th><th>title</th><th>verdicts</th><th>claims</th>'
        "<th>generated</th></tr>",
    ]
    for r in reports:
        name = str(r["spec"])
        link = f"{name}.html"
        exists = (Path(reports_dir) / link).is_file()
        spec_cell = (
            f'<a href="{_e(link)}"><code>{_e(name)}</code></a>'
            if exists
            else f"<code>{_e(name)}</code>"
        )
        claims = "<br>".join(
            f'<a href="{_e(link)}#{_anchor(claim_id_of(c))}" title="{_e(c.get("expect"))}">'
            f"{badge(str(c.get('verdict')), claim_id_of(c))}</a>{_stale(c)} <code>{_e(claim_id_of(c))}</code>"
            for c in r["claims"]
        )
        profile = f" <b>[PROFILE {_e(r['profile'])}]</b>" if r.get("profile") else ""
        body.append(
            f"<tr><td>{spec_cell}{profile}</td><td>{_e(r.get('title'))}</td>"
            f"<td>{_counts_line(r.get('counts') or {})}</td><td>{claims}</td>"
            f"<td>{_e(r.get('generated'))}</td></tr>"
        )
    body.append("</table>")
    return _page("faspec reports", body)
