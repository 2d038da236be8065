"""The example plug-in package (examples/plugin: a method, a dataset, a metric) as a user gets it.

Its dist-info is written into a temporary site folder (what `pip install` leaves), so faspec
finds it through its entry points exactly as an installed package; the CLI then verifies a
spec that uses all three under the local executor and on a private Ray (whose workers find the
package through PYTHONPATH). The same package shows results following the code: an edit to
the method's source makes its stored runs stale, a comment does not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from helpers import FASPEC, ROOT

EXAMPLE = ROOT / "examples" / "plugin"

SPEC = """\
faspec: 1
name: moons
defaults:
  data: {name: two_moons, n_train: 512, n_test: 256}
  model: {arch: resmlp, d: 16, blocks: 2}
  train: {epochs: 3, batch_size: 64, lr: 0.01}
  measure: {eval_batch: 256, metrics: [sign_agree]}
experiments:
  main:
    methods: [bp, signsym]
    seeds: [1, 2, 3]
claims:
  - id: agree
    in: main
    expect: signsym.sign_agree > 0.8
  - id: learns
    in: main
    expect: signsym.test_acc > 0.7
  - id: bp-calm
    in: main
    expect: bp never fires a
"""


def install(site: Path, package: Path = EXAMPLE, entry_points: dict | None = None) -> None:
    """What `pip install --no-deps` leaves: the package and a dist-info with its entry points
    (read from its pyproject.toml, so the test follows the example)."""
    meta = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    eps = entry_points or meta["entry-points"]
    for pkg in (package).iterdir():
        if pkg.is_dir() and (pkg / "__init__.py").exists():
            shutil.copytree(pkg, site / pkg.name, ignore=shutil.ignore_patterns("__pycache__"))
    dist = site / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n"
    )
    (dist / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps[group].items()) + "\n"
            for group in eps
        )
    )


def cli(args: list[str], cwd: Path, site: Path, prefix: list[str] | None = None, env=None):
    e = {**(env or os.environ), "PYTHONPATH": f"{ROOT}{os.pathsep}{site}"}
    return subprocess.run(
        (prefix or []) + FASPEC + args, cwd=cwd, capture_output=True, text=True, timeout=900, env=e
    )


@pytest.fixture
def site(tmp_path):
    s = tmp_path / "site"
    s.mkdir()
    install(s)
    (tmp_path / "moons.yaml").write_text(SPEC)
    return s


def verdicts(tmp: Path, reports: str = "rep") -> dict[str, dict]:
    rep = json.loads((tmp / reports / "moons.json").read_text())
    return {c["claim_id"]: c for c in rep["claims"]}


def test_example_plugin_verifies_locally_and_its_runs_follow_its_code(site, tmp_path):
    r = cli(
        ["verify", "moons.yaml", "--executor", "local", "--store", "st", "--reports", "rep"],
        tmp_path,
        site,
    )
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert "PASS         agree" in r.stdout and "PASS         bp-calm" in r.stdout
    results = [json.loads(p.read_text()) for p in (tmp_path / "st").glob("*/result.json")]
    assert len(results) == 6
    for res in results:
        assert 0 <= res["final"]["sign_agree"] <= 1  # bp's too: a metric of any method
        assert {"method signsym", "method bp"} & set(res["provenance"]["code"])
        assert "metric sign_agree" in res["provenance"]["code"]
    v = verdicts(tmp_path)
    assert v["agree"].get("code") in (None, {})
    # each claim names its own metric; a per-seed claim shows no test it did not run
    assert v["agree"]["numbers"]["metric"] == "sign_agree"
    assert v["learns"]["numbers"]["metric"] == "test_acc"
    assert v["bp-calm"]["numbers"]["metric"].startswith("protocol (a")
    assert not {"alpha", "test", "p_claim"} & set(v["bp-calm"]["numbers"])
    page = (tmp_path / "rep" / "moons.html").read_text()
    assert 'alt="per-epoch protocol diagnostics of bp-calm"' in page

    method = site / "faspec_signsym" / "method.py"
    src = method.read_text()
    method.write_text(src + "\n# a comment changes nothing the code does\n")
    r = cli(["plan", "moons.yaml", "--store", "st"], tmp_path, site)
    assert r.returncode == 0 and "stale" not in r.stdout, r.stdout

    method.write_text(src.replace("c = self.scale *", "c = 0.5 * self.scale *"))
    r = cli(["plan", "moons.yaml", "--store", "st"], tmp_path, site)
    assert r.returncode == 0, r.stderr
    stale = [ln for ln in r.stdout.splitlines() if "  stale  " in ln]
    assert len(stale) == 3 and all("stale: code of method signsym changed" in ln for ln in stale)
    assert "3 cached, 0 missing, 0 failed, 3 stale" in r.stdout

    r = cli(
        ["verify", "moons.yaml", "--no-run", "--store", "st", "--reports", "rep"], tmp_path, site
    )
    assert r.returncode == 1 and "3 stored runs are stale: code of method signsym" in r.stderr
    assert verdicts(tmp_path)["agree"]["verdict"] == "unsourced"

    r = cli(
        ["verify", "moons.yaml", "--no-run", "--keep-stale", "--store", "st", "--reports", "rep"]
        + ["--junit", "rep/junit.xml"],
        tmp_path,
        site,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS         agree" in r.stdout and "[STALE: code changed since these runs]" in r.stdout
    assert "code: decided on 3 stale runs" in (tmp_path / "rep" / "junit.xml").read_text()
    v = verdicts(tmp_path)["agree"]
    assert v["verdict"] == "pass" and len(v["code"]["stale"]) == 3
    md = (tmp_path / "rep" / "moons.md").read_text()
    assert "stale: code of method signsym changed" in md
    assert "stale" in (tmp_path / "rep" / "moons.html").read_text()

    r = cli(
        ["verify", "moons.yaml", "--executor", "local", "--store", "st", "--reports", "rep"],
        tmp_path,
        site,
    )
    assert r.returncode == 0 and "3 cached, 3 to train" in r.stderr, r.stderr[-2000:]
    assert verdicts(tmp_path)["agree"].get("code") in (None, {})


def test_example_plugin_verifies_on_ray(site, tmp_path, netns):
    r = cli(
        ["verify", "moons.yaml", "--store", "st", "--reports", "rep"],
        tmp_path,
        site,
        prefix=netns.prefix,
        env=netns.env(tmp_path),
    )
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    results = [json.loads(p.read_text()) for p in (tmp_path / "st").glob("*/result.json")]
    assert len(results) == 6
    assert all(res["provenance"].get("ray_node") for res in results)  # trained by Ray workers
    assert all(res["final"]["sign_agree"] is not None for res in results)


def test_a_plugin_that_fails_to_import_is_an_input_error(tmp_path):
    site = tmp_path / "site"
    broken = tmp_path / "pkg"
    (broken / "faspec_broken").mkdir(parents=True)
    (broken / "faspec_broken" / "__init__.py").write_text("import not_a_module_anywhere\n")
    (broken / "pyproject.toml").write_text(
        '[project]\nname = "faspec-broken"\nversion = "1.0"\n'
        '[project.entry-points."faspec.methods"]\nsignsym = "faspec_broken:X"\n'
    )
    site.mkdir()
    install(site, broken)
    (tmp_path / "moons.yaml").write_text(SPEC.replace("two_moons", "teacher"))
    for cmd in (["plan", "moons.yaml"], ["verify", "moons.yaml", "--no-run"]):
        r = cli(cmd, tmp_path, site)
        assert r.returncode == 2, r.stdout + r.stderr
        assert "package 'faspec-broken'" in r.stderr
        assert "ModuleNotFoundError: No module named 'not_a_module_anywhere'" in r.stderr
        assert "Traceback" not in r.stderr
    code = (
        "from faspec.config import ConfigError, normalize_config\n"
        "try:\n    normalize_config({'method': 'signsym'})\n"
        "except ConfigError as e:\n    print(e.hint)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{site}"},
    )
    assert "plug-in 'signsym'" in out.stdout and "faspec-broken" in out.stdout, out
    assert "did you mean" not in out.stdout


def test_a_component_registered_by_hand_is_missing_in_a_fresh_worker_with_a_clear_error():
    from faspec import plugin, registry
    from faspec.config import normalize_config
    from faspec.train import run

    plugin.add("method", plugin.method("by_hand", "faspec.train.methods.dfa:DFA", version=1))
    try:
        cfg = normalize_config({"method": "by_hand", "train": {"epochs": 0}})
    finally:
        registry.METHODS.pop("by_hand")
    with pytest.raises(LookupError, match="not registered in this process.*docs/plugins.md"):
        run(cfg, device="cpu", normalized=True)


def test_an_entry_point_of_the_wrong_kind_is_an_input_error(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    # a method declared in the metrics group: refused, naming what it is and what to use
    install(site, entry_points={"faspec.metrics": {"oops": "faspec_signsym.components:SIGNSYM"}})
    (tmp_path / "moons.yaml").write_text(SPEC)
    r = cli(["plan", "moons.yaml"], tmp_path, site)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "plug-in 'oops' (faspec.metrics" in r.stderr and "package 'faspec-signsym'" in r.stderr
    assert "is Component, not a faspec Metric (declare it with faspec.plugin.metric)" in r.stderr
