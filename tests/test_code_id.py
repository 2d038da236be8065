"""Code identity (faspec.code_id) and the metric set in the run hash (measure.metrics).

The identity must ignore what does not change the code's meaning (comments, docstrings,
formatting), change with anything that does, be computable without torch, and be compared
with a stored run's (`changes`). Plug-in metrics enter the hash only when selected.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faspec import code_id, plugin, registry
from faspec.config import ConfigError, hash_view, normalize_config, pack_refusal, run_hash
from faspec.store_check import problems

ROOT = Path(__file__).resolve().parents[1]

SRC = textwrap.dedent(
    '''
    """A module."""
    import math


    def f(x):
        """Doc."""
        return math.sqrt(x) + 1
    '''
)


def _ident(tmp_path: Path, text: str, name: str = "m.py") -> str:
    p = tmp_path / name
    p.write_text(text)
    return code_id.file_identity(p)


def test_identity_ignores_comments_docstrings_and_formatting(tmp_path):
    base = _ident(tmp_path, SRC, "a.py")
    variants = [
        SRC.replace('"""Doc."""', '"""Another docstring, longer."""'),
        SRC.replace("return math", "# a comment\n    return math"),
        SRC.replace("math.sqrt(x) + 1", "math.sqrt( x )+1"),
        SRC.replace('"""A module."""\n', ""),
    ]
    for i, v in enumerate(variants):
        assert _ident(tmp_path, v, f"v{i}.py") == base, v


@pytest.mark.parametrize(
    "edit",
    [("+ 1", "+ 2"), ("math.sqrt(x)", "math.exp(x)"), ("return", "x = 0\n    return")],
)
def test_identity_changes_with_the_code(tmp_path, edit):
    assert _ident(tmp_path, SRC, "a.py") != _ident(tmp_path, SRC.replace(*edit), "b.py")


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40))
def test_identity_ignores_any_comment_text(tmp_path_factory, comment):
    tmp = tmp_path_factory.mktemp("c")
    commented = SRC.replace("import math", f"import math  # {comment}")
    assert _ident(tmp, commented, "c.py") == _ident(tmp, SRC, "s.py")


def test_identity_of_a_default_config_needs_no_torch():
    code = (
        "import sys; from faspec.config import normalize_config; from faspec import code_id;"
        "ids = code_id.code_identity(normalize_config({}));"
        "assert set(ids) == {'method bp', 'model resmlp', 'data teacher', 'trainer'}, ids;"
        "assert all(len(v) == code_id.CHARS for v in ids.values()), ids;"
        "assert 'torch' not in sys.modules; print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip() == "ok", out.stderr


def test_identity_is_the_same_when_faspec_is_found_only_by_a_meta_path_finder(tmp_path):
    """An editable install (`pip install -e .`, what the README's set-up does) puts a finder on
    sys.meta_path, not the checkout on sys.path: the identity must not change with that (it
    did: every component read 'unknown-source' in the driver, so every run trained by the
    console script read as stale right after it was stored)."""
    expected = code_id.code_identity(normalize_config({}))
    code = textwrap.dedent(
        f"""
        import importlib.abc, importlib.util, json, sys
        ROOT = {str(ROOT)!r}
        sys.path[:] = [p for p in sys.path if p not in ("", ".") and not p.startswith(ROOT)]
        sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]

        class Finder(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name != "faspec":
                    return None
                return importlib.util.spec_from_file_location(
                    name, ROOT + "/faspec/__init__.py",
                    submodule_search_locations=[ROOT + "/faspec"])

        sys.meta_path.append(Finder())
        import faspec.config
        from faspec import code_id
        assert faspec.__file__.startswith(ROOT), faspec.__file__
        print(json.dumps(code_id.code_identity(faspec.config.normalize_config({{}}))))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert "unknown-source" not in got.values(), got
    assert got == expected


def test_trainer_covers_the_loop_and_measure_but_not_method_modules():
    files = {Path(f).relative_to(ROOT / "faspec").as_posix() for f in code_id.trainer_files()}
    assert {"train/loop.py", "train/measure.py", "train/stack.py", "protocol.py"} <= files
    assert {"train/methods/base.py", "train/models/base.py"} <= files
    assert not {"train/methods/ep.py", "train/models/resmlp.py", "train/data.py"} & files


def test_changes_compares_a_stored_identity_with_the_installed_code():
    cfg = normalize_config({"method": "dfa"})
    now = code_id.code_identity(cfg)
    assert code_id.changes(cfg, {"provenance": {"code": now}}) == []
    old = {**now, "method dfa": "0" * code_id.CHARS, "trainer": "1" * code_id.CHARS}
    changed = code_id.changes(cfg, {"provenance": {"code": old}})
    assert changed == ["method dfa", "trainer"]
    assert code_id.describe(changed) == "stale: code of method dfa, trainer changed"
    assert code_id.changes(cfg, {"provenance": {"git": "abc"}}) is None  # an older store


def test_store_check_reads_the_code_identity():
    base = {"status": "ok", "final": {}, "log": [], "provenance": {"code": {"trainer": "ab"}}}
    assert problems(base) == []
    bad = {**base, "provenance": {"code": {"trainer": 3}}}
    assert problems(bad) == ["provenance.code: must be a mapping of component to text"]


# ------------------------------------------------------------------------- measure.metrics


@pytest.fixture
def a_metric():
    m = plugin.metric("agree_test", "math:sqrt", version=3, scale="log", close_ratio=1.5)
    plugin.add("metric", m)
    yield m
    registry.METRICS.pop("agree_test", None)


def test_no_plugin_metric_keeps_the_hash_a_run_had():
    cfg = normalize_config({})
    assert cfg["measure"]["metrics"] == {}
    legacy = {**cfg, "measure": {k: v for k, v in cfg["measure"].items() if k != "metrics"}}
    assert run_hash(cfg) == run_hash(legacy)
    assert "metrics" not in hash_view(cfg)["measure"]


def test_a_selected_metric_enters_the_hash_with_its_version(a_metric):
    plain = normalize_config({})
    cfg = normalize_config({"measure": {"metrics": ["agree_test"]}})
    assert cfg["measure"]["metrics"] == {"agree_test": 3}
    assert run_hash(cfg) != run_hash(plain)
    assert normalize_config(cfg) == cfg  # idempotent: the dict form reads back
    a_metric.version = 4  # the plug-in bumped its version: the stored config is refused
    with pytest.raises(ConfigError, match="version 4, the config asks for 3"):
        normalize_config(cfg)


def test_selected_metrics_refuse_packing(a_metric):
    cfg = normalize_config({"measure": {"metrics": ["agree_test"]}})
    assert "unpacked runs only" in pack_refusal(cfg)


@pytest.mark.parametrize(
    ("metrics", "path", "hint"),
    [
        (["nope"], "measure.metrics[0]", "no plug-in metric is installed"),
        (["deep_cos"], "measure.metrics[0]", "always computed"),
        ("deep_cos", "measure.metrics", "list of metric names"),
        ([3], "measure.metrics[0]", "metric name"),
    ],
)
def test_bad_metric_selections_are_located(metrics, path, hint):
    with pytest.raises(ConfigError) as e:
        normalize_config({"measure": {"metrics": metrics}})
    assert e.value.path == path
    assert hint in str(e.value)


def test_a_plugin_metric_gives_claims_its_scale(a_metric):
    from faspec.spec.model import Stats

    ms = Stats().metric("agree_test")
    assert (ms.scale, ms.close_ratio) == ("log", 1.5)
    assert "agree_test" in registry.metric_names()


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"form": "layers"}, "form must be"),
        ({"form": "layer"}, "ends in '_layers'"),
        ({"scale": "log2"}, "scale must be"),
        ({"better": "up"}, "better must be"),
        ({"version": 0}, "version must be"),
    ],
)
def test_metric_declarations_are_checked(kw, msg):
    with pytest.raises(ValueError, match=msg):
        plugin.metric("m", "math:sqrt", **{"version": 1, **kw})


def test_a_claim_on_a_plugin_metric_its_experiment_does_not_compute_is_located(a_metric, tmp_path):
    from helpers import write_spec

    from faspec.spec.load import SpecError, load

    claims = [{"id": "c", "in": "main", "expect": "bp.agree_test > 0.5"}]
    path = write_spec(tmp_path, claims=claims)
    with pytest.raises(SpecError) as e:
        load(path)
    assert "'agree_test' is a plug-in metric that experiment 'main' does not compute" in str(
        e.value
    )
    assert "measure: {metrics: [agree_test]}" in str(e.value)
    assert e.value.where.line > 1  # points at the claim
    selected = write_spec(tmp_path, "u", claims=claims, measure={"metrics": ["agree_test"]})
    spec = load(selected)
    assert spec.claims[0].id == "c"
