import json
import os
import subprocess
import sys

import pytest

from faspec.store import Store, StoreError, Timeout


def _result(acc=0.5):
    return {"status": "ok", "error": None, "final": {"test_acc": acc}, "log": [], "provenance": {}}


def test_put_get_roundtrip(tmp_path):
    st = Store(tmp_path / "r")
    assert st.get("abc") is None and not st.has("abc")
    st.put("abc", {"seed": 1}, _result(), b"\x00ckpt")
    assert st.has("abc")
    assert st.get("abc") == _result()
    assert st.config("abc") == {"seed": 1}
    assert st.checkpoint("abc") == b"\x00ckpt"
    assert list(st.run_ids()) == ["abc"]


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
    st = Store(tmp_path)
    (tmp_path / "abc").mkdir()
    (tmp_path / "abc" / "result.json").write_text('{"status": ')
    with pytest.raises(StoreError, match=r"result.json:1:\d+: not valid JSON"):
        st.get("abc")


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
    st = Store(tmp_path)
    st.put("abc", {"b": 1, "a": 2}, _result())
    text = (tmp_path / "abc" / "config.json").read_text()
    assert text.index('"a"') < text.index('"b"')
    assert json.loads(text) == {"a": 2, "b": 1}
