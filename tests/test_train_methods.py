"""Methods: the block-local update, credits, feedback buffers, frozen blocks, penalty, targets."""

from __future__ import annotations

import io

import pytest
import torch
import torch.nn.functional as F

from faspec.train import build, load_checkpoint, normalize_config, run
from faspec.train.measure import mean_cosine
from faspec.train.methods import (
    BP,
    DFA,
    FA,
    block_local_loss,
    exact_gradients,
    output_error,
    unit_forward,
)
from faspec.train.models import ResMLP

TINY = {
    "model": {"d": 16, "blocks": 2},
    "data": {"name": "teacher", "n_train": 256, "n_test": 128},
    "train": {"epochs": 2, "batch_size": 64},
    "measure": {"eval_batch": 128},
}


def tiny(name: str, **over: dict) -> dict:
    cfg = {k: dict(v) for k, v in TINY.items()}
    cfg["seed"] = 7
    cfg["method"] = {"name": name}
    for section, values in over.items():
        cfg.setdefault(section, {}).update(values)
    return cfg


def _model(dtype: torch.dtype = torch.float64, **kw: object) -> ResMLP:
    torch.manual_seed(0)
    return ResMLP(9, 5, d=12, blocks=3, hidden=10, **kw).to(dtype)  # type: ignore[arg-type]


def _batch(n: int = 6, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 9, generator=g, dtype=dtype), torch.randint(5, (n,), generator=g)


@pytest.mark.parametrize(
    "kw", [{}, {"skip": False}, {"terminal_ln": False}, {"act": "phi", "alpha": 0.5}]
)
def test_block_local_with_true_credit_equals_bp(kw: dict) -> None:
    """∇θ mean⟨f_u, a_u⟩ = J_θᵀ a_u / N: exactly BP's gradient when a_u is the true gradient."""
    model = _model(**kw)
    x, y = _batch()
    F.cross_entropy(model(x), y).backward()
    bp = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)

    true_credit = exact_gradients(model, x, y, reduction="sum")[2]  # per sample, not /N
    loss, _ = block_local_loss(unit_forward(model, x, local=True), true_credit, y)
    loss.backward()
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, bp[n], rtol=1e-10, atol=1e-13, msg=n)


def test_no_gradient_crosses_units() -> None:
    model = _model()
    x, y = _batch()
    fwd = unit_forward(model, x, local=True)
    # the credit of block 1 only: nothing but block 1 may get a gradient
    credits = [torch.zeros_like(u) for u in fwd.units]
    credits[2] = torch.randn_like(fwd.units[2])
    loss = sum((u * a).sum(-1).mean() for u, a in zip(fwd.units, credits, strict=True))
    loss.backward()
    for n, p in model.named_parameters():
        touched = p.grad is not None and bool(p.grad.abs().sum() > 0)
        assert touched == n.startswith("blocks.1."), n


def test_dfa_credit_is_B_times_output_error() -> None:
    model = _model(torch.float32)
    x, y = _batch(dtype=torch.float32)
    method = DFA(model, 5, torch.Generator().manual_seed(3))
    credits = method.credits(model, x, y)
    assert len(credits) == len(model.blocks) + 1
    e = torch.softmax(model(x), -1) - F.one_hot(y, 5).float()
    torch.testing.assert_close(output_error(model(x), y), e)
    for i, a in enumerate(credits):
        torch.testing.assert_close(a, e @ method.feedback(i).T)
        assert a.shape == (6, 12)


def test_dfa_feedback_scale() -> None:
    model = ResMLP(4, 10, d=512, blocks=1)
    method = DFA(model, 10, torch.Generator().manual_seed(0))
    b = method.feedback(0)
    assert b.shape == (512, 10)
    assert abs(b.std().item() - 10**-0.5) < 0.02  # N(0, 1/C)


def test_fa_credits() -> None:
    model = _model(torch.float32)
    x, y = _batch(n=64, dtype=torch.float32)
    method = FA(model, 5, torch.Generator().manual_seed(3))
    credits = method.credits(model, x, y)
    true = exact_gradients(model, x, y, reduction="sum")[2]
    assert len(credits) == len(true) == 4
    assert abs(mean_cosine(credits[-1], true[-1]).item() - 1.0) < 1e-6  # a_L exact
    torch.testing.assert_close(credits[-1], true[-1])
    for i in range(3):  # a_l = B_l a_{l+1}
        torch.testing.assert_close(credits[i], credits[i + 1] @ method.feedback(i).T)
    assert method.feedback(0).shape == (12, 12)
    assert (
        abs(
            FA(ResMLP(4, 3, d=512, blocks=1), 3, torch.Generator().manual_seed(0))
            .feedback(0)
            .std()
            .item()
            - 512**-0.5
        )
        < 0.002
    )  # N(0, 1/d)


def test_bp_credit_is_true_per_sample_gradient() -> None:
    model = _model()
    x, y = _batch()
    credits = BP(model, 5, torch.Generator()).credits(model, x, y)
    mean_g = exact_gradients(model, x, y, reduction="mean")[2]
    for a, g in zip(credits, mean_g, strict=True):
        torch.testing.assert_close(a, g * len(x))


def test_frozen_blocks_bit_identical_embed_and_head_train() -> None:
    cfg = normalize_config(tiny("frozen", train={"weight_decay": 0.1}))
    init_model, _ = build(cfg, 16, 10)
    out = run(cfg, device="cpu")
    trained, method = load_checkpoint(cfg, out.checkpoint)
    for (n, p0), p1 in zip(
        init_model.blocks.named_parameters(), trained.blocks.parameters(), strict=True
    ):
        assert torch.equal(p0, p1), n
        assert not p1.requires_grad
    assert not torch.equal(init_model.embed.weight, trained.embed.weight)
    assert not torch.equal(init_model.head.weight, trained.head.weight)
    assert not torch.equal(init_model.out_ln.weight, trained.out_ln.weight)
    assert all(p.requires_grad for p in method.trainable_parameters(trained))
    assert out.result["final"]["deep_cos"] is None
    assert out.result["log"][-1]["cos_layers"] is None


@pytest.mark.parametrize(("name", "n_b"), [("dfa", 3), ("fa", 2)])
def test_feedback_is_a_fixed_buffer_saved_and_restored(name: str, n_b: int) -> None:
    cfg = normalize_config(tiny(name, train={"weight_decay": 0.5, "lr": 1e-2}))
    model0, method0 = build(cfg, 16, 10)
    keys = [f"B{i}" for i in range(n_b)]
    assert sorted(method0.state_dict()) == keys
    assert not list(method0.parameters())
    trainable = {id(p) for p in method0.trainable_parameters(model0)}
    assert all(id(method0.state_dict()[k]) not in trainable for k in keys)

    out = run(cfg, device="cpu")
    saved = torch.load(io.BytesIO(out.checkpoint), weights_only=True)
    assert set(saved) == {"model", "method"}
    model1, method1 = load_checkpoint(cfg, out.checkpoint)
    for k in keys:  # not trained, not decayed, restored bit-identically
        assert torch.equal(saved["method"][k], method0.state_dict()[k])
        assert torch.equal(method1.state_dict()[k], saved["method"][k])
    for k, v in saved["model"].items():
        assert torch.equal(model1.state_dict()[k], v), k
    assert not torch.equal(model0.embed.weight, model1.embed.weight)  # the model did train
    # another seed draws other feedback
    other = build(normalize_config({**cfg, "seed": 8}), 16, 10)[1]
    assert not torch.equal(other.state_dict()["B0"], method0.state_dict()["B0"])


def test_penalty_adds_two_lambda_f_over_batch() -> None:
    model = _model()
    x, y = _batch()
    lam = 0.37

    def unit_grads(penalty: float) -> list[torch.Tensor]:
        fwd = unit_forward(model, x, local=True)
        for u in fwd.units:
            u.retain_grad()
        credits = [torch.ones_like(u) for u in fwd.units]
        block_local_loss(fwd, credits, y, penalty)[0].backward()
        return [u.grad for u in fwd.units], [u.detach() for u in fwd.units]

    g0, _ = unit_grads(0.0)
    g1, units = unit_grads(lam)
    torch.testing.assert_close(g1[0], g0[0])  # embed: no penalty
    for a, b, f in zip(g0[1:], g1[1:], units[1:], strict=True):
        torch.testing.assert_close(b - a, 2 * lam * f / len(x))


def test_bp_penalty_joins_global_loss() -> None:
    model = _model()
    x, y = _batch()
    plain, ce0 = BP(model, 5, torch.Generator()).loss(model, x, y)
    pen, ce1 = BP(model, 5, torch.Generator(), penalty=0.1).loss(model, x, y)
    fs = unit_forward(model, x, local=False).units[1:]
    expected = 0.1 * sum(f.pow(2).sum(-1).mean() for f in fs)
    torch.testing.assert_close(pen - plain, expected)
    torch.testing.assert_close(ce0, ce1)


def test_random_targets_every_batch_test_labels_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    from faspec.train.data import load_data

    seen_train: list[torch.Tensor] = []
    seen_eval: list[torch.Tensor] = []
    real_loss, real_credits = DFA.loss, DFA.credits

    def spy_loss(self, model, x, y):
        seen_train.append(y.clone())
        return real_loss(self, model, x, y)

    def spy_credits(self, model, x, y):
        seen_eval.append(y.clone())
        return real_credits(self, model, x, y)

    monkeypatch.setattr(DFA, "loss", spy_loss)
    monkeypatch.setattr(DFA, "credits", spy_credits)
    cfg = normalize_config(
        tiny("dfa", method={"targets": "random"}, train={"batch_size": 256, "epochs": 3})
    )
    data = load_data(cfg["data"])
    y_test_before = data.y_test.clone()
    run(cfg, device="cpu")
    assert len(seen_train) == 3  # one batch per epoch
    for y in seen_train:  # not a permutation of the true labels
        assert not torch.equal(y.sort().values, data.y_train.sort().values)
    assert not torch.equal(seen_train[0], seen_train[1])
    assert torch.equal(data.y_test, y_test_before)
    assert len(seen_eval) == 4 and all(torch.equal(y, data.y_test) for y in seen_eval)

    seen_train.clear()
    run(normalize_config({**cfg, "method": {"name": "dfa"}}), device="cpu")
    assert all(torch.equal(y.sort().values, data.y_train.sort().values) for y in seen_train)
