"""A run's config is normalized once on its way from YAML to the trainer.

The loader normalizes each (point, method) while it validates the spec (to locate errors); the
plan reuses that normalized config for every seed (`faspec.config.reseed`); the executors hand
the plan's config to the trainer, which trains it as it is (`normalized=True`). Only a run the
loader never saw (the frozen baseline that diagnostic (d) needs) is normalized by the plan.
"""

from __future__ import annotations

import pytest
from helpers import spec_text

import faspec.config as C
import faspec.plan as P
from faspec.spec.load import load_text


def _counting(monkeypatch: pytest.MonkeyPatch, module: object) -> list[dict]:
    calls: list[dict] = []
    real = C.normalize_config

    def counted(config: dict) -> dict:
        calls.append(config)
        return real(config)

    monkeypatch.setattr(module, "normalize_config", counted)
    return calls


def test_the_plan_reuses_the_loaders_normalization(monkeypatch):
    spec = load_text(
        spec_text(experiments={"main": {"methods": ["bp", "fa", "dfa"], "seeds": [1, 2, 3]}}),
        "t.yaml",
    )
    calls = _counting(monkeypatch, P)
    plan = P.build([spec])
    assert len(plan.runs) == 9 and calls == []  # 3 methods x 3 seeds, none normalized again
    for cfg in plan.runs.values():  # and each is exactly what normalizing it would give
        assert cfg == C.normalize_config(cfg)
    assert sorted(c["seed"] for c in plan.runs.values()) == [1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_a_run_the_loader_did_not_see_is_normalized_by_the_plan(monkeypatch):
    text = spec_text(
        experiments={"main": {"methods": ["dfa"], "seeds": [1, 2]}},
        claims=[{"id": "c", "in": "main", "expect": "dfa is walked_back"}],
    )
    spec = load_text(text, "t.yaml")
    calls = _counting(monkeypatch, P)
    plan = P.build([spec])
    # dfa x 2 seeds from the loader; the frozen baseline of (d) x 2 seeds normalized here
    assert [c["method"]["name"] for c in calls] == ["frozen", "frozen"]
    assert len(plan.runs) == 4


def test_reseed_checks_the_seed_as_normalization_does():
    cfg = C.normalize_config({"seed": 1})
    assert C.reseed(cfg, 7) == C.normalize_config({**cfg, "seed": 7})
    with pytest.raises(C.ConfigError):
        C.reseed(cfg, -1)


def test_the_executor_trains_the_plans_config_without_normalizing_it(monkeypatch, tmp_path):
    import importlib

    from faspec.execute import worker

    run_module = importlib.import_module("faspec.train.run")  # the module, not the function

    spec = load_text(spec_text(experiments={"main": {"methods": ["bp"], "seeds": [1]}}), "t.yaml")
    (cfg,) = P.build([spec]).runs.values()
    cfg["train"]["epochs"] = 1
    cfg["data"]["n_train"], cfg["data"]["n_test"] = 256, 128
    calls = _counting(monkeypatch, run_module)
    result, _ = worker.execute(cfg, "cpu")
    assert result["status"] == "ok", result.get("error")
    assert calls == []
