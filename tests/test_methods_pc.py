"""PC (predictive coding): the free phase is the energy minimum, the nudged credit tends to BP.

The tests run tiny float64 networks relaxed to a fixed point, so that what they see is PC's
defining property and not noise from unfinished relaxation.
"""

from __future__ import annotations

import pytest
import torch

from faspec.train.methods import PC, exact_gradients, unit_forward
from faspec.train.models import ResMLP, SmallCNN

STEPS = 400  # enough to relax the 2-block chain to float64 precision at step 0.3


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def _model(**kw: object) -> ResMLP:
    torch.manual_seed(0)
    return ResMLP(9, 5, d=10, blocks=2, hidden=8, **kw).double()  # type: ignore[arg-type]


def _batch(n: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 9, generator=g, dtype=torch.float64), torch.randint(5, (n,), generator=g)


def _rel_errors(model: ResMLP, beta: float, **opts: object) -> list[float]:
    x, y = _batch()
    true = exact_gradients(model, x, y, reduction="sum")[2]  # per-sample ∂CE_i/∂h_l
    ep = PC(model, 5, torch.Generator(), beta=beta, steps=STEPS, step_size=0.3, **opts)
    credits = ep.credits(model, x, y)
    return [((a - g).norm() / g.norm()).item() for a, g in zip(credits, true, strict=True)]


@pytest.mark.parametrize("kw", [{}, {"terminal_ln": False}, {"act": "tanh"}])
def test_error_credit_tends_to_bp_gradient_as_beta_vanishes(kw: dict) -> None:
    """At a relaxed fixed point ε_l = J_lᵀ ε_{l+1}, ε_L = −β ∂CE/∂h_L: −ε_l/β = g_l + O(β)."""
    model = _model(**kw)
    coarse = _rel_errors(model, 1e-2, credit="error")
    fine = _rel_errors(model, 1e-3, credit="error")
    assert max(fine) < 5e-3, fine
    for c, f in zip(coarse, fine, strict=True):  # first order in β
        assert 5 < c / f < 20


def test_centred_nudging_is_second_order() -> None:
    model = _model(act="tanh")  # smooth: a ReLU kink crossed by the ±β nudge spoils O(β²)
    one = _rel_errors(model, 1e-2, credit="error")
    centred = _rel_errors(model, 1e-2, credit="error", nudge="centred")
    assert max(centred) < 1e-3 and max(centred) < min(one) / 10


def test_clamped_h0_gets_the_force_as_credit() -> None:
    """With h_0 clamped, a_0 = ∂E/∂h_0 / β, which tends to g_0 as well."""
    errs = _rel_errors(_model(), 1e-3, credit="error", clamp_h0=True)
    assert max(errs) < 5e-3, errs


def test_state_credit_is_the_state_difference() -> None:
    """The notes' credit −(h^β − h^free)/β: exact at h_0 (the bottom of the chain: Δh_0 = ε_0),
    biased above, because a state difference accumulates the errors of the layers below."""
    model = _model()
    x, y = _batch()
    ep = PC(model, 5, torch.Generator(), beta=1e-3, steps=STEPS, step_size=0.3)
    fwd = unit_forward(model, x, local=True)
    e0, h_free = fwd.units[0].detach(), [h.detach() for h in fwd.hs]
    nudged = ep.relax(model, e0, h_free, y, 1e-3)
    credits = ep.credits(model, x, y)
    for a, hb, hf in zip(credits, nudged, h_free, strict=True):
        torch.testing.assert_close(a, -(hb - hf) / 1e-3)
    errs = _rel_errors(model, 1e-3)  # default credit: state
    assert errs[0] < 5e-3 and max(errs[1:]) > 0.1

    clamped = PC(model, 5, torch.Generator(), beta=1e-3, steps=50, clamp_h0=True)
    assert torch.equal(clamped.credits(model, x, y)[0], torch.zeros_like(h_free[0]))


def test_free_phase_is_the_energy_minimum() -> None:
    model = _model()
    x, y = _batch()
    ep = PC(model, 5, torch.Generator())
    fwd = unit_forward(model, x, local=True)
    e0, h_free = fwd.units[0].detach(), [h.detach() for h in fwd.hs]
    assert ep.energy(model, e0, h_free, y, 0.0).item() == 0.0
    for a, b in zip(ep.relax(model, e0, h_free, y, 0.0), h_free, strict=True):
        assert torch.equal(a, b)
    # nudging lowers the training loss of the nudged state
    nudged = ep.relax(model, e0, h_free, y, 0.5)
    ce = torch.nn.functional.cross_entropy
    assert ce(model.head_logits(nudged[-1]), y) < ce(model.head_logits(h_free[-1]), y)


def test_relaxation_leaves_batchnorm_statistics_alone() -> None:
    """One training step of EP moves BN's running statistics exactly as one forward pass."""
    torch.manual_seed(0)
    model = SmallCNN(3 * 8 * 8, 4, width=2, fc=8)
    ref = SmallCNN(3 * 8 * 8, 4, width=2, fc=8)
    ref.load_state_dict(model.state_dict())
    x, y = torch.randn(16, 192), torch.randint(4, (16,))
    ep = PC(model, 4, torch.Generator(), steps=5)
    loss, _ = ep.loss(model, x, y)
    loss.backward()  # the graph of the free phase is intact
    ref(x)
    for (k, a), b in zip(model.state_dict().items(), ref.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


def test_credit_tends_to_bp_as_the_relaxation_converges() -> None:
    """PC's defining property: the error credit's distance to BP's gradient shrinks as the
    relaxation runs longer (each step carries the exact VJP one layer further down), until
    only the O(β) term is left."""
    model = _model(act="tanh")
    x, y = _batch()
    true = exact_gradients(model, x, y, reduction="sum")[2]

    def err(steps: int) -> float:
        pc = PC(model, 5, torch.Generator(), beta=1e-3, steps=steps, step_size=0.3, credit="error")
        a = pc.credits(model, x, y)
        return max(((c - g).norm() / g.norm()).item() for c, g in zip(a, true, strict=True))

    errs = [err(t) for t in (1, 5, 25, 400)]
    assert all(b < a for a, b in zip(errs, errs[1:], strict=False)), errs
    assert errs[0] > 0.5 and errs[-1] < 5e-3, errs
