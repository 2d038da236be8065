"""JUnit XML (`faspec verify --junit FILE`): every claim a test case, so CI shows claims as tests.

One `<testsuite>` per spec (name = spec name), one `<testcase>` per claim (classname
`faspec.<spec>`, name = claim id). Verdicts map so that a CI turns red exactly when
`faspec verify` exits 1:

| verdict        | JUnit                                   | why                                            |
|----------------|-----------------------------------------|------------------------------------------------|
| `pass`         | passed (no child)                       |                                                |
| `fail`         | `<failure type="fail">`                 | the data contradict the claim                  |
| `inconclusive` | `<failure type="inconclusive">`         | the claim is not shown: the paper may not state it |
| `error`        | `<error type="error">`                  | a run crashed or diverged: the test could not run |
| `unsourced`    | `<error type="unsourced">`              | no stored result for a needed run: nothing backs the claim |

`<skipped>` is never used: CI tools count skipped cases as harmless, while an unsourced claim is
exactly what faspec exists to catch. The failure/error `message` is the verdict's one-line reason;
the element's text holds expect, rule, statistics and the runs behind the claim.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from faspec.report.common import code_text, fmt
from faspec.report.html import reported_row

KIND = {"fail": "failure", "inconclusive": "failure", "error": "error", "unsourced": "error"}
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(s: Any) -> str:
    """Text XML 1.0 can hold (a traceback may carry control characters)."""
    return _BAD_XML.sub("?", "" if s is None else str(s))


def _details(claim: dict[str, Any]) -> str:
    lines = [f"expect: {claim.get('expect')}"]
    if claim.get("where"):
        lines.append(f"where: {claim['where']}")
    lines += [
        f"rule: {claim.get('rule')}",
        f"verdict: {claim.get('verdict')}",
        f"why: {claim.get('message')}",
    ]
    fam = claim.get("family") or {}
    if fam.get("outside"):
        lines.append(f"family: outside ({fam['outside']}), {fam.get('size')} claim(s) tested")
    elif fam:
        lines.append(
            f"family: {fam.get('method')} over {fam.get('size')} tested claim(s), p "
            f"{fmt(fam.get('p'))}, corrected threshold {fmt(fam.get('threshold'))}"
        )
    if code_text(claim):
        lines.append(f"code: {code_text(claim)}")
    for dv in claim.get("degenerate_reference") or []:
        lines.append(
            f"degenerate reference: {dv.get('method')} seed {dv.get('seed')} g_norm "
            f"{fmt(dv.get('g_norm'))} < floor {fmt(dv.get('floor'))} at epoch {dv.get('epoch')}"
        )
    for r in claim.get("reported") or []:
        if isinstance(r, dict):
            x = reported_row(r)
            lines.append(
                f"reported {x['what']}: paper {x['paper']}, measured {x['measured']} "
                f"({x['status']}{', ' + x['test'] if x['test'] else ''}) {x['why']}".rstrip()
            )
    runs = claim.get("run_details") or []
    for r in runs:
        lines.append(
            f"run {r.get('run')}: {r.get('method')} seed {r.get('seed')} {r.get('status')} "
            f"wall {fmt(r.get('wall_s'), 3)}s on {r.get('device')} (faspec {r.get('faspec')})"
        )
    return "\n".join(lines)


def _wall(claim: dict[str, Any]) -> float:
    return sum(
        float(r["wall_s"])
        for r in claim.get("run_details") or []
        if isinstance(r.get("wall_s"), int | float)
    )


def render(reports: list[dict[str, Any]]) -> str:
    """The JUnit XML of one or more JSON reports (`json_report.build`), one testsuite per spec.

    A test case's `time` is the summed training wall time of the runs behind the claim.
    """
    root = ET.Element("testsuites", name="faspec")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for rep in reports:
        claims = rep.get("claims") or []
        suite = ET.SubElement(root, "testsuite", name=_x(rep.get("spec")))
        n = {"tests": len(claims), "failures": 0, "errors": 0, "skipped": 0}
        keys = [
            k for k in ("path", "title", "store", "faspec", "profile", "generated") if rep.get(k)
        ]
        if keys:
            props = ET.SubElement(suite, "properties")
            for key in keys:
                ET.SubElement(props, "property", name=key, value=_x(rep[key]))
        t_suite = 0.0
        for c in claims:
            verdict = str(c.get("verdict"))
            t = _wall(c)
            t_suite += t
            case = ET.SubElement(
                suite,
                "testcase",
                classname=_x(f"faspec.{rep.get('spec')}"),
                name=_x(c.get("claim_id")),
                time=f"{t:.3f}",
            )
            kind = KIND.get(verdict, None if verdict == "pass" else "error")
            if kind:
                n["failures" if kind == "failure" else "errors"] += 1
                el = ET.SubElement(
                    case, kind, message=_x(f"{verdict.upper()}: {c.get('message')}"), type=verdict
                )
                el.text = _x(_details(c))
            else:
                ET.SubElement(case, "system-out").text = _x(_details(c))
        suite.set("time", f"{t_suite:.3f}")
        for k, v in n.items():
            suite.set(k, str(v))
            totals[k] += v
    for k, v in totals.items():
        root.set(k, str(v))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
