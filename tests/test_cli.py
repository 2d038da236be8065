"""The CLI as a user meets it: exit codes, located errors without tracebacks, caching, --no-run.

These use `--executor local` (in-process training) so that they need no Ray; the Ray path is in
test_ray.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from helpers import run_cli, spec_text

CLAIMS = [
    {"id": "bp-not-below-chance", "in": "main", "expect": "bp.test_acc > 0.1", "seeds": "all"},
    {"id": "frozen-acc-defined", "in": "main", "expect": "frozen.test_acc >= 0", "seeds": "all"},
]


def tiny(
    seeds: tuple | list = (1, 2),
    *,
    name: str = "tiny",
    epochs: int = 2,
    main: dict | None = None,
    claims: list = CLAIMS,
) -> str:
    """The tiny embedded task: bp and frozen in `main`, claims that hold after two epochs."""
    return spec_text(
        name,
        title="tiny embedded task",
        data={"n_train": 1024, "n_test": 512},
        train={"epochs": epochs},
        seeds=list(seeds),
        experiments={"main": main or {"methods": ["bp", "frozen"]}},
        claims=claims,
    )


def first_claim(**change: str) -> list:
    """CLAIMS with the first claim's fields changed (to break it)."""
    return [{**CLAIMS[0], **change}, CLAIMS[1]]


def write_spec(
    tmp: Path, seeds: tuple | list = (1, 2), text: str | None = None, name: str = "tiny.yaml"
) -> Path:
    p = tmp / name
    p.write_text(text if text is not None else tiny(seeds))
    return p


def verify(tmp: Path, *extra: str, spec: str = "tiny.yaml"):
    return run_cli(
        ["verify", spec, "--executor", "local", "--store", "store", "--reports", "rep", *extra], tmp
    )


def test_verify_trains_caches_and_adds_only_new_seeds(tmp_path):
    write_spec(tmp_path)
    r = verify(tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "4 runs needed: 0 cached, 4 to train" in r.stderr
    assert "PASS" in r.stdout and "Traceback" not in r.stderr
    report = json.loads((tmp_path / "rep" / "tiny.json").read_text())
    assert report["ok"] and report["trained"] == 4
    assert (tmp_path / "rep" / "tiny.md").read_text().count("PASS") >= 2

    t0 = time.perf_counter()
    r = verify(tmp_path)
    wall = time.perf_counter() - t0
    assert r.returncode == 0
    assert "4 runs needed: 4 cached, 0 to train" in r.stderr
    assert json.loads((tmp_path / "rep" / "tiny.json").read_text())["trained"] == 0
    assert wall < 15, f"a cache-hit verify took {wall:.1f}s"

    write_spec(tmp_path, seeds=[1, 2, 3])
    r = verify(tmp_path)
    assert r.returncode == 0
    assert "6 runs needed: 4 cached, 2 to train" in r.stderr


def test_no_run_on_empty_store_is_unsourced(tmp_path):
    write_spec(tmp_path)
    r = verify(tmp_path, "--no-run")
    assert r.returncode == 1
    report = json.loads((tmp_path / "rep" / "tiny.json").read_text())
    assert [c["verdict"] for c in report["claims"]] == ["unsourced", "unsourced"]
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").iterdir())


def test_plan_lists_missing_then_cached(tmp_path):
    write_spec(tmp_path)
    r = run_cli(["plan", "tiny.yaml", "--store", "store"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "4 unique runs (4 before deduplication): 0 cached, 4 missing" in r.stdout
    assert "not in store" in r.stdout
    verify(tmp_path)
    r = run_cli(["plan", "tiny.yaml", "--store", "store", "--json"], tmp_path)
    data = json.loads(r.stdout)
    assert {x["state"] for x in data["runs"]} == {"cached"}


def test_plan_says_why_a_run_is_not_cached(tmp_path):
    write_spec(tmp_path)
    verify(tmp_path)
    write_spec(tmp_path, text=tiny(epochs=3))
    r = run_cli(["plan", "tiny.yaml", "--store", "store"], tmp_path)
    assert "differs from a stored run in" in r.stdout and "train.epochs" in r.stdout


def test_duplicate_runs_across_specs_are_planned_once(tmp_path):
    write_spec(tmp_path)
    write_spec(
        tmp_path,
        text=tiny(name="tiny2"),
        name="b.yaml",
    )
    r = run_cli(["plan", "tiny.yaml", "b.yaml", "--store", "store"], tmp_path)
    assert "4 unique runs (8 before deduplication)" in r.stdout


def _line_of(text: str, needle: str) -> int:
    """1-based line of the first occurrence of `needle` (where the error must point)."""
    return text[: text.index(needle)].count("\n") + 1


BAD = [
    # malformed YAML is written as text on purpose: no dumper writes it
    ("malformed", "faspec: 1\nname: x\nexperiments: {a: [1, 2\n", "{a: [1, 2", r"EOF|end|expected"),
    (
        "unknown method",
        tiny([1], main={"methods": ["bp", "dfaa"]}),
        "dfaa",
        r"dfaa.*did you mean 'dfa'",
    ),
    (
        "unknown metric",
        tiny([1], claims=first_claim(expect="bp.test_accc > 0.1")),
        "bp.test_accc",
        r"test_accc.*test_acc",
    ),
    ("missing experiment", tiny([1], claims=first_claim(**{"in": "mian"})), "mian", r"mian.*main"),
    (
        "missing method",
        tiny([1], claims=first_claim(expect="fa.test_acc > 0.1")),
        "fa.test_acc",
        r"'fa'",
    ),
    ("bad syntax", tiny([1], claims=first_claim(expect="bp.test_acc >> > 0.1")), ">> >", r"."),
    (
        "empty sweep",
        tiny([1], main={"methods": ["bp", "frozen"], "sweep": {"model.d": []}}),
        "sweep:",
        r"empty|at least|non-empty",
    ),
    ("seeds not integers", tiny([1, "two"]), "two", r"integer"),
]


@pytest.mark.parametrize("name,text,needle,pattern", BAD, ids=[b[0] for b in BAD])
def test_bad_input_exits_2_with_location_and_no_traceback(tmp_path, name, text, needle, pattern):
    import re

    write_spec(tmp_path, text=text, name="bad.yaml")
    r = verify(tmp_path, spec="bad.yaml")
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    m = re.search(r"bad\.yaml:(\d+):(\d+): (.*)", r.stderr)
    assert m, r.stderr
    line = _line_of(text, needle)
    assert int(m.group(1)) in (line, line + 1), r.stderr  # malformed YAML may point past the line
    assert re.search(pattern, m.group(3) + r.stderr[m.end() :]), r.stderr


def test_bad_claim_syntax_points_at_the_column(tmp_path):
    text = tiny([1], claims=first_claim(expect="bp.test_acc >> > 0.1"))
    write_spec(tmp_path, text=text, name="bad.yaml")
    r = verify(tmp_path, spec="bad.yaml")
    line_start = text.rfind("\n", 0, text.index(">> >")) + 1
    col = text.index(">> >") - line_start + 1 + 3  # the second '>' is the unexpected token
    assert f"bad.yaml:{_line_of(text, '>> >')}:{col}:" in r.stderr, r.stderr


def test_missing_spec_file_exits_2(tmp_path):
    r = verify(tmp_path, spec="nope.yaml")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "nope.yaml" in r.stderr


def test_schema_and_methods_commands(tmp_path):
    r = run_cli(["schema"], tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["properties"]["faspec"]
    r = run_cli(["methods"], tmp_path)
    assert r.returncode == 0
    for name in ("bp", "fa", "dfa", "frozen", "resmlp", "teacher", "cifar10", "test_acc", "g_norm"):
        assert name in r.stdout
