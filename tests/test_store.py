"""The store: atomic writes, locks, and every read verified (hash, JSON shape, measurements).

Each way of damaging a store has its own case with the exact outcome: a `StoreError` naming the
file or folder (the CLI exits 2), or a result turned `invalid` with an error naming the file and
the field (claims over it are errors, never verdicts).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from faspec.plan import run_hash
from faspec.store import Store, StoreError, Timeout

CFG = {"seed": 1, "method": {"name": "bp"}, "train": {"epochs": 2}}
CFG2 = {"seed": 2, "method": {"name": "bp"}, "train": {"epochs": 2}}
RID, RID2 = run_hash(CFG), run_hash(CFG2)


def _result(acc=0.5):
    return {"status": "ok", "error": None, "final": {"test_acc": acc}, "log": [], "provenance": {}}


def _store(tmp_path, *runs):
    st = Store(tmp_path / "r")
    for cfg, res in runs or [(CFG, _result())]:
        st.put(run_hash(cfg), cfg, res)
    return st


def test_put_get_roundtrip(tmp_path):
    st = Store(tmp_path / "r")
    assert st.get(RID) is None and not st.has(RID)
    st.put(RID, CFG, _result(), b"\x00ckpt")
    assert st.has(RID)
    assert st.get(RID) == _result()
    assert json.loads((tmp_path / "r" / RID / "result.json").read_text())["run_id"] == RID
    assert st.config(RID) == CFG
    assert st.checkpoint(RID) == b"\x00ckpt"
    assert list(st.run_ids()) == [RID]


def test_folder_without_result_is_absent(tmp_path):
    """A run killed after writing its config is not a result: verify will train it again."""
    st = Store(tmp_path)
    (tmp_path / "abc").mkdir()
    (tmp_path / "abc" / "config.json").write_text("{}")
    assert st.get("abc") is None and not st.has("abc")
    assert list(st.run_ids()) == []


def test_no_partial_file_left_when_write_fails(tmp_path):
    st = Store(tmp_path)
    with pytest.raises(ValueError):
        st.put("abc", {}, {"final": {"x": float("nan")}})  # NaN is not JSON: refused
    assert not st.has("abc")
    assert [p.name for p in (tmp_path / "abc").iterdir()] == ["config.json"]


def test_corrupt_result_is_reported_with_position(tmp_path):
    st = _store(tmp_path)
    (tmp_path / "r" / RID / "result.json").write_text('{"status": ')
    with pytest.raises(StoreError, match=r"result.json:1:\d+: not valid JSON"):
        st.get(RID)


def test_hand_made_store_without_hash_check(tmp_path):
    st = Store(tmp_path, verify_hash=False)
    st.put("abc", {"seed": 1}, _result())
    assert st.get("abc") == _result()


def test_lock_excludes_a_second_process(tmp_path):
    st = Store(tmp_path)
    with st.lock("abc"):
        code = (
            "import sys; from faspec.store import Store, Timeout\n"
            f"l = Store({str(tmp_path)!r}).lock('abc')\n"
            "try:\n l.acquire(timeout=0.2)\nexcept Timeout:\n sys.exit(3)\n"
        )
        r = subprocess.run([sys.executable, "-c", code], env={**os.environ})
        assert r.returncode == 3
    with st.lock("abc", timeout=0.2):
        # a caller catches the Timeout faspec.store re-exports when the run is locked elsewhere
        with pytest.raises(Timeout):
            Store(tmp_path).lock("abc").acquire(timeout=0.1)


def test_result_file_is_stable_json(tmp_path):
    st = Store(tmp_path, verify_hash=False)
    st.put("abc", {"b": 1, "a": 2}, _result())
    text = (tmp_path / "abc" / "config.json").read_text()
    assert text.index('"a"') < text.index('"b"')
    assert json.loads(text) == {"a": 2, "b": 1}


# ------------------------------------------------------------------ damage that is a StoreError


def _write(path: Path, data: bytes | str) -> None:
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def _swap(root: Path) -> None:
    a, b, t = root / RID, root / RID2, root / "tmp"
    a.rename(t)
    b.rename(a)
    t.rename(b)


def _copy_result(root: Path) -> None:
    (root / RID / "result.json").write_bytes((root / RID2 / "result.json").read_bytes())


def _result_dir(root: Path) -> None:
    (root / RID / "result.json").unlink()
    (root / RID / "result.json").mkdir()


DAMAGE = [
    ("result null", lambda r: _write(r / RID / "result.json", "null"), "holds null, not a result"),
    ("result list", lambda r: _write(r / RID / "result.json", "[1]"), "holds a list, not a result"),
    ("result string", lambda r: _write(r / RID / "result.json", '"ok"'), "holds a string, not"),
    ("result number", lambda r: _write(r / RID / "result.json", "3"), "holds a number, not"),
    ("result binary", lambda r: _write(r / RID / "result.json", b"\x89PNG\xff\x00"), "not UTF-8"),
    (
        "result truncated",
        lambda r: _write(r / RID / "result.json", '{"final": {'),
        "not valid JSON",
    ),
    ("result empty", lambda r: _write(r / RID / "result.json", ""), "not valid JSON"),
    ("result a folder", _result_dir, "result.json: is a folder, not a file"),
    (
        "huge integer",
        lambda r: _write(r / RID / "result.json", '{"final": {"test_acc": ' + "9" * 5000 + "}}"),
        "not valid JSON for faspec",
    ),
    (
        "nested too deeply",
        lambda r: _write(r / RID / "result.json", "[" * 100_000 + "]" * 100_000),
        "nested too deeply",
    ),
    ("folders swapped", _swap, "folder's name is not the hash of its config.json"),
    ("result copied from another run", _copy_result, f"is the result of run {RID2}, not of {RID}"),
    (
        "config missing",
        lambda r: (r / RID / "config.json").unlink(),
        "has result.json but no config",
    ),
    (
        "config a list",
        lambda r: _write(r / RID / "config.json", "[]"),
        "holds a list, not a run config",
    ),
    (
        "config edited",
        lambda r: _write(r / RID / "config.json", json.dumps({**CFG, "seed": 7})),
        "folder's name is not the hash",
    ),
    (
        "config binary",
        lambda r: _write(r / RID / "config.json", b"\xff\xfe"),
        "config.json: not UTF-8",
    ),
]


@pytest.mark.parametrize("name,damage,message", DAMAGE, ids=[d[0] for d in DAMAGE])
def test_damaged_store_is_a_store_error_naming_the_file(tmp_path, name, damage, message):
    st = _store(tmp_path, (CFG, _result()), (CFG2, _result(0.6)))
    damage(tmp_path / "r")
    with pytest.raises(StoreError) as info:
        st.get(RID)
    assert message in str(info.value)
    assert str(tmp_path / "r" / RID) in str(info.value)  # names the folder or a file in it


def test_unreadable_result_is_a_store_error(tmp_path, monkeypatch):
    st = _store(tmp_path)
    real = Path.read_bytes

    def deny(self):  # root ignores chmod, so permission is refused here instead
        if self.name == "result.json":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", deny)
    with pytest.raises(StoreError, match=r"result.json: permission denied"):
        st.get(RID)


def test_store_root_that_is_a_file(tmp_path):
    (tmp_path / "r").write_text("not a folder")
    st = Store(tmp_path / "r")
    for call in (lambda: st.get(RID), lambda: list(st.run_ids()), lambda: st.has(RID)):
        with pytest.raises(StoreError, match=r"the store is a file, not a folder"):
            call()


def test_run_folder_that_is_a_file(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / RID).write_text("x")
    with pytest.raises(StoreError, match=rf"{RID}: is a file, not a run folder"):
        Store(tmp_path / "r").get(RID)


# ------------------------------------------------- impossible measurements: status `invalid`

INVALID = [
    ({"final": {"test_acc": 1.7}}, "final.test_acc: 1.7 is not in [0, 1]"),
    ({"final": {"test_acc": -0.1}}, "final.test_acc: -0.1 is not in [0, 1]"),
    ({"final": {"test_acc": float("inf")}}, "final.test_acc: Infinity is not a finite number"),
    ({"final": {"test_acc": float("nan")}}, "final.test_acc: NaN is not a finite number"),
    ({"final": {"test_acc": "0.5"}}, "final.test_acc: '0.5' is not a number"),
    ({"final": {"test_acc": True}}, "final.test_acc: True is not a number"),
    ({"final": {"g_norm": -1e-3}}, "final.g_norm: -0.001 is not >= 0"),
    ({"final": {"train_loss": -2.0}}, "final.train_loss: -2.0 is not >= 0"),
    ({"final": {"cos_layers": [0.1, float("inf")]}}, "final.cos_layers[1]: Infinity is not a"),
    ({"final": {"h_norm_layers": [1.0, -3.0]}}, "final.h_norm_layers[1]: -3.0 is not >= 0"),
    ({"final": [0.5]}, "final: must be a mapping of measurements, not list"),
    ({"log": {"epoch": 0}}, "log: must be a list, not dict"),
    ({"log": [{"epoch": -1, "test_acc": 0.1}]}, "log[0].epoch: -1 is not an epoch"),
    ({"log": [{"epoch": "3", "test_acc": 0.1}]}, "log[0].epoch: '3' is not an epoch"),
    ({"log": [{"epoch": 1, "test_acc": float("-inf")}]}, "log[0].test_acc: -Infinity is not a"),
    ({"status": "passed"}, "status: 'passed' is not one of ok, failed, diverged"),
    ({"error": 3}, "error: must be text or null, not int"),
    ({"protocol": {"fired": {"c": "false"}}}, "protocol.fired.c: 'false' is not a boolean"),
    ({"protocol": {"fired": {"a": 0}}}, "protocol.fired.a: 0 is not a boolean"),
    ({"protocol": {"first_epoch": {"c": 1.5}}}, "protocol.first_epoch.c: 1.5 is not an epoch"),
    ({"protocol": {"thresholds": {"growth": float("nan")}}}, "thresholds.growth: NaN is not a"),
    ({"protocol": []}, "protocol: must be a mapping, not list"),
    ({"protocol": {"reported": "c"}}, "protocol.reported: must be a list of diagnostic names"),
    ({"provenance": "cpu"}, "provenance: must be a mapping, not str"),
    ({"provenance": {"wall_s": "1.5"}}, "provenance.wall_s: '1.5' is not a number"),
    ({"provenance": {"device": ["cpu"]}}, "provenance.device: must be text, a number or null"),
]


@pytest.mark.parametrize("patch,message", INVALID, ids=[m for _, m in INVALID])
def test_impossible_measurement_makes_the_result_invalid(tmp_path, patch, message):
    st = _store(tmp_path)
    p = tmp_path / "r" / RID / "result.json"
    stored = json.loads(p.read_text())
    p.write_text(
        json.dumps({**stored, **patch})
    )  # json writes NaN/Infinity as a careless tool would
    res = st.get(RID)
    assert res["status"] == "invalid"
    assert res["error"].startswith(f"{p}: ") and message in res["error"]
    assert res["final"] == {} and res["log"] == [] and res["provenance"] == {}  # nothing to use


def test_valid_results_of_the_example_store_pass_unchanged():
    root = Path(__file__).resolve().parents[1] / "examples" / "paper" / "results"
    st = Store(root)
    ids = list(st.run_ids())
    assert ids
    for rid in ids:
        res = st.get(rid)
        assert res["status"] == "ok", res.get("error")


@pytest.mark.parametrize("name", ["loss_decrease", "loss_decrease_init", "nudge", "stability"])
def test_signed_measurements_may_be_negative(name):
    """A loss that went up, a nudge that hurt, anti-aligned batches: negative values that mean
    something, not damage (a smoke run's rising loss once made every claim on it `error`)."""
    from faspec.store_check import problems

    result = {
        "status": "ok",
        "final": {name: -0.2, "train_loss": 2.4},
        "log": [{"epoch": 1, name: -0.1}],
    }
    assert problems(result) == []
    bad = {"status": "ok", "final": {"train_loss": -0.2}, "log": []}
    assert any("train_loss" in p for p in problems(bad))
