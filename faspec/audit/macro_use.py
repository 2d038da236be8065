r"""The status of a results-macro use ``\\fsv{claim}{method}{field}`` (see docs/audit.md).

BACKED when the name resolves to a value the store holds and the generated values file prints
that value at the digits it prints; MISMATCH when the file is stale or the sentence states a
seed count the runs do not have; UNSOURCED when the claim, operand or field does not exist
(with a "did you mean"), its runs are missing, or the file lacks the entry.
"""

from __future__ import annotations

import difflib
import os

from faspec.audit.findings import Finding, counts_check, measured_text, pretty, runs_text
from faspec.audit.latex import MacroUse, extract_string
from faspec.audit.macros import FIELDS, ValueEntry, field_text
from faspec.audit.values import ClaimValue

__all__ = ["macro_finding", "stale"]


def macro_finding(
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
    measured = measured_text(cv)
    runs = runs_text(cv.runs)
    if field_text(cv, fld) is None:
        f.reason = f"claim {ref} {method} has no {fld} ({measured})"
        return f
    counts = counts_check(cv, context) if fld not in ("n",) else ""
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
    is_stale = stale(entry, cv, fld)
    if is_stale:
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


def stale(entry: ValueEntry, cv: ClaimValue, fld: str) -> bool:
    """Does the file's printed text disagree with the store at the digits it prints?"""
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
