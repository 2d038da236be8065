"""What `verify` refuses or keeps out of the store before and around a cluster, without one:
environment faults never stored (OOM, a missing module, missing data), `--device cuda` without
GPUs, `--runtime-env` and the spec's `runtime_env:` validated with located messages, and an
unreachable cluster answered quickly with exit 2 naming the address.
"""

from __future__ import annotations

import json
import socket
import time

import pytest
import yaml
from helpers import run_cli, spec_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faspec.execute.local import LocalExecutor
from faspec.spec.load import load
from faspec.store import Store
from faspec.verify import train_missing

CLAIM = [{"id": "bp-above-chance", "in": "main", "expect": "bp.test_acc > 0.05", "seeds": "all"}]


def _plan(tmp_path, **kw):
    from faspec.plan import build

    p = tmp_path / "s.yaml"
    p.write_text(
        spec_text("s", seeds=[1], experiments={"main": {"methods": ["bp"]}}, claims=CLAIM, **kw)
    )
    return build([load(p)])


def _raiser(exc: BaseException):
    def run(*a, **k):
        raise exc

    return run


def _oom() -> BaseException:
    import torch

    return torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def _missing_module() -> BaseException:
    return ModuleNotFoundError("No module named 'my_plugin'", name="my_plugin")


def _missing_data() -> BaseException:
    from faspec.train.data import DataNotFoundError

    try:
        raise DataNotFoundError("cifar10: no dataset in /nowhere")
    except DataNotFoundError as e:  # wrapped, as a method's own error handling might do
        try:
            raise RuntimeError("loading the data failed") from e
        except RuntimeError as outer:
            return outer


@pytest.mark.parametrize("make", [_oom, _missing_module, _missing_data])
def test_environment_faults_are_reported_never_stored_and_trained_next_time(
    make, tmp_path, monkeypatch, one_thread
):
    import faspec.train

    plan = _plan(tmp_path)
    store = Store(tmp_path / "store")
    with monkeypatch.context() as m:
        m.setattr(faspec.train, "run", _raiser(make()))
        summary = train_missing(plan, store, lambda: LocalExecutor("cpu"))
    (rid,) = plan.runs
    assert store.get(rid) is None and not summary.trained
    assert [r for r, _ in summary.faults] == [rid]
    assert type(make()).__name__ in summary.faults[0][1]
    again = train_missing(plan, store, lambda: LocalExecutor("cpu"))  # the environment is fixed
    assert again.trained == [rid] and store.get(rid)["status"] == "ok"


def test_an_exception_of_training_itself_is_stored_as_failed(tmp_path, monkeypatch):
    import faspec.train

    plan = _plan(tmp_path)
    store = Store(tmp_path / "store")
    monkeypatch.setattr(faspec.train, "run", _raiser(ValueError("loss is a string")))
    summary = train_missing(plan, store, lambda: LocalExecutor("cpu"))
    (rid,) = plan.runs
    assert summary.failed == [rid] and not summary.faults
    stored = store.get(rid)
    assert stored["status"] == "failed" and "loss is a string" in stored["error"]


def _write(tmp_path, **top) -> str:
    text = spec_text("s", seeds=[1], experiments={"main": {"methods": ["bp"]}}, claims=CLAIM)
    if top:
        text += yaml.safe_dump(top, default_flow_style=None)
    (tmp_path / "s.yaml").write_text(text)
    return "s.yaml"


def test_device_cuda_without_gpus_is_refused(tmp_path):
    r = run_cli(["verify", _write(tmp_path), "--device", "cuda", "--store", "st"], tmp_path)
    assert r.returncode == 2, r.stderr
    assert "--device cuda with --gpus 0" in r.stderr and "--gpus 1" in r.stderr
    assert not (tmp_path / "st").exists() or not list((tmp_path / "st").iterdir())


@pytest.mark.parametrize(
    "value,message",
    [
        ("[1, 2]", "a runtime environment is a mapping (got list)"),
        ("{working_dir: [1]}", "--runtime-env: working_dir: [1] is not of type 'string'"),
        ("{env_vars: {A: 1}}", "--runtime-env: env_vars.A: 1 is not of type 'string'"),
        ("{pipp: [x]}", "Additional properties are not allowed ('pipp' was unexpected)"),
        ("{a: [", "--runtime-env: not JSON or YAML (line 1"),
    ],
)
def test_bad_runtime_env_on_the_cli_is_located(tmp_path, value, message):
    r = run_cli(["verify", _write(tmp_path), "--runtime-env", value, "--store", "st"], tmp_path)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr


def test_runtime_env_file_errors_name_the_file(tmp_path):
    (tmp_path / "env.yaml").write_text("env_vars: [x]\n")
    r = run_cli(
        ["verify", _write(tmp_path), "--runtime-env", "env.yaml", "--store", "st"], tmp_path
    )
    assert r.returncode == 2 and "--runtime-env env.yaml: env_vars:" in r.stderr, r.stderr


def test_runtime_env_in_the_spec_is_validated_and_located(tmp_path):
    r = run_cli(["verify", _write(tmp_path, runtime_env={"pip": 3}), "--no-run"], tmp_path)
    assert r.returncode == 2, r.stderr
    assert "s.yaml:" in r.stderr and "runtime_env.pip" in r.stderr


def test_specs_that_disagree_on_runtime_env_are_refused(tmp_path):
    from faspec.cli_cluster import runtime_env

    a = _write(tmp_path, runtime_env={"env_vars": {"A": "1"}})
    (tmp_path / "t.yaml").write_text(
        (tmp_path / a).read_text().replace("name: s", "name: t").replace("A: '1'", "A: '2'")
    )
    specs = [load(tmp_path / "s.yaml"), load(tmp_path / "t.yaml")]
    with pytest.raises(SystemExit) as e:
        runtime_env(specs, None)
    assert e.value.code == 2
    assert runtime_env(specs[:1], '{working_dir: ".", env_vars: {B: "2"}}') == {
        "env_vars": {"B": "2"},
        "working_dir": ".",
    }  # the CLI's keys win


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
def test_any_runtime_env_text_is_a_mapping_or_a_located_refusal(text):
    from faspec.cli_cluster import _parse_cli_env

    try:
        env = _parse_cli_env(text)
    except SystemExit as e:
        assert e.code == 2
    else:
        assert isinstance(env, dict)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_an_unreachable_cluster_is_exit_2_naming_it_quickly(tmp_path, scheme):
    addr = f"{scheme}127.0.0.1:{_free_port()}"
    t0 = time.perf_counter()
    r = run_cli(["verify", _write(tmp_path), "--address", addr, "--store", "st"], tmp_path)
    took = time.perf_counter() - t0
    assert r.returncode == 2, r.stderr
    assert f"error: {addr}: no Ray cluster answers there" in r.stderr and "hint:" in r.stderr
    assert "internal error" not in r.stderr
    assert took < 55  # Ray alone waits 60 s and then reports a bug-like ConnectionError


def test_ray_address_from_the_environment_is_used(tmp_path):
    addr = f"127.0.0.1:{_free_port()}"
    import os

    env = {**os.environ, "RAY_ADDRESS": addr, "PYTHONPATH": str(__import__("helpers").ROOT)}
    r = run_cli(["verify", _write(tmp_path), "--store", "st"], tmp_path, env=env)
    assert r.returncode == 2 and f"attaching to Ray at {addr}" in r.stderr, r.stderr
    assert json.dumps(addr)[1:-1] in r.stderr


def test_a_task_refuses_a_driver_of_another_faspec_before_training():
    from faspec.execute.ray_exec import _task

    outs = _task([("r1", {}), ("r2", {})], "cpu", 1, None, {"faspec": "0.0.1", "git": None})
    assert [r["status"] for r, _ in outs] == ["fault", "fault"]
    assert all(r["mismatch"] for r, _ in outs)
    assert "faspec: driver 0.0.1, worker " in outs[0][0]["error"]
