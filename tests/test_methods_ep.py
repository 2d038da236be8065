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


def _model(act: str = "tanh", **kw: object) -> ResMLP:
    torch.manual_seed(0)
    return ResMLP(5, 3, d=8, blocks=2, hidden=8, act=act, **kw).double()  # type: ignore[arg-type]


def _batch(n: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 5, generator=g, dtype=torch.float64), torch.randint(3, (n,), generator=g)


def _ep(model: ResMLP, **opts: object) -> EP:
    kw = {"free_steps": 1200, "nudged_steps": 800, "nudge": "one_sided", "tol": 1e-13, **opts}
    kw.setdefault("nudged_tol", 1e-10)
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
    with ep.energy_view(model):
        return _implicit(model, ep, x, y, e, s_free)


def _implicit(
    model: ResMLP, ep: EP, x: torch.Tensor, y: torch.Tensor, e: torch.Tensor, s_free: list
) -> list[torch.Tensor]:
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
    with ep.energy_view(model):
        few, info = ep.relax(model, e, s0, y, 0.0, 5)
    assert info.steps == 5 and not info.converged.any()
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


ACTS = ("relu", "tanh", "gelu", "phi")  # every activation EP accepts; the default first


@pytest.mark.parametrize("act", ACTS)
def test_ep_theorem_on_every_activation(act: str) -> None:
    """Default options (ReLU: the softplus surrogate inside the energy): converged one-sided
    phases at β = 1e-3 give the implicit gradient of the smoothed network to < 1e-2."""
    model = _model(act)
    x, y = _batch()
    truth = implicit_gradient(model, _ep(model), x, y)
    err = rel_error(ep_gradient(model, _ep(model, beta=1e-3), x, y), truth)
    assert err < 1e-2, err


def fd_directional(
    model: ResMLP, ep: EP, x: torch.Tensor, y: torch.Tensor, dirs: list[list[torch.Tensor]]
) -> torch.Tensor:
    """Central differences of L(θ) = mean CE(head(s*(θ))) along each direction, the free phase
    re-relaxed at θ ± εu: no implicit function theorem, no EP formula."""
    params = [p for _, p in _non_head(model)]
    eps, out = 1e-5, []
    for u in dirs:
        vals = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for p, v in zip(params, u, strict=True):
                    p.add_(sign * eps * v)
            s_last = ep.free_equilibrium(model, x, y)[1][-1]
            with ep.energy_view(model):
                vals.append(F.cross_entropy(model.head_logits(s_last), y).item())
            with torch.no_grad():
                for p, v in zip(params, u, strict=True):
                    p.sub_(sign * eps * v)
        out.append((vals[0] - vals[1]) / (2 * eps))
    return torch.tensor(out, dtype=torch.float64)


def test_ep_on_the_default_relu_network_matches_finite_differences() -> None:
    """The issue's reference on the default activation: the EP update (converged phases,
    β → 0) against central finite differences with re-relaxation, along random directions."""
    model = _model("relu")
    x, y = _batch()
    g = torch.Generator().manual_seed(3)
    params = [p for _, p in _non_head(model)]
    dirs = [[torch.randn(p.shape, generator=g, dtype=p.dtype) for p in params] for _ in range(6)]
    fd = fd_directional(model, _ep(model), x, y, dirs)
    for opts in ({"beta": 1e-3}, {"beta": 1e-2, "nudge": "centred"}):
        grad = ep_gradient(model, _ep(model, **opts), x, y)
        proj = torch.tensor(
            [sum((a * b).sum() for a, b in zip(grad, u, strict=True)) for u in dirs]
        )
        cos = float(proj @ fd / (proj.norm() * fd.norm()))
        assert cos > 0.999 and 0.98 < float(proj.norm() / fd.norm()) < 1.02, (opts, cos)


def test_smooth_surrogate_stays_inside_the_energy() -> None:
    """softplus_s lies within log(2)/s above ReLU; the model keeps its ReLU outside EP's
    energy (its feedforward pass, hence every metric, is the network as built)."""
    from faspec.train.methods.ep import SmoothReLU

    z = torch.linspace(-3, 3, 101, dtype=torch.float64)
    gap = SmoothReLU(10.0)(z) - torch.relu(z)
    assert gap.min() > 0 and gap.max() <= torch.log(torch.tensor(2.0)) / 10 + 1e-15
    torch.testing.assert_close(SmoothReLU(4.0)(z), F.softplus(z, beta=4.0))
    model = _model("relu")
    x, y = _batch()
    before = model(x)
    ep = _ep(model, free_steps=5, nudged_steps=3)
    ep.loss(model, x, y)[0].backward()
    assert all(isinstance(b.act, torch.nn.ReLU) for b in model.blocks)
    torch.testing.assert_close(model(x), before)
    with ep.energy_view(model):
        assert not torch.allclose(model(x), before)  # the energy's network is the smoothed one


@pytest.mark.parametrize("arch", ["skip", "no_skip"])
def test_every_solver_reaches_the_same_equilibrium(arch: str) -> None:
    """A solver changes how E is minimised, never what: gd, chain and lbfgs land on the same
    free and nudged states (float64, residual < 1e-8): the default ReLU network (smoothed) with
    its skip, tanh without (where plain gradient steps crawl on the smoothed ReLU)."""
    model = _model("relu" if arch == "skip" else "tanh", skip=arch == "skip")
    x, y = _batch()
    got = {}
    for solver in ("gd", "chain", "lbfgs"):
        ep = _ep(model, solver=solver, nudge="centred", beta=0.2, free_steps=3000, tol=1e-8)
        e, s_free, plus, minus = ep.phases(model, x, y)
        assert ep.last_free is not None and ep.last_free.converged.all(), solver
        got[solver] = s_free + plus + minus
    for solver in ("chain", "lbfgs"):
        for a, b in zip(got[solver], got["gd"], strict=True):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_lbfgs_needs_fewer_energy_gradients_than_gradient_descent() -> None:
    """The point of the default solver: at the same number of steps (one energy gradient
    each), a much smaller residual, on a default-sized ReLU network in float32 as in training."""
    torch.manual_seed(0)
    model = ResMLP(16, 10, d=64, blocks=3)
    x, y = torch.randn(64, 16), torch.randint(10, (64,))
    median = {}
    for solver in ("gd", "lbfgs"):
        ep = EP(model, 10, torch.Generator(), solver=solver, tol=0.0)
        ep.free_equilibrium(model, x, y, steps=20)
        assert ep.last_free is not None and ep.last_free.steps == 20
        median[solver] = float(ep.last_free.residual.median())
    assert 5 * median["lbfgs"] < median["gd"], median


def test_an_unknown_solver_is_refused() -> None:
    cfg = {"method": {"name": "ep", "solver": "newton"}, "model": {"arch": "resmlp"}}
    with pytest.raises(ConfigError) as err:
        normalize_config({**cfg, "data": {"name": "teacher"}})
    assert err.value.path == "method.solver" and "lbfgs" in str(err.value), str(err.value)


def test_centred_phases_are_batched_exactly() -> None:
    """The ±β phases relaxed as one stacked batch (each pair sharing its step decisions) reach
    the same states as the two relaxations run apart."""
    model = _model("relu")
    x, y = _batch()
    ep = _ep(model, nudge="centred", beta=0.3, nudged_steps=400, nudged_tol=1e-12)
    e, s_free = ep.free_equilibrium(model, x, y)
    plus, minus = ep.nudged(model, e, s_free, y)
    hist = ep.free_history  # L-BFGS: both start from the free phase's curvature pairs
    assert hist
    with ep.energy_view(model):
        want_p, _ = ep.relax(model, e, s_free, y, 0.3, 400, 1e-13, hist)
        want_m, _ = ep.relax(model, e, s_free, y, -0.3, 400, 1e-13, hist)
    for a, b in zip(plus + minus, want_p + want_m, strict=True):
        torch.testing.assert_close(a, b, atol=1e-9, rtol=1e-7)


def test_nudged_phases_stop_relative_to_the_nudge() -> None:
    """The nudged phases stop once each sample's residual < nudged_tol × its starting residual
    (an absolute tol near the O(β) nudge would stop them at once), before the cap."""
    model = _model("relu")
    x, y = _batch()
    ep = _ep(model, nudge="centred", beta=0.01, nudged_steps=400, nudged_tol=0.05)
    e, s_free = ep.free_equilibrium(model, x, y)
    with ep.energy_view(model):
        start = ep.sample_residual(s_free, ep.grad_states(model, e, s_free, y, 0.01)[1])
    ep.nudged(model, e, s_free, y)
    info = ep.last_nudged
    assert info is not None and info.converged.all() and 1 < info.steps < 400
    assert (info.residual[: len(x)] < 0.05 * start).all()
    assert start.min() > 1e-6  # the nudge itself: far above the free phase's 1e-13


def test_phases_stop_at_the_tolerance_and_report_the_cap() -> None:
    model = _model("relu")
    x, y = _batch()
    loose = _ep(model, tol=1e-4)
    loose.free_equilibrium(model, x, y)
    assert loose.last_free is not None and loose.last_free.converged.all()
    assert 0 < loose.last_free.steps < 1200 and loose.last_free.residual.max() < 1e-4
    capped = _ep(model, free_steps=3)
    capped.free_equilibrium(model, x, y)
    assert capped.last_free is not None and capped.last_free.steps == 3
    assert capped.extra_metrics(model, x, y)["ep_converged"].item() == 0.0


@pytest.mark.parametrize(
    ("model", "where"),
    [({"arch": "resmlp", "d": 16, "blocks": 2}, "model.act"), ({"arch": "cnn"}, "method.smooth")],
)
def test_relu_without_the_smooth_surrogate_is_refused(model: dict, where: str) -> None:
    data = {"name": "cifar_synth"} if model["arch"] == "cnn" else {"name": "teacher"}
    cfg = {"method": {"name": "ep", "smooth": "none"}, "model": model, "data": data}
    with pytest.raises(ConfigError) as err:
        normalize_config(cfg)
    assert err.value.path == where and "softplus" in str(err.value), str(err.value)
    ok = {**cfg, "model": {**model, "act": "tanh"}} if model["arch"] == "resmlp" else None
    if ok is not None:
        assert normalize_config(ok)["method"]["smooth"] == "none"


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
    nudged, _ = ep.relax(model, e, s_free, y, 1e-2, ep.nudged_steps)
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
    assert all(0.0 <= e["ep_converged"] <= 1.0 for e in res["log"])
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
    forward pass of the smoothed network does (the relaxation runs on the running statistics and leaves them alone)."""
    from faspec.train.models import SmallCNN

    torch.manual_seed(0)
    model = SmallCNN(3 * 8 * 8, 4, width=2, fc=8)
    ref = SmallCNN(3 * 8 * 8, 4, width=2, fc=8)
    ref.load_state_dict(model.state_dict())
    x, y = torch.randn(16, 192), torch.randint(4, (16,))
    ep = EP(model, 4, torch.Generator(), free_steps=3, nudged_steps=2)
    loss, _ = ep.loss(model, x, y)
    loss.backward()
    from faspec.train.methods.ep import smoothed

    with smoothed(ref, ep.sharpness):  # the start is the energy's (smoothed) feedforward pass
        ref(x)
    assert model.training
    for (k, a), b in zip(model.state_dict().items(), ref.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


def _briefly_trained(d: int, blocks: int) -> tuple[ResMLP, torch.Tensor, torch.Tensor]:
    """A default ResMLP (relu, pre-LN, terminal LN) after 30 BP steps off its init (an update
    at init is atypical), float64, and its batch of 8."""
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = ResMLP(6, 3, d=d, blocks=blocks).double()
    x, y = torch.randn(8, 6, generator=g, dtype=torch.float64), torch.randint(3, (8,), generator=g)
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(30):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return model, x, y


def _body_cos_and_ratio(nudged_steps: int | None = None) -> tuple[float, float]:
    model, x, y = _briefly_trained(16, 3)
    ref = implicit_gradient(model, _ep(model), x, y)  # converged s*, Hessian checked PD
    opts = {} if nudged_steps is None else {"nudged_steps": nudged_steps}
    got = ep_gradient(model, EP(model, 3, torch.Generator(), **opts), x, y)  # shipped defaults
    a = torch.cat([t.flatten() for t in got])
    b = torch.cat([t.flatten() for t in ref])
    return float(a @ b / (a.norm() * b.norm())), float(a.norm() / b.norm())


def test_shipped_defaults_estimate_the_body_gradient() -> None:
    """At the shipped defaults (caps, β, tol, nudged_tol, solver) on the default relu network,
    the body's update (every parameter but out_ln and the head) points along the true
    gradient and has its size: truncated nudged phases shrink it toward zero."""
    cos, ratio = _body_cos_and_ratio()
    assert cos >= 0.9 and 0.8 <= ratio <= 1.25, (cos, ratio)
    cos, ratio = _body_cos_and_ratio(nudged_steps=5)  # v4's cap: the check can fail
    assert not (cos >= 0.9 and 0.8 <= ratio <= 1.25), (cos, ratio)
