"""normalize_config: defaults, versions, canonical types, and errors with path + hint."""

from __future__ import annotations

import pytest

from faspec.train import ConfigError, normalize_config
from faspec.train.registry import ARCHS, DATASETS, METHODS, method_names, metric_names


def test_defaults_filled_and_versions_present() -> None:
    cfg = normalize_config({})
    assert set(cfg) == {"seed", "method", "model", "data", "train", "measure"}
    assert cfg["method"] == {
        "name": "bp",
        "version": METHODS["bp"].version,
        "penalty": 0.0,
        "targets": "true",
    }
    for section in ("method", "model", "data"):
        assert isinstance(cfg[section]["version"], int)
    assert cfg["model"]["d"] == 256 and cfg["model"]["blocks"] == 4
    assert cfg["model"]["terminal_ln"] is True and cfg["model"]["hidden"] is None
    assert cfg["data"]["name"] == "teacher" and cfg["data"]["n_train"] == 16384
    assert cfg["train"] == {
        "epochs": 8,
        "batch_size": 128,
        "optimizer": "adamw",
        "lr": 1e-3,
        "weight_decay": 0.01,
        "schedule": "cosine",
        "grad_clip": None,
        "precision": "fp32",
        "compile": "auto",
        "pack_seeds": "auto",
    }
    assert cfg["measure"]["epochs"] == "all" and cfg["measure"]["eval_batch"] == 1024
    assert cfg["measure"]["protocol"]["set"] == "paper"  # diagnostics: test_diagnostics_*


def test_idempotent_and_canonical() -> None:
    raw = {
        "seed": 3,
        "method": "dfa",
        "model": {"d": 32},
        "train": {"lr": 1, "epochs": 4},
        "measure": {"epochs": [3, 1, 1]},
    }
    cfg = normalize_config(raw)
    assert cfg["method"]["name"] == "dfa"
    assert cfg["train"]["lr"] == 1.0 and isinstance(cfg["train"]["lr"], float)
    assert cfg["measure"]["epochs"] == [0, 1, 3, 4]
    assert normalize_config(cfg) == cfg
    assert raw["measure"]["epochs"] == [3, 1, 1]  # input not modified


def test_every_component_normalizes() -> None:
    for m in METHODS:
        assert normalize_config({"method": {"name": m}})["method"]["name"] == m
    for a, comp in ARCHS.items():  # with a dataset that has what the arch requires (images)
        data = next(n for n in sorted(DATASETS) if comp.requires <= DATASETS[n].traits)
        cfg = normalize_config({"model": {"arch": a}, "data": {"name": data}})
        assert cfg["model"]["arch"] == a
    for d in DATASETS:
        assert normalize_config({"data": {"name": d}})["data"]["name"] == d
    assert {"bp", "fa", "dfa", "frozen"} <= set(method_names())
    assert "cos_layers" in metric_names() and "test_acc" in metric_names()


@pytest.mark.parametrize(
    ("raw", "path", "in_message", "in_hint"),
    [
        ({"method": {"name": "dfaa"}}, "method.name", "unknown method", "did you mean 'dfa'?"),
        ({"model": {"arch": "resmpl"}}, "model.arch", "unknown architecture", "'resmlp'"),
        ({"data": {"name": "cifar-10"}}, "data.name", "unknown dataset", "'cifar10'"),
        ({"model": {"blcks": 3}}, "model.blcks", "unknown option", "did you mean 'blocks'?"),
        (
            {"method": {"name": "fa", "penalti": 0.1}},
            "method.penalti",
            "unknown option",
            "'penalty'",
        ),
        ({"model": {"blocks": "4"}}, "model.blocks", "must be an integer", ""),
        ({"model": {"d": 64.0}}, "model.d", "must be an integer", ""),
        ({"model": {"d": True}}, "model.d", "must be an integer", ""),
        ({"model": {"terminal_ln": 1}}, "model.terminal_ln", "must be a boolean", ""),
        ({"train": {"lr": True}}, "train.lr", "must be a number", ""),
        ({"train": {"lr": "1e-3"}}, "train.lr", "must be a number", "1.0e-3"),
        ({"train": {"lr": -1.0}}, "train.lr", "must be >=", ""),
        ({"train": {"schedule": "cosin"}}, "train.schedule", "not allowed", "'cosine'"),
        ({"model": {"act": "relux"}}, "model.act", "not allowed", "'relu'"),
        (
            {"method": {"name": "dfa", "targets": True}},
            "method.targets",
            "must be a string",
            "quote it",
        ),
        ({"model": {"hidden": None, "d": None}}, "model.d", "got null", ""),
        ({"seed": -1}, "seed", "must be >=", ""),
        ({"seed": 1.5}, "seed", "must be an integer", ""),
        ({"sed": 1}, "sed", "unknown section", "did you mean 'seed'?"),
        ({"measure": {"epochs": [0, 9]}}, "measure.epochs[1]", "outside 0..8", ""),
        ({"measure": {"epochs": "some"}}, "measure.epochs", "'all' or a list", ""),
        ({"model": {"version": 99}}, "model.version", "version", "drop the key"),
        ({"train": [1]}, "train", "must be a mapping", ""),
    ],
)
def test_bad_input_raises_config_error(raw: dict, path: str, in_message: str, in_hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        normalize_config(raw)
    err = info.value
    assert err.path == path
    assert in_message in err.message
    assert in_hint in err.hint
    assert path in str(err)


def test_nullable_option_accepts_null() -> None:
    cfg = normalize_config({"train": {"grad_clip": None}, "model": {"hidden": 7}})
    assert cfg["train"]["grad_clip"] is None and cfg["model"]["hidden"] == 7
    assert normalize_config({"train": {"grad_clip": 1}})["train"]["grad_clip"] == 1.0


def test_compile_option_is_checked_and_not_hashed() -> None:
    from faspec.config import hash_view

    plain = hash_view(normalize_config({}))
    assert "compile" not in plain["train"]  # how the step runs, not what it computes
    for value in (True, False, "true", "false", "auto"):
        cfg = normalize_config({"train": {"compile": value}})
        assert cfg["train"]["compile"] == str(value).lower()
        assert hash_view(cfg) == plain
    with pytest.raises(ConfigError) as err:
        normalize_config({"train": {"compile": "yes"}})
    assert err.value.path == "train.compile" and "expected one of" in err.value.hint
