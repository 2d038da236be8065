"""The smoke profile of every paper spec runs end to end on a CPU, and every claim reaches a verdict.

    OMP_NUM_THREADS=1 faspec verify specs/<paper specs> --profile smoke --executor local \
        --store /tmp/x --reports reports/smoke

is what wrote reports/smoke/ (committed). At smoke scale (CIFAR-shaped synthetic images, d=16,
2 epochs) the claims are not expected to hold: what must hold is that none of them is `error`,
and that every report says, loudly, that it ran under the smoke profile. One torch thread: for
these tiny models two threads are slower, and much slower on a busy machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
COMMITTED = ROOT / "reports" / "smoke"


def smoke_specs() -> list[Path]:
    """Every spec of specs/ with a `smoke` profile (the paper's specs; see specs/README.md)."""
    out = []
    for path in sorted(SPECS.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "smoke" in (data.get("profiles") or {}):
            out.append(path)
    return out


def check_reports(folder: Path, specs: list[Path]) -> None:
    for path in specs:
        name = yaml.safe_load(path.read_text(encoding="utf-8"))["name"]
        report = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        assert report["profile"] == "smoke", f"{name}.json does not say it ran under smoke"
        errors = [c["claim_id"] for c in report["claims"] if c["verdict"] in ("error", "unsourced")]
        assert not errors, f"{name}: claims without a verdict under smoke: {errors}"
        md = (folder / f"{name}.md").read_text(encoding="utf-8")
        assert "PROFILE `smoke`" in md.split("\n\n")[1], f"{name}.md: no PROFILE banner on top"
        html = (folder / f"{name}.html").read_text(encoding="utf-8")
        assert "PROFILE" in html and "smoke" in html


def test_committed_smoke_reports_are_complete():
    specs = smoke_specs()
    assert len(specs) >= 8
    if not COMMITTED.is_dir():
        pytest.fail("reports/smoke/ is missing: run the command in this module's docstring")
    check_reports(COMMITTED, specs)


@pytest.mark.slow
def test_smoke_profile_of_every_paper_spec(tmp_path):
    specs = smoke_specs()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "faspec.cli",
        "verify",
        *map(str, specs),
        "--profile",
        "smoke",
        "--executor",
        "local",
        "--store",
        str(tmp_path / "store"),
        "--reports",
        str(tmp_path / "reports"),
        "--quiet",
    ]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - t0
    # 1: claims fail at smoke scale, as expected; 2 would be an invalid spec
    assert out.returncode in (0, 1), out.stderr[-3000:]
    assert "PROFILE SMOKE" in out.stdout
    assert out.stdout.count("[PROFILE SMOKE") == len(specs)
    check_reports(tmp_path / "reports", specs)
    print(f"smoke run of {len(specs)} specs: {wall:.0f} s")
