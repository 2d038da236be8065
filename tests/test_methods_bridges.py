"""State Bridge and Credit Bridge: credits from their feedback nets, losses, isolation, warm-up."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from faspec.train.methods import (
    CreditBridge,
    StateBridge,
    block_local_loss,
    head_gradient,
    output_error,
    rms_normalize,
    unit_forward,
)
from faspec.train.models import ResMLP, SmallCNN

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def _model() -> ResMLP:
    torch.manual_seed(0)
    return ResMLP(9, 5, d=12, blocks=3, hidden=10).double()


def _batch(n: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 9, generator=g, dtype=torch.float64), torch.randint(5, (n,), generator=g)


def _sb(model: torch.nn.Module, **kw: object) -> StateBridge:
    return StateBridge(model, 5, torch.Generator().manual_seed(3), hidden=16, **kw)


def _cb(model: torch.nn.Module, **kw: object) -> CreditBridge:
    return CreditBridge(model, 5, torch.Generator().manual_seed(3), hidden=16, **kw)


@pytest.mark.parametrize("condition", ["error", "delta"])
def test_sb_credit_is_the_predictor_vjp(condition: str) -> None:
    """a_l = J_Pᵀ δ_L with J_P = ∂P(h_l, t_l, s)/∂h_l, then â = a/(RMS(a) + 1e-6)."""
    model = _model()
    x, y = _batch()
    raw = _sb(model, condition=condition, normalize=False)
    normed = _sb(model, condition=condition)
    logits, hs = model(x, return_hidden=True)
    _, delta = head_gradient(model, hs[-1], y)
    s = output_error(logits, y) if condition == "error" else delta
    a_raw, a_norm = raw.credits(model, x, y), normed.credits(model, x, y)
    assert len(a_raw) == 4
    for layer, h in enumerate(hs):
        _, vjp = torch.autograd.functional.vjp(
            lambda h_, layer=layer: raw.net(h_, layer, s), h.detach(), delta
        )
        torch.testing.assert_close(a_raw[layer], vjp)
        torch.testing.assert_close(a_norm[layer], rms_normalize(vjp))
        rms = a_norm[layer].pow(2).mean(-1).sqrt()
        torch.testing.assert_close(rms, torch.ones_like(rms), atol=1e-3, rtol=0)


def test_cb_credit_is_the_value_gradient() -> None:
    model = _model()
    x, y = _batch()
    cb = _cb(model, normalize=False)
    logits, hs = model(x, return_hidden=True)
    s = output_error(logits, y)
    for layer, (a, h) in enumerate(zip(cb.credits(model, x, y), hs, strict=True)):
        h = h.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(cb.net(h, layer, s).sum(), h)
        torch.testing.assert_close(a, g)


def test_cb_terminal_gradient_matches_delta_after_matching() -> None:
    """Minimizing only the terminal gradient-matching loss makes ∇_h V(h_L) = δ_L."""
    model = _model()
    x, y = _batch(8)
    cb = _cb(model, normalize=False, tgw=1.0, value_weight=0.0, consistency=0.0)
    fwd = unit_forward(model, x, local=True)
    _, delta = head_gradient(model, fwd.hs[-1], y)

    def mismatch() -> float:
        a_last = cb.credits(model, x, y)[-1]
        return ((a_last - delta).norm() / delta.norm()).item()

    before = mismatch()
    opt = torch.optim.Adam(cb.net.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        _, loss = cb.bridge(model, fwd, y, train=True)
        loss.backward()
        opt.step()
    after = mismatch()
    assert before > 0.5 and after < 0.05, (before, after)


def test_feedback_and_main_network_do_not_share_gradients() -> None:
    """The main network gets exactly the block-local gradients of the (detached, normalized)
    credits; the feedback net gets exactly the gradient of its own losses."""
    for make in (_sb, _cb):
        model = _model()
        x, y = _batch()
        method = make(model)
        method.begin_epoch(5, 5)  # past warm-up
        state = {k: v.clone() for k, v in method.state_dict().items()}
        method.loss(model, x, y)[0].backward()
        got_model = {n: p.grad.clone() for n, p in model.named_parameters()}
        got_net = {n: p.grad.clone() for n, p in method.net.named_parameters()}
        model.zero_grad()
        method.net.zero_grad()
        method.load_state_dict(state)  # CB's EMA target moved during the loss: put it back

        fwd = unit_forward(model, x, local=True)
        credits = method.credits(model, x, y)
        block_local_loss(fwd, credits, y)[0].backward()
        for n, p in method.net.named_parameters():
            assert p.grad is None, n  # the block-local loss does not reach the net
        for n, p in model.named_parameters():
            torch.testing.assert_close(p.grad, got_model[n], msg=n)
        model.zero_grad()
        method.load_state_dict(state)
        method._noise_gen = None  # CB: replay the same noise draws
        _, net_loss = method.bridge(model, unit_forward(model, x, local=True), y, train=True)
        net_loss.backward()
        for n, p in model.named_parameters():
            assert p.grad is None, n  # the net's losses do not reach the main network
        for n, p in method.net.named_parameters():
            torch.testing.assert_close(p.grad, got_net[n], msg=n)


def test_dfa_warmup_schedule_and_credit() -> None:
    model = _model()
    x, y = _batch()
    cb = _cb(model)  # warm-up 0.2 by default
    warm = []
    for epoch in range(1, 11):
        cb.begin_epoch(epoch, 10)
        warm.append(cb.warm)
    assert warm == [True, True] + [False] * 8
    cb.begin_epoch(1, 8)  # 0.2·8 = 1.6: epochs 1 and 2
    assert cb.warm
    cb.begin_epoch(3, 8)
    assert not cb.warm

    cb.begin_epoch(1, 10)
    cb.loss(model, x, y)[0].backward()
    got = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    fwd = unit_forward(model, x, local=True)
    e = torch.softmax(fwd.logits, -1) - F.one_hot(y, 5).double()
    dfa = [rms_normalize(e @ getattr(cb, f"B{i}").T) for i in range(4)]
    block_local_loss(fwd, dfa, y)[0].backward()
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, got[n], msg=n)
    # a rebuilt method (from a checkpoint) is past warm-up; SB has no warm-up by default
    assert not _cb(model).warm
    sb = _sb(model)
    sb.begin_epoch(1, 10)
    assert not sb.warm


def test_ema_target_and_determinism() -> None:
    model = _model()
    cb = _cb(model, ema=0.9)
    for p, pt in zip(cb.net.parameters(), cb.target.parameters(), strict=True):
        assert torch.equal(p, pt) and not pt.requires_grad
    with torch.no_grad():
        for p in cb.net.parameters():
            p.add_(1.0)
    before = [pt.clone() for pt in cb.target.parameters()]
    cb.update_target()
    for b, pt in zip(before, cb.target.parameters(), strict=True):
        torch.testing.assert_close(pt, b + 0.1)
    assert {id(p) for p in cb.trainable_parameters(model)}.isdisjoint(
        id(p) for p in cb.target.parameters()
    )
    # the net's init comes from the feedback stream, not from the global RNG
    torch.manual_seed(123)
    a = _cb(model).state_dict()
    torch.manual_seed(456)
    b = _cb(model).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = CreditBridge(model, 5, torch.Generator().manual_seed(4), hidden=16).state_dict()
    assert not torch.equal(a["net.inp.0.weight"], c["net.inp.0.weight"])


def test_bridges_on_unequal_widths() -> None:
    """SmallCNN's h_l differ in width: one input layer per layer, one shared trunk."""
    torch.manual_seed(0)
    model = SmallCNN(3 * 8 * 8, 4, width=2, fc=8)
    x, y = torch.randn(5, 192), torch.randint(4, (5,))
    for cls in (StateBridge, CreditBridge):
        method = cls(model, 4, torch.Generator().manual_seed(0), hidden=8)
        assert len(method.net.inp) == 4 and not method.net.shared
        model.eval()
        credits = method.credits(model, x, y)
        assert [a.shape[1] for a in credits] == model.widths
        model.train()
        loss, _ = method.loss(model, x, y)
        loss.backward()
        assert all(p.grad is not None for p in method.net.trunk.parameters())


def test_separate_gradient_clipping() -> None:
    model = _model()
    x, y = _batch()
    sb = _sb(model)
    sb.loss(model, x, y)[0].backward()
    sb.clip_gradients(model, 1e-3)
    for params in ([p for p in model.parameters()], list(sb.net.parameters())):
        norm = torch.cat([p.grad.flatten() for p in params]).norm()
        assert norm <= 1e-3 * (1 + 1e-6)


@pytest.mark.parametrize("tgw", [0.0, 1.0])
@pytest.mark.parametrize("arch", ["resmlp", "cnn"])
def test_cb_trains_with_and_without_gradient_matching(tgw: float, arch: str) -> None:
    torch.manual_seed(0)
    if arch == "cnn":
        model, x = SmallCNN(3 * 8 * 8, 5, width=2, fc=8), torch.randn(6, 192)
        y = torch.randint(5, (6,))
    else:
        model = _model()
        x, y = _batch()
    cb = CreditBridge(model, 5, torch.Generator().manual_seed(0), hidden=8, tgw=tgw)
    loss, _ = cb.loss(model, x, y)
    loss.backward()
    assert all(p.grad is not None for p in cb.net.parameters())
