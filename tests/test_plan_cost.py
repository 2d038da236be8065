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
