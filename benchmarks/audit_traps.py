"""Score `faspec audit` against a paper whose numbers carry their true status.

Each line of the paper may end with ``% expect: STATUS ...``: the statuses a correct audit
gives that line's findings (numbers and ``\\fsv`` uses), in reading order. The store is written
from the paper folder's ``values.json`` (method -> metric -> one value per seed; no training),
so the paper's traps stay traps whatever the trainer does. Prints precision and recall per
status, the audit's time (the store and plan excluded) and every disagreement.

    PYTHONPATH=$PWD python benchmarks/audit_traps.py [PAPER.tex] [--json] [--repeat=40]
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from faspec.audit import claim_values, discover, load_allowances
from faspec.audit.findings import STATUSES
from faspec.audit.source import audit
from faspec.plan import build
from faspec.spec.load import load_many
from faspec.store import Store

_EXPECT = re.compile(r"%\s*expect:\s*(.*)$")


def expected(paper: Path, names: set[str]) -> dict[tuple[str, int], list[str]]:
    """(file name, line) -> the statuses its `% expect:` comment lists, for the paper and the
    files it inputs (`names`)."""
    out = {}
    for name in {paper.name} | names:
        path = paper.parent / name
        if not path.is_file():
            continue
        for k, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            m = _EXPECT.search(line)
            if m:
                out[(name, k)] = m.group(1).split()
    return out


def write_store(folder: Path, plan, values: dict) -> Store:
    store = Store(folder / "results")
    for cell, rid in plan.cells.items():
        seeds = sorted({c.seed for c in plan.cells if c.label == cell.label})
        per = values.get(cell.label, {})
        final = {m: v[seeds.index(cell.seed)] for m, v in per.items()}
        result = {"status": "ok", "error": None, "final": final, "log": [], "provenance": {}}
        store.put(rid, plan.runs[rid], result)
    return store


def score(paper: Path, repeat: int = 0) -> dict:
    """Audit a copy of `paper`'s folder and compare each finding with its expected status;
    `repeat`: also time the audit of the paper's body repeated that many times."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "paper"
        shutil.copytree(paper.parent, folder, ignore=shutil.ignore_patterns("results"))
        specs = load_many([folder / "specs"])
        plan = build(specs)
        store = write_store(folder, plan, json.loads((folder / "values.json").read_text()))
        main = folder / paper.name
        t0 = time.perf_counter()
        values = claim_values(specs, plan, store)
        res = audit(main, specs, plan, values, load_allowances(discover(main)))
        seconds = time.perf_counter() - t0
        big = None
        if repeat:
            head, rest = main.read_text(encoding="utf-8").split("\\begin{document}", 1)
            body = rest.split("\\end{document}", 1)[0]
            (folder / "repeated.tex").write_text(
                head + "\\begin{document}\n" + body * repeat + "\\end{document}\n"
            )
            t1 = time.perf_counter()
            r2 = audit(folder / "repeated.tex", specs, plan, values, load_allowances([]))
            big = {
                "repeat": repeat,
                "findings": len(r2.findings),
                "seconds": time.perf_counter() - t1,
            }
    got: dict[tuple[str, int], list] = {}
    for f in res.findings:
        got.setdefault((Path(f.file).name, f.line), []).append(f)
    want = expected(paper, {name for name, _ in got})
    pairs, problems = [], []
    for where in sorted(set(want) | set(got)):
        line = f"{where[0]}:{where[1]}"
        w, g = want.get(where, []), got.get(where, [])
        if len(w) != len(g):
            problems.append(f"{line}: expected {len(w)} findings {w}, got {len(g)}")
        for k in range(max(len(w), len(g))):
            exp = w[k] if k < len(w) else "(none)"
            act = g[k].status if k < len(g) else "(none)"
            pairs.append((exp, act))
            if exp != act:
                text = g[k].text if k < len(g) else ""
                reason = g[k].reason if k < len(g) else ""
                problems.append(f"{line}: {text!r} expected {exp}, got {act} ({reason})")
    per = {}
    for s in STATUSES:
        tp = sum(1 for e, a in pairs if e == s and a == s)
        said = sum(1 for _, a in pairs if a == s)
        true = sum(1 for e, _ in pairs if e == s)
        per[s] = {
            "expected": true,
            "given": said,
            "precision": tp / said if said else None,
            "recall": tp / true if true else None,
        }
    fails = ("MISMATCH", "UNSOURCED")
    should_fail = [(e, a) for e, a in pairs if e in fails]
    return {
        "paper": str(paper),
        "numbers": len(pairs),
        "agree": sum(1 for e, a in pairs if e == a),
        "per_status": per,
        "should_fail_but_pass": sum(1 for _, a in should_fail if a not in fails),
        "false_backed": sum(1 for e, a in pairs if a == "BACKED" and e != "BACKED"),
        "seconds": seconds,
        "repeated": big,
        "problems": problems,
    }


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    repeat = next((int(a.split("=", 1)[1]) for a in argv if a.startswith("--repeat=")), 0)
    paper = Path(
        args[0] if args else Path(__file__).parent.parent / "tests/data/trap_paper/main.tex"
    )
    out = score(paper, repeat)
    if "--json" in argv:
        print(json.dumps(out, indent=1))
        return 0
    print(f"{out['paper']}: {out['agree']}/{out['numbers']} as expected, {out['seconds']:.2f} s")
    for s, d in out["per_status"].items():
        p = "—" if d["precision"] is None else f"{d['precision']:.2f}"
        r = "—" if d["recall"] is None else f"{d['recall']:.2f}"
        print(
            f"  {s:<10} expected {d['expected']:>3}  given {d['given']:>3}  precision {p}  recall {r}"
        )
    print(
        f"  should fail CI but pass: {out['should_fail_but_pass']}; BACKED wrongly: {out['false_backed']}"
    )
    if out["repeated"]:
        b = out["repeated"]
        print(f"  body x{b['repeat']}: {b['findings']} findings in {b['seconds']:.2f} s")
    for p in out["problems"]:
        print("  " + p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
