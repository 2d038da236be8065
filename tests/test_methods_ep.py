"""EP's defining properties on tiny float64 networks.

* The free phase reaches a stationary point of E (residual below a tolerance).
* The EP theorem: with converged phases, the surrogate's parameter gradient tends to the gradient
  of the batch-mean CE at the free equilibrium as β → 0 — O(β) one-sided, O(β²) centred. The
  ground truth is computed independently by implicit differentiation (Hessian solve).
* The credit is the notes' state difference; EP learns the embedded task above chance; the
  architectures it does not implement are refused with a message.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from faspec.train import ConfigError, normalize_config, run
from faspec.train.methods import EP
from faspec.train.models import ResMLP

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def _model(**kw: object) -> ResMLP:
    torch.manual_seed(0)
    return ResMLP(5, 3, d=8, blocks=2, hidden=8, act="tanh", **kw).double()  # type: ignore[arg-type]


def _batch(n: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 5, generator=g, dtype=torch.float64), torch.randint(3, (n,), generator=g)


def _ep(model: ResMLP, **opts: object) -> EP:
    kw = {"free_steps": 1200, "nudged_steps": 800, "nudge": "one_sided", **opts}
    return EP(model, 3, torch.Generator(), **kw)  # type: ignore[arg-type]


def _non_head(model: ResMLP) -> list[tuple[str, torch.nn.Parameter]]:
    return [(k, p) for k, p in model.named_parameters() if not k.startswith(("head", "out_ln"))]


def implicit_gradient(
    model: ResMLP, ep: EP, x: torch.Tensor, y: torch.Tensor
) -> list[torch.Tensor]:
    """dL/dθ of L = mean CE(head(s*)) for the non-head parameters, by implicit differentiation:
    H λ = ∂L/∂s at s*, dL/dθ = −∂/∂θ ⟨∂E/∂s(s*, θ), λ⟩ (H = ∂²E/∂s², checked positive
    definite, so s* is a strict minimum)."""
    e, s_free = ep.free_equilibrium(model, x, y)
    shapes = [t.shape for t in s_free]
    sizes = [t.numel() for t in s_free]

    def unflat(v: torch.Tensor) -> list[torch.Tensor]:
        return [c.reshape(sh) for c, sh in zip(v.split(sizes), shapes, strict=True)]

    flat = torch.cat([t.flatten() for t in s_free])
    e0 = e  # the embedding the energy uses (BatchNorm on running statistics)
    hess = torch.autograd.functional.hessian(
        lambda v: ep.energy(model, e0, unflat(v), y, 0.0), flat
    )
    assert torch.linalg.eigvalsh(hess).min() > 0
    s = flat.clone().requires_grad_(True)
    (dl,) = torch.autograd.grad(F.cross_entropy(model.head_logits(unflat(s)[-1]), y), s)
    lam = torch.linalg.solve(hess, dl)
    s = flat.clone().requires_grad_(True)
    with torch.no_grad():
        torch.testing.assert_close(model.embed(x), e0)  # eval mode: the same embedding
    e_graph = model.embed(x)
    energy = ep.energy(model, e_graph, unflat(s), y, 0.0)
    (ds,) = torch.autograd.grad(energy, s, create_graph=True)
    params = [p for _, p in _non_head(model)]
    return [-g for g in torch.autograd.grad((ds * lam).sum(), params)]


def ep_gradient(model: ResMLP, ep: EP, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    model.zero_grad()
    loss, _ = ep.loss(model, x, y)
    loss.backward()
    return [p.grad.clone() for _, p in _non_head(model)]


def rel_error(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    num = torch.sqrt(sum((u - v).pow(2).sum() for u, v in zip(a, b, strict=True)))
    den = torch.sqrt(sum(v.pow(2).sum() for v in b))
    return float(num / den)


def test_free_phase_reaches_a_stationary_point() -> None:
    model = _model()
    x, y = _batch()
    ep = _ep(model)
    e, s0 = ep.initial_states(model, x)
    start = ep.residual(model, e, s0).item()
    _, s_free = ep.free_equilibrium(model, x, y)
    assert start > 1e-2  # the feedforward pass is not the equilibrium
    assert ep.residual(model, e, s_free).item() < 1e-12
    few = ep.relax(model, e, s0, y, 0.0, 5)
    assert 1e-12 < ep.residual(model, e, few).item() < start  # it converges, and not at once
    # extra_metrics reports the same residual
    assert ep.extra_metrics(model, x, y)["ep_residual"].item() < 1e-12


def test_free_phase_from_zeros_reaches_the_same_equilibrium() -> None:
    model = _model()
    x, y = _batch()
    a = _ep(model).free_equilibrium(model, x, y)[1]
    b = _ep(model, start="zeros").free_equilibrium(model, x, y)[1]
    for u, v in zip(a, b, strict=True):
        torch.testing.assert_close(u, v, atol=1e-9, rtol=0)


def test_ep_theorem_one_sided_is_first_order_in_beta() -> None:
    model = _model()
    x, y = _batch()
    truth = implicit_gradient(model, _ep(model), x, y)
    coarse = rel_error(ep_gradient(model, _ep(model, beta=1e-2), x, y), truth)
    fine = rel_error(ep_gradient(model, _ep(model, beta=1e-3), x, y), truth)
    assert fine < 1e-2, (coarse, fine)
    assert 5 < coarse / fine < 20, (coarse, fine)


def test_ep_theorem_centred_is_second_order_in_beta() -> None:
    model = _model()
    x, y = _batch()
    truth = implicit_gradient(model, _ep(model), x, y)
    coarse = rel_error(ep_gradient(model, _ep(model, beta=2e-2, nudge="centred"), x, y), truth)
    fine = rel_error(ep_gradient(model, _ep(model, beta=2e-3, nudge="centred"), x, y), truth)
    one = rel_error(ep_gradient(model, _ep(model, beta=2e-2), x, y), truth)
    assert fine < 1e-4 and coarse < one / 10, (coarse, fine, one)
    assert 50 < coarse / fine < 200, (coarse, fine)


def test_ep_theorem_without_skip() -> None:
    model = _model(skip=False, terminal_ln=False)
    x, y = _batch()
    truth = implicit_gradient(model, _ep(model), x, y)
    err = rel_error(ep_gradient(model, _ep(model, beta=1e-3, nudge="centred"), x, y), truth)
    assert err < 1e-4, err


def test_head_gets_the_ordinary_gradient_at_the_equilibrium() -> None:
    model = _model()
    x, y = _batch()
    ep = _ep(model)
    s_free = ep.free_equilibrium(model, x, y)[1]
    model.zero_grad()
    F.cross_entropy(model.head_logits(s_free[-1]), y).backward()
    want = [p.grad.clone() for p in model.head.parameters()]
    model.zero_grad()
    ep.loss(model, x, y)[0].backward()
    for p, w in zip(model.head.parameters(), want, strict=True):
        torch.testing.assert_close(p.grad, w)


def test_credit_is_the_state_difference_and_prediction_reads_the_equilibrium() -> None:
    model = _model()
    x, y = _batch()
    ep = _ep(model, beta=1e-2)
    e, s_free = ep.free_equilibrium(model, x, y)
    nudged = ep.relax(model, e, s_free, y, 1e-2, ep.nudged_steps)
    for a, sb, sf in zip(ep.credits(model, x, y), nudged, s_free, strict=True):
        torch.testing.assert_close(a, -(sb - sf) / 1e-2)
    torch.testing.assert_close(ep.predict(model, x), model.head_logits(s_free[-1]))
    ff = _ep(model, predict="feedforward")
    torch.testing.assert_close(ff.predict(model, x), model(x))
    assert not torch.allclose(ep.predict(model, x), model(x))


@pytest.mark.parametrize(
    ("model", "arch"),
    [({"arch": "vit", "d": 16, "patch": 8, "heads": 2}, "vit")],
)
def test_unsupported_architectures_are_refused(model: dict, arch: str) -> None:
    with pytest.raises(ConfigError) as err:
        normalize_config({"method": "ep", "model": model, "data": {"name": "cifar_synth"}})
    assert "method.name" in str(err.value) and arch in str(err.value)
    assert "resmlp" in str(err.value)


def test_ep_learns_the_embedded_task_above_chance() -> None:
    """Default options (centred nudging), short phases, a tiny net: well above chance (0.1)."""
    cfg = {
        "method": {"name": "ep", "free_steps": 20, "nudged_steps": 10},
        "model": {"arch": "resmlp", "d": 16, "blocks": 2},
        "data": {"name": "teacher_balanced", "n_train": 2048, "n_test": 512},
        "train": {"epochs": 5, "lr": 1e-2},
        "measure": {"epochs": "all", "eval_batch": 256, "rho_dirs": 2, "rho_batch": 32},
        "seed": 1,
    }
    res = run(cfg, device="cpu").result
    assert res["status"] == "ok"
    first, last = res["log"][0], res["log"][-1]
    assert first["test_acc"] < 0.2 and last["test_acc"] > 0.35, [e["test_acc"] for e in res["log"]]
    assert all(e["ep_residual"] < 0.2 for e in res["log"])  # the free phase stays near rest
    assert last["deep_cos"] is not None and last["cos_layers"] is not None


def _cnn() -> torch.nn.Module:
    from faspec.train.models import SmallCNN

    torch.manual_seed(0)
    return SmallCNN(3 * 8 * 8, 3, width=2, fc=6).double().eval()


def test_ep_theorem_on_the_small_cnn() -> None:
    """SmallCNN: BatchNorm with running statistics inside the energy, no skip; the same
    theorem holds (one-sided, O(β))."""
    model = _cnn()
    g = torch.Generator().manual_seed(2)
    x = torch.randn(3, 3 * 8 * 8, generator=g, dtype=torch.float64)
    y = torch.randint(3, (3,), generator=g)
    ep = _ep(model)
    e, s0 = ep.initial_states(model, x)
    assert ep.residual(model, e, ep.free_equilibrium(model, x, y)[1]).item() < 1e-10
    truth = implicit_gradient(model, ep, x, y)
    err = rel_error(ep_gradient(model, _ep(model, beta=1e-3), x, y), truth)
    assert err < 1e-2, err


def test_training_step_moves_batchnorm_statistics_once() -> None:
    """One EP step on SmallCNN updates BN's running statistics exactly as one training-mode
    forward pass does (the relaxation runs on the running statistics and leaves them alone)."""
    from faspec.train.models import SmallCNN

    torch.manual_seed(0)
    model = SmallCNN(3 * 8 * 8, 4, width=2, fc=8)
    ref = SmallCNN(3 * 8 * 8, 4, width=2, fc=8)
    ref.load_state_dict(model.state_dict())
    x, y = torch.randn(16, 192), torch.randint(4, (16,))
    ep = EP(model, 4, torch.Generator(), free_steps=3, nudged_steps=2)
    loss, _ = ep.loss(model, x, y)
    loss.backward()
    ref(x)
    assert model.training
    for (k, a), b in zip(model.state_dict().items(), ref.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
