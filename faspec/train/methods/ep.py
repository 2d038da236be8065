"""EP: equilibrium propagation (Scellier & Bengio 2017) on the arch contract's chains of units.

The states s_0..s_L are free variables, one per hidden state of the arch contract (s_0 in the
place of h_0, s_{l+1} in the place of h_{l+1}); x is clamped. With e(x) = embed(x),
F_l(s) = combine(s, block_l(s)) (= s + f_l(s) with a skip, f_l(s) without) and κ = `self_weight`:

    E(s; β) = Σ_n (κ/2)‖s_n‖² − ⟨s_0, e(x)⟩ − Σ_l ⟨s_{l+1}, F_l(s_l)⟩ + β·Σ_i CE(head(s_L)_i, y_i)

summed over the batch (samples do not interact: the blocks' LayerNorm is per sample). Its
stationary condition couples every layer to the one below through F and to the one above
through the *transpose* of F's Jacobian (symmetric feedback):

    κ s_0 = e(x) + J_{F_0}(s_0)ᵀ s_1,
    κ s_n = F_{n−1}(s_{n−1}) + J_{F_n}(s_n)ᵀ s_{n+1},
    κ s_L = F_{L−1}(s_{L−1}) − β ∂CE/∂s_L.

Why κ = 2 by default: with the identity skip the quadratic part of E is a chain whose Hessian
has κ on the diagonal and −1 beside it; its eigenvalues are κ − 2cos(kπ/(L+2)), all positive
for κ ≥ 2 and some negative for κ = 1 (the free phase then runs away). The price: the free
equilibrium is not the feedforward pass (with f = 0 it is s_n = e·(L+1−n)/(L+2)), so EP trains
an energy-based (Hopfield-like) network built from the same parameters, not the feedforward
MLP. docs/methods.md says so next to the figures.

Smoothing. With ReLU the energy is only piecewise smooth, its minima sit on the kinks and the
EP theorem (which needs a C² energy) fails. With `smooth: softplus` (default) every ReLU of the
model is replaced, inside the energy only (`energy_view`), by softplus_s(z) = log(1+e^{s·z})/s,
s = `sharpness`; EP then estimates the gradient of the smoothed energy network's loss.
`smooth: none` keeps the model's activation (refused on ReLU by the config check).

Phases. Free: E(·; 0) minimised from the (smoothed) feedforward pass (`start: feedforward`,
default) or from zeros, until every sample's residual ‖∂E/∂s_i‖/‖κ s_i‖ < `tol` or `free_steps`
steps. Nudged: the same at +β from the free equilibrium s*, up to `nudged_steps`, stopping once
each sample's residual < `nudged_tol` × its residual at the phase's start (the nudge is O(β), so
an absolute `tol` would stop it almost at once and bias the update toward zero); with `nudge:
centred` also at −β, both relaxed as one stacked batch in which each ±β pair of copies shares
every step decision (accept/backtrack, curvature pair), so that their paths differ smoothly in β
and what remains of the free phase's error cancels in the difference. The minimiser is a solver choice only
(same energy, same equilibria): `solver: lbfgs` (default, `relax_lbfgs`) per-sample L-BFGS whose
initial inverse Hessian is the exact inverse of the skip chain's quadratic part (`chain_matrix`);
`chain`, gradient steps preconditioned by that inverse; `gd`, plain gradient steps (`relax`).
Each with per-sample backtracking: a step that would not lower the sample's energy is halved (the
pre-LN blocks' curvature makes a fixed step oscillate).

Parameter update. The trainer backpropagates a surrogate whose gradient is EP's estimate:

    (Ê(s^β) − Ê(s*))/(βN)          one-sided
    (Ê(s^{+β}) − Ê(s^{−β}))/(2βN)  centred

where Ê = −⟨s_0, e(x)⟩ − Σ_l⟨s_{l+1}, F_l(s_l)⟩ (the parameter-dependent part of E at β = 0) is
evaluated on *detached* states, so only ∂E/∂θ flows; N turns the sum over samples into the batch
mean. `out_ln` and the head, which sit outside the states, get their ordinary gradient of the
batch-mean CE at s*. By the EP theorem the surrogate's gradient tends to the gradient of the
batch-mean CE at the free equilibrium as β → 0 (tested against implicit differentiation).
`penalty` adds λ·Σ_l mean‖f_l(s*_l)‖².

Prediction: logits head(s*_L) (`predict: equilibrium`, default) or the feedforward pass.
Credit (diagnostics only): a_l = −(s^β_l − s*_l)/β (centred: −(s^{+β}_l − s^{−β}_l)/(2β)).
Convergence is reported per logged epoch as `ep_residual` = ‖∂E/∂s(s*; 0)‖ / ‖κ s*‖ over the
evaluation batch (0 at an exact equilibrium) and `ep_converged`, the fraction of its samples
whose free phase reached `tol`.

Supported: `resmlp`, `student` and `cnn`. In SmallCNN, BatchNorm would couple the samples of a
batch; inside the energy (every phase, the update, the prediction) it normalizes with its running
statistics instead, so E stays a sum over samples, and the training-mode feedforward pass that
starts the free phase is what updates those statistics (once per step, as for BP). Refused: `vit`
(not implemented: ConfigError).
Cost per training step: at most free_steps + nudged_steps forward+backward passes (centred: the
nudged ones on a doubled batch), plus L-BFGS's per-sample bookkeeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from faspec.components import EP_OPTIONS as EP_OPTIONS  # declared there, torch-free
from faspec.train.methods.base import Method
from faspec.train.methods.ep_solve import Relaxation as Relaxation
from faspec.train.methods.ep_solve import Relaxer


class SmoothReLU(nn.Module):
    """softplus_s(z) = log(1 + e^{s·z})/s: a C^∞ surrogate of ReLU with sharpness s; it lies
    above ReLU by at most log(2)/s (at z = 0) and its derivative is sigmoid(s·z)."""

    def __init__(self, sharpness: float) -> None:
        super().__init__()
        self.sharpness = float(sharpness)

    def forward(self, z: Tensor) -> Tensor:
        return torch.logaddexp(self.sharpness * z, torch.zeros_like(z)) / self.sharpness


@contextmanager
def smoothed(model: nn.Module, sharpness: float | None) -> Iterator[None]:
    """Every ReLU of `model` is a `SmoothReLU(sharpness)` inside (nothing changes for None):
    the energy EP relaxes is then C², as the EP theorem needs; outside, the model is as built."""
    swaps = []
    if sharpness is not None:
        for parent in list(model.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, nn.ReLU):
                    swaps.append((parent, name, child))
                    setattr(parent, name, SmoothReLU(sharpness))
    try:
        yield
    finally:
        for parent, name, child in swaps:
            setattr(parent, name, child)


@contextmanager
def batchnorm_running_stats(model: nn.Module) -> Iterator[None]:
    """BatchNorm normalizes with its running statistics inside (eval mode, nothing updated), so
    that the energy is a sum over samples; the previous modes come back afterwards."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    modes = [m.training for m in bns]
    for m in bns:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(bns, modes, strict=True):
            m.train(mode)


class EP(Relaxer, Method):
    """Equilibrium propagation with a symmetric-feedback energy; see the module docstring."""

    name = "ep"

    def __init__(
        self,
        model: nn.Module,
        num_classes: int,
        generator: torch.Generator,
        beta: float = 0.1,
        free_steps: int = 20,
        nudged_steps: int = 10,
        step_size: float = 0.5,
        self_weight: float = 2.0,
        nudge: str = "centred",
        start: str = "feedforward",
        predict: str = "equilibrium",
        smooth: str = "softplus",
        sharpness: float = 10.0,
        tol: float = 1e-3,
        nudged_tol: float = 1e-2,
        solver: str = "lbfgs",
        memory: int = 8,
        **options: Any,
    ) -> None:
        super().__init__(model, num_classes, generator, **options)
        self.beta = float(beta)
        self.free_steps = int(free_steps)
        self.nudged_steps = int(nudged_steps)
        self.step_size = float(step_size)
        self.kappa = float(self_weight)
        self.nudge = nudge
        self.start = start
        self.predict_from = predict
        self.sharpness = float(sharpness) if smooth == "softplus" else None
        self.tol = float(tol)
        self.nudged_tol = float(nudged_tol)
        self.solver = solver
        self.memory = int(memory)
        self.last_free: Relaxation | None = None  # the latest free phase's convergence
        self.history: list[tuple[Tensor, Tensor, Tensor]] = []  # the latest L-BFGS pairs
        self.free_history: list[tuple[Tensor, Tensor, Tensor]] = []  # the free phase's
        self.last_nudged: Relaxation | None = None  # the latest nudged phases' convergence

    @contextmanager
    def energy_view(self, model: nn.Module) -> Iterator[None]:
        """The network the energy is built from: ReLUs smoothed (`smooth`), BatchNorm on its
        running statistics."""
        with smoothed(model, self.sharpness), batchnorm_running_stats(model):
            yield

    # -- the energy ---------------------------------------------------------------------------

    def coupling(self, model: nn.Module, e: Tensor, s: list[Tensor]) -> Tensor:
        """Ê(s) per sample: −⟨s_0, e⟩ − Σ_l ⟨s_{l+1}, F_l(s_l)⟩ (shape (N,))."""
        out = -(s[0] * e).flatten(1).sum(dim=1)
        for i, block in enumerate(model.blocks):
            out = out - (s[i + 1] * model.combine(s[i], block(s[i]))).flatten(1).sum(dim=1)
        return out

    def energy(
        self, model: nn.Module, e: Tensor, s: list[Tensor], y: Tensor, beta: float | Tensor
    ) -> Tensor:
        """E(s; β) summed over the batch (module docstring)."""
        return self.sample_energy(model, e, s, y, beta).sum()

    def sample_energy(
        self,
        model: nn.Module,
        e: Tensor,
        s: list[Tensor],
        y: Tensor,
        beta: float | Tensor,
        quadratic: bool = True,
    ) -> Tensor:
        """E(s; β) of every sample (shape (N,)); samples do not interact. β is a number or one
        per sample (the batched ±β phases). `quadratic=False` leaves out Σ(κ/2)‖s_n‖²."""
        out = self.coupling(model, e, s)
        if quadratic:
            out = out + 0.5 * self.kappa * sum(t.pow(2).flatten(1).sum(dim=1) for t in s)
        if isinstance(beta, Tensor) or beta:
            out = out + beta * F.cross_entropy(model.head_logits(s[-1]), y, reduction="none")
        return out

    def grad_states(
        self, model: nn.Module, e: Tensor, s: list[Tensor], y: Tensor, beta: float | Tensor
    ) -> tuple[Tensor, list[Tensor]]:
        """(per-sample E, ∂E/∂s_n for every layer); no parameter gradient is accumulated."""
        s = [t.detach() for t in s]
        with torch.enable_grad():  # autograd only through the coupling and CE: ∂(κ/2)‖s‖² = κs
            free = [t.requires_grad_(True) for t in [u.clone() for u in s]]
            per = self.sample_energy(model, e.detach(), free, y, beta, quadratic=False)
            grads = torch.autograd.grad(per.sum(), free)
        quad = 0.5 * self.kappa * sum(t.pow(2).flatten(1).sum(dim=1) for t in s)
        return (per.detach() + quad), [g + self.kappa * t for g, t in zip(grads, s, strict=True)]

    def initial_states(self, model: nn.Module, x: Tensor) -> tuple[Tensor, list[Tensor]]:
        """(e(x), the free phase's starting states): the (smoothed) feedforward pass or zeros."""
        with torch.no_grad(), smoothed(model, self.sharpness):
            e = model.embed(x.flatten(1))
            hs = [e]
            for block in model.blocks:
                hs.append(model.combine(hs[-1], block(hs[-1])))
        if self.start == "zeros":
            hs = [torch.zeros_like(h) for h in hs]
        return e, hs

    def free_equilibrium(
        self,
        model: nn.Module,
        x: Tensor,
        y: Tensor,
        steps: int | None = None,
        tol: float | None = None,
    ) -> tuple[Tensor, list[Tensor]]:
        """(e(x), s*): the free phase (β = 0; y is not used by it). Its convergence is kept in
        `last_free`."""
        _, s0 = self.initial_states(model, x)  # a training-mode pass updates BN's statistics
        with self.energy_view(model):
            with torch.no_grad():
                e = model.embed(x.flatten(1))
            steps = self.free_steps if steps is None else steps
            s, self.last_free = self.relax(model, e, s0, y, 0.0, steps, tol)
            self.free_history = self.history
        return e, s

    def nudged(
        self, model: nn.Module, e: Tensor, s_free: list[Tensor], y: Tensor
    ) -> tuple[list[Tensor], list[Tensor]]:
        """(s^{+β}, s^{−β} or s*), both from s*. Centred: one relaxation of the batch stacked
        twice, +β on the first copy and −β on the second (samples do not interact, so this is
        the two phases at once, at the overhead of one)."""
        with self.energy_view(model):
            hist = self.free_history  # L-BFGS: the free phase's curvature pairs carry over
            if self.nudge != "centred":
                plus, self.last_nudged = self.relax(
                    model, e, s_free, y, self.beta, self.nudged_steps, self.nudged_tol, hist, True
                )
                return plus, s_free
            hist = [tuple(torch.cat([t, t]) for t in pair) for pair in hist]
            n = len(e)
            beta = torch.full((2 * n,), self.beta, dtype=e.dtype, device=e.device)
            beta[n:] = -self.beta
            both, self.last_nudged = self.relax(
                model,
                torch.cat([e, e]),
                [torch.cat([t, t]) for t in s_free],
                torch.cat([y, y]),
                beta,
                self.nudged_steps,
                self.nudged_tol,
                hist,  # type: ignore[arg-type]
                relative=True,
                paired=True,
            )
        return [t[:n] for t in both], [t[n:] for t in both]

    def phases(
        self, model: nn.Module, x: Tensor, y: Tensor
    ) -> tuple[Tensor, list[Tensor], list[Tensor], list[Tensor]]:
        """(e, s*, s^{+β}, s^{−β} or s*): the free and nudged phases, nudged ones from s*."""
        e, s_free = self.free_equilibrium(model, x, y)
        plus, minus = self.nudged(model, e, s_free, y)
        return e, s_free, plus, minus

    # -- the Method interface -----------------------------------------------------------------

    def loss(self, model: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        _, s_free, plus, minus = self.phases(model, x, y)
        with self.energy_view(model):
            e = model.embed(x.flatten(1))  # with its graph: embed's parameters get ∂Ê/∂θ
            scale = (2.0 if self.nudge == "centred" else 1.0) * self.beta * len(x)
            diff = self.coupling(model, e, plus) - self.coupling(model, e, minus)
            surrogate = diff.sum() / scale
            ce = F.cross_entropy(model.head_logits(s_free[-1]), y)  # out_ln and head only
            loss = surrogate + ce
            if self.penalty:
                for i, block in enumerate(model.blocks):
                    f = block(s_free[i]).flatten(1)
                    loss = loss + self.penalty * f.pow(2).sum(dim=-1).mean()
        return loss, ce.detach()

    @torch.no_grad()
    def credits(self, model: nn.Module, x: Tensor, y: Tensor) -> list[Tensor]:
        """a_l = −(s^{+β}_l − s^{−β or free}_l)/(β or 2β): the notes' state-difference credit."""
        _, _, plus, minus = self.phases(model, x, y)
        scale = (2.0 if self.nudge == "centred" else 1.0) * self.beta
        return [-(p - m) / scale for p, m in zip(plus, minus, strict=True)]

    @torch.no_grad()
    def predict(self, model: nn.Module, x: Tensor) -> Tensor:
        """Logits of the prediction: head(s*_L) or the feedforward pass (`predict`)."""
        if self.predict_from == "feedforward":
            return model(x)
        dummy = torch.zeros(len(x), dtype=torch.long, device=x.device)
        s_last = self.free_equilibrium(model, x, dummy)[1][-1]
        with self.energy_view(model):
            return model.head_logits(s_last)

    def residual(self, model: nn.Module, e: Tensor, s: list[Tensor]) -> Tensor:
        """‖∂E/∂s(s; 0)‖ / ‖κ s‖ over the whole batch (0 at an exact free equilibrium)."""
        dummy = torch.zeros(len(e), dtype=torch.long, device=e.device)
        with self.energy_view(model):
            _, grads = self.grad_states(model, e, s, dummy, 0.0)
        num = torch.sqrt(sum(g.double().pow(2).sum() for g in grads))
        den = self.kappa * torch.sqrt(sum(t.double().pow(2).sum() for t in s))
        return num / den

    @torch.no_grad()
    def extra_metrics(self, model: nn.Module, x: Tensor, y: Tensor) -> dict[str, Tensor]:
        """Per logged epoch, the free phase on the evaluation batch: `ep_residual` (batch
        residual) and `ep_converged` (fraction of samples that reached `tol` within the cap;
        below 1 the phase stalled or ran out of steps)."""
        e, s_free = self.free_equilibrium(model, x, y)
        assert self.last_free is not None
        return {
            "ep_residual": self.residual(model, e, s_free),
            "ep_converged": self.last_free.converged.double().mean(),
        }
