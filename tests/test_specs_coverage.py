"""specs/ is the paper, checkable: every claim of the paper, C01-C43, is covered by a spec claim.

The claim ids come from the table of section 4 of docs/paper.md (the repository's own list of the
paper's claims, with their numbers), which must list all of C01-C43; its "spec" column names the
files whose claims cover each id.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
PAPER = ROOT / "docs" / "paper.md"

# Specs that are not the paper's claims: the embedded CPU demo and the methods x architectures
# smoke test (already CPU-sized; they carry no `smoke` profile).
NOT_PAPER = {"quickstart.yaml", "methods_smoke.yaml"}
CLAIM_ID = re.compile(r"^C\d\d$")


def claim_table(text: str) -> dict[str, list[str]]:
    """The rows of the claims table (section 4 of docs/paper.md): id -> the specs named for it."""
    m = re.search(r"^## 4\..*?$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, "docs/paper.md has no section '## 4.' (the claims)"
    rows = re.findall(r"^\|\s*(C\d+)\s*\|.*\|\s*([^|]*?)\s*\|\s*$", m.group(1), re.M)
    return {cid: [s.strip() for s in specs.split(",") if s.strip()] for cid, specs in rows}


TABLE = claim_table(PAPER.read_text(encoding="utf-8"))
PAPER_IDS = list(TABLE)


def paper_specs() -> list[Path]:
    return sorted(p for p in SPECS.glob("*.yaml") if p.name not in NOT_PAPER)


def raw(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def loaded():
    from faspec.spec.load import load_many

    return load_many([SPECS])


@pytest.fixture(scope="module")
def covered(loaded) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for spec in loaded:
        for claim in spec.claims:
            for cid in claim.covers:
                out.setdefault(cid, []).append(f"{spec.name}:{claim.id}")
    return out


# The paper's claims: every one of them, none left out of the table (and so of specs/).
ALL_IDS = [f"C{i:02d}" for i in range(1, 44)]


def test_claim_table_lists_every_claim_of_the_paper():
    """The table lists each of C01-C43 once, in order, and names specs that exist."""
    missing = sorted(set(ALL_IDS) - set(PAPER_IDS))
    assert not missing, f"docs/paper.md section 4 leaves out {missing}"
    assert PAPER_IDS == ALL_IDS, f"the table has ids out of order, repeated or extra: {PAPER_IDS}"
    for cid, specs in TABLE.items():
        assert specs, f"docs/paper.md: {cid} names no spec"
        for name in specs:
            assert (SPECS / f"{name}.yaml").is_file(), f"docs/paper.md: {cid} names {name}"


def test_every_paper_claim_is_covered(covered):
    missing = [cid for cid in PAPER_IDS if cid not in covered]
    assert not missing, f"claims of docs/paper.md that no spec claim covers: {missing}"


def test_specs_named_in_the_table_cover_the_claim(covered):
    wrong = [
        f"{cid}: {name}"
        for cid, specs in TABLE.items()
        for name in specs
        if not any(user.split(":")[0] == name for user in covered.get(cid, []))
    ]
    assert not wrong, f"docs/paper.md names specs that do not cover the claim: {wrong}"


def test_covers_name_real_claims(loaded):
    bad = [
        f"{s.name}:{c.id} covers {cid!r}"
        for s in loaded
        for c in s.claims
        for cid in c.covers
        if not CLAIM_ID.match(cid) or cid not in PAPER_IDS
    ]
    assert not bad, bad


def test_paper_claims_say_where(loaded):
    names = {p.stem for p in paper_specs()}
    bad = [
        f"{s.name}:{c.id}" for s in loaded if s.name in names for c in s.claims if not c.where_paper
    ]
    assert not bad, f"claims without `where:` (the paper's table, section or figure): {bad}"


def test_paper_specs_have_a_header_and_a_smoke_profile():
    for path in paper_specs():
        text = path.read_text(encoding="utf-8")
        comments = [line for line in text.splitlines()[:12] if line.startswith("# ")]
        assert len(comments) >= 3, (
            f"{path.name}: a header comment says what part of the paper it encodes"
        )
        assert "smoke" in (raw(path).get("profiles") or {}), (
            f"{path.name}: no `profiles: {{smoke: ...}}`"
        )


def test_smoke_profiles_load_and_use_synthetic_data():
    from faspec.spec.load import load

    for path in paper_specs():
        spec = load(path, profile="smoke")
        assert spec.profile == "smoke"
        for exp in spec.experiments.values():
            for point in exp.points:
                data = point.config["data"]["name"]
                assert data not in ("cifar10", "cifar100"), (
                    f"{path.name}/{exp.name}: {data} under smoke"
                )
                assert point.config["train"].get("epochs", 0) <= 2, f"{path.name}/{exp.name}"


def test_plan_shares_runs_across_specs(loaded):
    """The main audit's runs are one set of runs, however many specs use them."""
    from faspec.plan import build

    plan = build(loaded)
    assert len(plan.runs) < plan.cells_total
    users: dict[str, set[str]] = {}
    for cell, rid in plan.cells.items():
        users.setdefault(rid, set()).add(cell.spec)
    dfa_audit = {
        rid
        for cell, rid in plan.cells.items()
        if cell.spec == "audit" and cell.experiment == "audit" and cell.label == "dfa"
    }
    assert len(dfa_audit) == 3
    for rid in dfa_audit:
        assert {"audit", "fa_vs_dfa", "temporal", "architectures"} <= users[rid]


def test_readme_table_lists_every_claim_and_spec():
    text = (SPECS / "README.md").read_text(encoding="utf-8")
    rows = {m.group(1) for m in re.finditer(r"^\|\s*(C\d\d)\s*\|", text, re.M)}
    assert set(PAPER_IDS) <= rows, sorted(set(PAPER_IDS) - rows)
    for path in paper_specs():
        assert path.name in text, f"specs/README.md does not mention {path.name}"


def test_faspec_plan_specs_validates_and_counts():
    """`faspec plan specs/` exits 0, prints the runs after and before deduplication and a GPU
    estimate; loading and planning (torch's import aside) take well under its 5 s budget."""
    import subprocess
    import sys
    import time

    from faspec.plan import build
    from faspec.spec.load import load_many

    t0 = time.perf_counter()
    build(load_many([SPECS]))
    assert time.perf_counter() - t0 < 5.0
    out = subprocess.run(
        [sys.executable, "-m", "faspec.cli", "plan", str(SPECS), "--store", str(ROOT / "no-store")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-2:]
    assert re.match(r"^\d+ unique runs \(\d+ before deduplication\)", last[0]), last
    assert last[1].startswith("estimated GPU time: "), last
