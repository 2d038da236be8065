"""A whole run: the result dict of docs/internals.md, determinism, divergence."""

from __future__ import annotations

import json
import math

import pytest
import torch

from faspec.train import RunOutput, load_checkpoint, normalize_config, run
from faspec.train.registry import FINAL_ONLY, LAYER_METRICS, SCALAR_METRICS

TINY = {
    "seed": 1,
    "model": {"d": 16, "blocks": 2},
    "data": {"name": "teacher", "n_train": 256, "n_test": 128},
    "train": {"epochs": 3, "batch_size": 64},
    "measure": {"eval_batch": 64},
}


@pytest.mark.parametrize("method", ["bp", "fa", "dfa", "frozen"])
def test_tiny_run_result_contract(method: str) -> None:
    seen: list[int] = []
    out = run(
        {**TINY, "method": {"name": method}}, device="cpu", on_epoch=lambda e, entry: seen.append(e)
    )
    assert isinstance(out, RunOutput) and isinstance(out.checkpoint, bytes)
    res = out.result
    json.dumps(res, allow_nan=False)
    assert res["status"] == "ok" and res["error"] is None
    assert [e["epoch"] for e in res["log"]] == [0, 1, 2, 3] == seen
    entry = res["log"][-1]
    assert set(entry) == {"epoch", *SCALAR_METRICS, *LAYER_METRICS} - FINAL_ONLY
    per_epoch = set(SCALAR_METRICS) - FINAL_ONLY
    assert set(res["final"]) == per_epoch | FINAL_ONLY  # test_diagnostics_run: the rest
    assert {k: res["final"][k] for k in per_epoch} == {k: entry[k] for k in per_epoch}
    assert len(entry["h_norm_layers"]) == len(entry["g_norm_layers"]) == 3
    assert set(res["provenance"]) == {
        "faspec",
        "torch",
        "device",
        "precision",
        "wall_s",
        "git",
        "host",
        "code",  # faspec.code_id: the identity of the code that computed it
    }
    assert set(res["provenance"]["code"]) == {
        f"method {method}",
        "model resmlp",
        "data teacher",
        "trainer",
    }
    assert res["provenance"]["device"] == "cpu"
    assert 0.0 <= entry["test_acc"] <= 1.0 and entry["test_acc"] * 128 % 1 == 0
    assert res["log"][0]["train_loss"] > 0
    if method == "frozen":
        assert entry["cos_layers"] is None and entry["deep_cos"] is None
    else:
        assert len(entry["cos_layers"]) == 3
    if method in ("bp", "fa"):
        assert abs(entry["cos_layers"][-1] - 1.0) < 1e-6  # FA's a_L is exact
    if method == "bp":
        assert all(abs(c - 1.0) < 1e-5 for c in entry["cos_layers"])


def test_logged_epochs_and_determinism() -> None:
    cfg = {**TINY, "method": "fa", "measure": {"epochs": [2], "eval_batch": 64}}
    a, b = run(cfg, device="cpu"), run(cfg, device="cpu")
    assert [e["epoch"] for e in a.result["log"]] == [0, 2, 3]
    assert a.result["log"] == b.result["log"]
    assert a.checkpoint == b.checkpoint
    c = run({**cfg, "seed": 2}, device="cpu")
    assert c.result["log"] != a.result["log"]


def test_divergence_is_recorded() -> None:
    out = run(
        {
            **TINY,
            "method": "bp",
            "train": {"epochs": 3, "batch_size": 64, "lr": 1e30, "schedule": "constant"},
        },
        device="cpu",
    )
    res = out.result
    assert res["status"] == "diverged" and "non-finite" in res["error"]
    assert res["log"] and res["log"][0]["epoch"] == 0
    json.dumps(res, allow_nan=False)
    assert out.checkpoint is None


def test_grad_clip_and_constant_schedule_run() -> None:
    cfg = normalize_config(
        {
            **TINY,
            "method": {"name": "dfa", "penalty": 0.01},
            "train": {"epochs": 1, "grad_clip": 0.5, "schedule": "constant"},
        }
    )
    assert run(cfg, device="cpu").result["status"] == "ok"


@pytest.mark.slow
def test_embedded_task_orderings() -> None:
    """One seed of the embedded task (docs/paper.md §1): catches sign/scale errors in the credits
    (a flipped DFA sign or a B that trains the wrong unit breaks these orderings)."""
    base = {
        "seed": 42,
        "model": {"d": 64, "blocks": 3},
        "data": {"name": "teacher"},
        "train": {"epochs": 8},
        "measure": {"epochs": [0, 8]},
    }
    f = {m: run({**base, "method": m}, device="cpu").result["final"] for m in ("bp", "fa", "dfa")}
    f["frozen"] = run({**base, "method": "frozen"}, device="cpu").result["final"]
    assert f["bp"]["test_acc"] > 0.89
    assert f["bp"]["test_acc"] > f["fa"]["test_acc"] > f["dfa"]["test_acc"]
    assert f["frozen"]["test_acc"] > 0.78 and f["dfa"]["test_acc"] > 0.74
    assert f["fa"]["deep_cos"] > 0.4 and 0.05 < f["dfa"]["deep_cos"] < 0.4
    assert 7 < f["bp"]["h_norm"] < 11
    assert f["dfa"]["h_norm"] > 10 * f["bp"]["h_norm"] and f["fa"]["h_norm"] > 3 * f["bp"]["h_norm"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_run_matches_cpu_init_and_reloads() -> None:
    cfg = normalize_config({**TINY, "method": "dfa"})
    out = run(cfg, device="cuda")
    assert out.result["status"] == "ok" and out.result["provenance"]["device"].startswith("cuda")
    cpu = run(cfg, device="cpu")
    # same init and batches on both devices: epoch 0 agrees to fp32 rounding
    assert abs(out.result["log"][0]["test_acc"] - cpu.result["log"][0]["test_acc"]) < 0.02
    model, method = load_checkpoint(cfg, out.checkpoint, device="cuda")
    assert next(model.parameters()).is_cuda and method.state_dict()["B0"].is_cuda
    json.dumps(out.result, allow_nan=False)


@pytest.mark.slow
def test_compiled_step_equals_eager_on_cpu() -> None:
    """`train.compile: true` captures the step with torch.compile (on the CPU here; on CUDA
    'auto' does it with CUDA graphs): one run and a pack of two give the eager results to
    float32 rounding (train_loss rel 1e-5, checkpoint tensors rtol 1e-4 / atol 1e-6)."""
    import io

    from faspec.train.pack import run_pack

    def cfg(compile_: str, seed: int = 0) -> dict:
        return {
            "seed": seed,
            "method": {"name": "fa", "penalty": 0.01 * seed},
            "model": {"d": 16, "blocks": 2},
            "data": {"name": "teacher", "n_train": 256, "n_test": 128},
            "train": {"epochs": 2, "batch_size": 64, "compile": compile_},
            "measure": {"eval_batch": 128, "rho_dirs": 0, "epochs": []},
        }

    def same(a: RunOutput, b: RunOutput) -> None:
        for x, y in zip(a.result["log"], b.result["log"], strict=True):
            assert math.isclose(x["train_loss"], y["train_loss"], rel_tol=1e-5)
        sa = torch.load(io.BytesIO(a.checkpoint), weights_only=True)["model"]
        sb = torch.load(io.BytesIO(b.checkpoint), weights_only=True)["model"]
        for k in sa:
            torch.testing.assert_close(sa[k], sb[k], rtol=1e-4, atol=1e-6)

    same(run(cfg("true"), device="cpu"), run(cfg("false"), device="cpu"))
    packed = run_pack([cfg("true", 0), cfg("true", 1)], device="cpu")
    eager = run_pack([cfg("false", 0), cfg("false", 1)], device="cpu")
    for a, b in zip(packed, eager, strict=True):
        same(a, b)
