"""A whole run: every diagnostic in the log and in final, the protocol block, null calibration."""

from __future__ import annotations

import json

import pytest

from faspec.results import rows_of
from faspec.train import normalize_config, run
from faspec.train.null import null_calibration
from faspec.train.registry import FINAL_ONLY, LAYER_METRICS, SCALAR_METRICS

TINY = {
    "seed": 3,
    "model": {"d": 16, "blocks": 2},
    "data": {"name": "teacher", "n_train": 512, "n_test": 256},
    "train": {"epochs": 3, "batch_size": 64},
    "measure": {
        "eval_batch": 256,
        "epochs": {"dense": 1, "every": 2},
        "stability_batch": 64,
        "rho_batch": 64,
        "rho_dirs": 8,
        "null_draws": 3,
    },
}


@pytest.fixture(scope="module")
def dfa_run() -> tuple[dict, object]:
    cfg = {**TINY, "method": "dfa"}
    return cfg, run(cfg, device="cpu")


def test_result_carries_every_metric_and_the_protocol(dfa_run) -> None:
    cfg, out = dfa_run
    res = out.result
    json.dumps(res, allow_nan=False)
    assert [e["epoch"] for e in res["log"]] == [0, 1, 2, 3]
    per_epoch = {*SCALAR_METRICS, *LAYER_METRICS} - FINAL_ONLY
    for e in res["log"]:
        assert set(e) == {"epoch", *per_epoch}
        for k, v in e.items():  # a scalar or a per-layer list: one DataFrame call reads it
            assert (
                v is None
                or isinstance(v, int | float)
                or (k.endswith("_layers") and all(x is None or isinstance(x, float) for x in v))
            )
        assert len(e["rho_layers"]) == len(e["stability_layers"]) == 3
    final = res["final"]
    assert set(final) == {k for k in per_epoch if not k.endswith("_layers")} | FINAL_ONLY
    assert final["null_draws"] == 3 and len(final["null_cos_layers"]) == 3
    assert final["null_deep_cos_std"] > 0 and final["null_deep_cos_draw_std"] > 0
    # the paper's ± is the per-layer std over draws averaged over the deep layers
    std_layers = final["null_cos_std_layers"]
    assert final["null_deep_cos_std"] == pytest.approx(sum(std_layers[1:]) / len(std_layers[1:]))
    block = res["protocol"]
    assert block["set"] == "paper" and block["pending"][-1] == "d"
    # (d) is pending: nothing fired is not "trustworthy" yet
    assert block["verdict"] in ("undecided", "walked back")
    assert final["trustworthy"] == (None if block["verdict"] == "undecided" else 0)
    for d in "abc":
        assert final[f"first_fire_{d}"] == block["first_epoch"][d]
        assert res["log"][-1][f"fired_{d}"] == final[f"fired_{d}"]
    rows = rows_of("x", normalize_config(cfg), res)
    assert all(not isinstance(v, list | dict) for row in rows for v in row.values())
    assert "rho_layers.0" in rows[0] and "stability" in rows[0]


def test_null_calibration_from_the_checkpoint_matches_the_run(dfa_run) -> None:
    cfg, out = dfa_run
    null = null_calibration(cfg, out.checkpoint, draws=3)
    final = out.result["final"]
    assert null["null_draws"] == 3 and null["reason"] is None
    assert null["null_deep_cos"] == pytest.approx(final["null_deep_cos"], abs=1e-9)
    assert null["null_cos_std_layers"] == pytest.approx(final["null_cos_std_layers"], abs=1e-9)
    assert null["deep_cos"] == pytest.approx(final["deep_cos"], abs=1e-6)  # the training B
    other = null_calibration(cfg, out.checkpoint, draws=3, seed=99)
    assert other["null_deep_cos_values"] != null["null_deep_cos_values"]


@pytest.mark.parametrize(("method", "reason"), [("bp", "no random"), ("frozen", "no credit")])
def test_no_null_without_random_feedback(method: str, reason: str) -> None:
    cfg = {**TINY, "method": method, "train": {"epochs": 1, "batch_size": 128}}
    out = run(cfg, device="cpu")
    assert out.result["final"]["null_deep_cos"] is None
    null = null_calibration(cfg, out.checkpoint, draws=2)
    assert null["null_draws"] == 0 and reason in null["reason"]


def test_loss_decrease_is_measured_from_epoch_one_even_when_it_is_not_logged() -> None:
    """The reference of loss_decrease (epoch 1's mean training loss) does not depend on which
    epochs are logged, in the plain loop and in the seed-packed one."""
    from faspec.train.pack import run_pack

    base = {
        "method": "bp",
        "model": {"arch": "resmlp", "d": 8, "blocks": 2},
        "data": {"name": "teacher", "n_train": 512, "n_test": 128},
        "train": {"epochs": 3, "pack_seeds": "false"},
        "measure": {"eval_batch": 64, "rho_dirs": 0, "stability_batch": 16},
        "seed": 5,
    }
    dense = run({**base, "measure": {**base["measure"], "epochs": "all"}}, device="cpu").result
    sparse = run({**base, "measure": {**base["measure"], "epochs": []}}, device="cpu").result
    one = dense["log"][1]["train_loss"]
    assert dense["final"]["loss_decrease"] == pytest.approx(one - dense["log"][-1]["train_loss"])
    assert [e["epoch"] for e in sparse["log"]] == [0, 3]
    assert sparse["final"]["loss_decrease"] == pytest.approx(dense["final"]["loss_decrease"])
    assert sparse["final"]["loss_decrease_init"] == pytest.approx(
        dense["final"]["loss_decrease_init"]
    )
    packed_cfgs = [
        {
            **base,
            "seed": s,
            "train": {**base["train"], "pack_seeds": "true"},
            "measure": {**base["measure"], "epochs": []},
        }
        for s in (5, 6)
    ]
    packed = run_pack(packed_cfgs, device="cpu")
    res = packed[0].result
    assert [e["epoch"] for e in res["log"]] == [0, 3]
    assert res["final"]["loss_decrease"] == pytest.approx(dense["final"]["loss_decrease"], rel=1e-4)
