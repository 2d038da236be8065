"""examples/paper: the CI guard passes as committed, and fails when one number of the paper changes.

Runs the guard exactly as its workflow does (`faspec verify specs/ --no-run && faspec audit
main.tex`), as subprocesses, in a copy of the example.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys

import yaml
from helpers import ROOT

EXAMPLE = ROOT / "examples" / "paper"
WORKFLOW = EXAMPLE / ".github" / "workflows" / "paper.yml"
GUARD = "faspec verify specs/ --no-run && faspec audit main.tex"
REGEN = "is the example's store stale? run examples/paper/regenerate.sh"


def _start_guard(cwd):
    """The workflow's guard step, with `faspec` run from this checkout's interpreter."""
    faspec = f"{shlex.quote(sys.executable)} -m faspec.cli"
    cmd = GUARD.replace("faspec ", faspec + " ")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        ["sh", "-c", cmd],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_guard_passes_and_fails_when_one_number_is_edited(tmp_path):
    clean, edited = tmp_path / "clean", tmp_path / "edited"
    for d in (clean, edited):
        shutil.copytree(EXAMPLE, d, ignore=shutil.ignore_patterns("reports"))
    tex = (edited / "main.tex").read_text()
    assert tex.count("0.345") == 1
    line = tex[: tex.index("0.345")].count("\n") + 1
    col = tex.index("0.345") - tex.rfind("\n", 0, tex.index("0.345"))
    (edited / "main.tex").write_text(tex.replace("0.345", "0.354"))

    runs = [_start_guard(clean), _start_guard(edited)]  # concurrently: each imports torch
    (out0, err0), (out1, err1) = (p.communicate(timeout=120) for p in runs)

    assert runs[0].returncode == 0, f"{REGEN}\n{out0}\n{err0}"
    assert "UNSOURCED" not in out0 and "MISMATCH" not in out0
    assert out0.splitlines()[-1].startswith("audit of main.tex:") and "backed" in out0

    assert runs[1].returncode == 1, f"{out1}\n{err1}"
    assert "3 pass" in out1  # verify passed: the audit is what fails
    bad = [ln for ln in out1.splitlines() if "UNSOURCED" in ln or "MISMATCH" in ln]
    assert len(bad) == 1, out1
    assert bad[0].startswith(f"main.tex:{line}:{col} ") and "UNSOURCED" in bad[0]
    assert "0.354" in bad[0] and "nearest claimed value: bp-beats-fa fa mean 0.345" in bad[0]
    assert out1.rstrip().endswith("— FAILED")


def test_the_workflow_and_the_hooks_run_exactly_the_guard():
    wf = yaml.safe_load(WORKFLOW.read_text())
    runs = [s.get("run", "") for s in wf["jobs"]["faspec"]["steps"]]
    assert GUARD in runs
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    audit = next(h for h in hooks if h["id"] == "faspec-audit")
    assert audit["entry"] == "faspec audit" and audit["pass_filenames"] is False
    store = EXAMPLE / "results"
    assert not list(store.rglob("checkpoint.pt"))
    assert sum(f.stat().st_size for f in store.rglob("*") if f.is_file()) < 400_000
