"""The audit's outputs as text: a table, JSON, GitHub workflow annotations, JUnit XML.

Pure functions from an `AuditResult` to a string; the CLI prints them.

* table: one row per number (`--problems` keeps MISMATCH and UNSOURCED only), then a summary;
* json: `AuditResult.to_dict()`: every finding with status, reason, claim, runs, measured;
* github: `::error file=…,line=…,col=…,title=…::…` for each MISMATCH and UNSOURCED and
  `::warning` for allowances nothing used, with paths relative to `$GITHUB_WORKSPACE`
  when given, so the annotations land on the right lines of a pull request;
* junit: one test case per number (classname = its file), failing for MISMATCH/UNSOURCED.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET

from faspec.audit.source import PROBLEMS, STATUSES, AuditResult, Finding, pretty

__all__ = ["github", "junit", "render", "summary", "table"]


def summary(result: AuditResult) -> str:
    c = result.counts()
    n_num = sum(1 for f in result.findings if f.kind == "number")
    n_mac = len(result.findings) - n_num
    parts = [f"{c[s]} {s.lower()}" for s in STATUSES if c[s]]
    head = f"audit of {result.paper}: {n_num} number(s)"
    if n_mac:
        head += f", {n_mac} macro use(s)"
    return head + (": " + ", ".join(parts) if parts else "") + ("" if result.ok else " — FAILED")


def _where(f: Finding) -> str:
    return f"{f.file}:{f.line}:{f.col}"


def table(result: AuditResult, problems_only: bool = False) -> str:
    rows = [f for f in result.findings if not problems_only or f.status in PROBLEMS]
    lines: list[str] = []
    if rows:
        wl = max(len(_where(f)) for f in rows)
        texts = [_short(pretty(f.text) if f.kind == "number" else f.text, 28) for f in rows]
        wt = max(len(t) for t in texts)
        for f, t in zip(rows, texts, strict=True):
            lines.append(f"{_where(f):<{wl}}  {f.status:<9}  {t:<{wt}}  {f.reason}".rstrip())
    for note in result.notes:
        lines.append(f"note: {note}")
    for a in result.unused_allowances:
        lines.append(
            f"warning: {a.where[0]}:{a.where[1]}:{a.where[2]}: allowance never used ({a.reason})"
        )
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _esc_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _esc_prop(s: str) -> str:
    return _esc_data(s).replace(":", "%3A").replace(",", "%2C")


def _rel(file: str, root: str | None) -> str:
    if not root:
        return file
    rel = os.path.relpath(os.path.abspath(file), os.path.abspath(root))
    return file if rel.startswith("..") else rel.replace(os.sep, "/")


def github(result: AuditResult, root: str | None = None) -> str:
    lines = []
    for f in result.findings:
        if f.status not in PROBLEMS:
            continue
        props = f"file={_esc_prop(_rel(f.file, root))},line={f.line},col={f.col}"
        title = _esc_prop(f"faspec audit: {f.status}")
        msg = _esc_data(f"{pretty(f.text) if f.kind == 'number' else f.text}: {f.reason}")
        lines.append(f"::error {props},title={title}::{msg}")
    for a in result.unused_allowances:
        props = f"file={_esc_prop(_rel(a.where[0], root))},line={a.where[1]}"
        lines.append(
            f"::warning {props},title=faspec audit::{_esc_data('allowance never used: ' + a.reason)}"
        )
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(s: object) -> str:
    return _BAD_XML.sub("?", "" if s is None else str(s))


def junit(result: AuditResult) -> str:
    c = result.counts()
    fails = sum(c[s] for s in PROBLEMS)
    suites = ET.Element(
        "testsuites", name="faspec audit", tests=str(len(result.findings)), failures=str(fails)
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=_x(f"faspec audit {result.paper}"),
        tests=str(len(result.findings)),
        failures=str(fails),
        errors="0",
        skipped="0",
    )
    for f in result.findings:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_x(f.file),
            name=_x(f"{f.line}:{f.col} {pretty(f.text) if f.kind == 'number' else f.text}"),
        )
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", name="status", value=f.status)
        if f.claim:
            ET.SubElement(props, "property", name="claim", value=_x(f.claim))
        if f.status in PROBLEMS:
            fail = ET.SubElement(case, "failure", type=f.status.lower(), message=_x(f.reason))
            fail.text = _x(json.dumps(f.to_dict(), indent=1))
        else:
            out = ET.SubElement(case, "system-out")
            out.text = _x(f"{f.status}: {f.reason}")
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def render(
    result: AuditResult, fmt: str, problems_only: bool = False, root: str | None = None
) -> str:
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=1) + "\n"
    if fmt == "github":
        return github(result, root)
    if fmt == "junit":
        return junit(result)
    return table(result, problems_only)
