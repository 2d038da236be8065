"""The GPU-time estimate of `faspec plan` (faspec/plan_cost.py) reproduces what it was fit on."""

from __future__ import annotations

import pytest

from faspec.plan_cost import EPOCH_S, duration, estimate, run_seconds
from faspec.train import normalize_config


def cfg(method: str, **model) -> dict:
    return normalize_config(
        {
            "method": {"name": method},
            "model": {"arch": "resmlp", "d": 256, "blocks": 4, **model},
            "data": {"name": "cifar10"},
            "train": {"epochs": 100},
        }
    )


@pytest.mark.parametrize("method", sorted(EPOCH_S))
def test_reference_epoch_is_the_measured_one(method):
    per_epoch = (
        run_seconds(cfg(method))[0] - run_seconds({**cfg(method), "train": {"epochs": 0}})[0]
    ) / 100
    assert per_epoch == pytest.approx(EPOCH_S[method], rel=0.02)


def test_depth_scales_and_width_does_not():
    base = run_seconds(cfg("bp"))[0]
    assert run_seconds(cfg("bp", blocks=12))[0] / base == pytest.approx(3.28 / 1.42, rel=0.1)
    assert run_seconds(cfg("dfa", d=512))[0] == pytest.approx(run_seconds(cfg("dfa"))[0])


def test_estimate_sums_and_flags_unknown_methods():
    runs = {"a": cfg("bp"), "b": cfg("dfa")}
    runs["c"] = {**cfg("bp"), "method": {"name": "mystery"}}
    est = estimate(runs)
    assert est.total_s == pytest.approx(sum(est.per_run.values()))
    assert est.unknown == {"mystery"}
    assert "GPU time" in est.text() and "mystery" in est.text()
    assert duration(30) == "30 s" and duration(600) == "10 min" and duration(7200) == "2.0 h"


def test_hostile_sizes_give_an_unbounded_figure_not_an_exception():
    """Valid but absurd integers (beyond a float) must not crash `faspec plan` (OverflowError)."""
    huge = 10**400
    for where, value in (
        ("model", {"blocks": huge}),
        ("data", {"n_train": huge}),
        ("train", {"epochs": huge}),
        ("measure", {"rho_dirs": huge, "eval_batch": huge}),
    ):
        c = cfg("bp")
        c = {**c, where: {**c[where], **value}}
        s, _ = run_seconds(c)
        assert s == float("inf"), where
        est = estimate({"a": c, "b": cfg("bp")})
        assert est.total_s == float("inf") and "unbounded" in est.text()
    assert duration(float("inf")) == "unbounded"
    zero = {**cfg("bp"), "model": {**cfg("bp")["model"], "blocks": huge}}
    zero = {**zero, "train": {**zero["train"], "epochs": 0}}
    assert run_seconds(zero)[0] == float("inf")  # inf x 0 is not a number: still unbounded


def test_packed_estimate_counts_packs():
    from faspec.plan_cost import PACK_MARGINAL, pack_size

    runs = {f"s{i}": {**cfg("dfa"), "seed": i} for i in range(3)}
    runs["ep"] = cfg("ep")
    est = estimate(runs)
    one = run_seconds(cfg("dfa"))[0]
    assert est.packs == 1
    assert est.packed_s == pytest.approx(one * (1 + 2 * PACK_MARGINAL) + est.per_run["ep"])
    assert est.packed_s < est.total_s
    assert 1 <= pack_size(cfg("dfa")) <= 16
    assert pack_size(cfg("dfa"), memory=1.0) == 1  # nothing fits: one member per pack
