"""Packing (faspec.train.pack/stack): a packed member gives the result of training it alone.

Tolerance (packing reassociates the batched matmuls and uses a vectorized AdamW, so results agree
to float32 rounding, not bit for bit): per logged epoch, train_loss within rel 1e-4, deep_cos /
h_norm / g_norm within rel 1e-3 (abs 1e-5); test accuracy within one test sample; every
checkpoint tensor within rtol 1e-4, atol 1e-5.
"""

from __future__ import annotations

import math

import pytest
import torch

from faspec.config import ConfigError, pack_key, pack_refusal
from faspec.registry import METHODS
from faspec.train import hash_view, normalize_config, run
from faspec.train.pack import run_pack

PACKABLE = sorted(n for n, c in METHODS.items() if c.packable)

N_TEST = 128


def tiny(method: str, **train: object) -> dict:
    return {
        "method": method,
        "model": {"d": 16, "blocks": 2},
        "data": {"name": "teacher", "n_train": 256, "n_test": N_TEST},
        "train": {"epochs": 2, "batch_size": 64, **train},
        "measure": {"eval_batch": N_TEST, "rho_dirs": 0, "epochs": []},
    }


def assert_same_run(packed: dict, alone: dict) -> None:
    assert packed["status"] == alone["status"] == "ok"
    assert abs(packed["final"]["test_acc"] - alone["final"]["test_acc"]) <= 1.0 / N_TEST + 1e-12
    assert [e["epoch"] for e in packed["log"]] == [e["epoch"] for e in alone["log"]]
    for p, a in zip(packed["log"], alone["log"], strict=True):
        assert math.isclose(p["train_loss"], a["train_loss"], rel_tol=1e-4), p["epoch"]
        for key in ("deep_cos", "h_norm", "g_norm"):
            if a.get(key) is None:
                assert p.get(key) is None
            else:
                assert math.isclose(p[key], a[key], rel_tol=1e-3, abs_tol=1e-5), key


def assert_same_checkpoint(packed: bytes, alone: bytes) -> None:
    import io

    p = torch.load(io.BytesIO(packed), weights_only=True)
    a = torch.load(io.BytesIO(alone), weights_only=True)
    for part in ("model", "method"):
        assert p[part].keys() == a[part].keys()
        for k in a[part]:
            torch.testing.assert_close(p[part][k], a[part][k], rtol=1e-4, atol=1e-5)


def test_packable_methods_are_the_expected_ones() -> None:
    assert PACKABLE == ["bp", "dfa", "fa", "frozen"]


@pytest.mark.parametrize("method", PACKABLE)
def test_packed_seed_equals_its_run_alone(method: str) -> None:
    cfgs = [{**tiny(method), "seed": s} for s in (3, 11)]
    packed = run_pack(cfgs, device="cpu")
    assert len(packed) == 2
    for out, cfg in zip(packed, cfgs, strict=True):
        alone = run(cfg, device="cpu")
        assert out.result["provenance"]["pack_size"] == 2
        assert_same_run(out.result, alone.result)
        assert out.checkpoint is not None and alone.checkpoint is not None
        assert_same_checkpoint(out.checkpoint, alone.checkpoint)
    # the seeds really differ (a pack is not K copies of one run)
    assert packed[0].result["log"][1]["train_loss"] != packed[1].result["log"][1]["train_loss"]


def test_packed_clip_random_targets_penalty() -> None:
    """Per-seed gradient clipping, per-seed random-target streams and the penalty."""
    base = tiny("fa", grad_clip=0.05)
    base["method"] = {"name": "fa", "targets": "random", "penalty": 0.01}
    cfgs = [{**base, "seed": s} for s in (0, 1)]
    on: list[tuple[int, int]] = []
    packed = run_pack(cfgs, device="cpu", on_epoch=lambda k, e, _: on.append((k, e)))
    assert sorted(on) == [(k, e) for k in range(2) for e in (0, 2)]
    for out, cfg in zip(packed, cfgs, strict=True):
        assert_same_run(out.result, run(cfg, device="cpu").result)


def test_members_differ_in_penalty_lr_and_schedule() -> None:
    """A λ sweep (and an lr / schedule / clip variant) is one batched model: each member is
    its own run."""
    cfgs = []
    for s, (lam, lr, sched, clip) in enumerate(
        [(0.0, 1e-3, "cosine", None), (0.05, 1e-3, "cosine", None), (0.2, 3e-3, "constant", 0.1)]
    ):
        c = tiny("dfa", lr=lr, schedule=sched, grad_clip=clip)
        c["method"] = {"name": "dfa", "penalty": lam}
        cfgs.append({**c, "seed": s})
    assert len({repr(pack_key(normalize_config(c))) for c in cfgs}) == 1
    packed = run_pack(cfgs, device="cpu")
    assert [o.result["provenance"]["pack_size"] for o in packed] == [3, 3, 3]
    for out, cfg in zip(packed, cfgs, strict=True):
        alone = run(cfg, device="cpu")
        assert_same_run(out.result, alone.result)
        assert_same_checkpoint(out.checkpoint, alone.checkpoint)


def test_configs_must_agree_on_shapes() -> None:
    with pytest.raises(ValueError, match=r"\['model'\].*shapes the packed model"):
        run_pack(
            [{**tiny("bp"), "seed": 0}, {**tiny("bp"), "model": {"d": 8, "blocks": 2}}],
            device="cpu",
        )
    with pytest.raises(ValueError, match=r"\['train'\]"):
        run_pack([tiny("bp"), tiny("bp", batch_size=32)], device="cpu")


def test_unpacked_fallback_is_run() -> None:
    cfgs = [{**tiny("dfa", pack_seeds="false", epochs=1), "seed": s} for s in (0, 1)]
    outs = run_pack(cfgs, device="cpu")
    assert [o.result["status"] for o in outs] == ["ok", "ok"]
    assert all("pack_size" not in o.result["provenance"] for o in outs)


def test_pack_seeds_option() -> None:
    cfg = normalize_config({"train": {"pack_seeds": True}})
    assert cfg["train"]["pack_seeds"] == "true"
    assert normalize_config({})["train"]["pack_seeds"] == "auto"
    assert pack_refusal(normalize_config({"method": "ep"})) is not None
    assert pack_refusal(normalize_config({"method": "dfa"})) is None
    with pytest.raises(ConfigError) as err:
        normalize_config({"method": "ep", "train": {"pack_seeds": True}})
    assert err.value.path == "train.pack_seeds"
    normalize_config({"method": "ep", "train": {"pack_seeds": "auto"}})  # falls back, no error


def test_hash_ignores_pack_seeds_and_default_precision() -> None:
    plain = hash_view(normalize_config({}))
    assert "pack_seeds" not in plain["train"] and "precision" not in plain["train"]
    for train in ({"pack_seeds": "false"}, {"pack_seeds": True}, {"precision": "fp32"}):
        assert hash_view(normalize_config({"train": train})) == plain
    assert hash_view(normalize_config({"train": {"precision": "bf16"}}))["train"]["precision"]
