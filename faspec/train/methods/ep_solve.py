"""EP's relaxation: minimising a per-sample energy E(s; β) over the states, one forward and
backward pass per step, with three interchangeable solvers that reach the same minima.

What it promises. `Relaxer.relax` moves each sample's states downhill on E (never uphill beyond
the rounding of E), stops a sample once its residual r_i = ‖∂E/∂s_i‖/‖κ s_i‖ is below the
tolerance (absolute, or relative to the sample's starting residual) or the step cap is reached,
and reports how it ended in a `Relaxation`. Solvers: `lbfgs` (per-sample L-BFGS, initial inverse
Hessian the exact inverse of the skip chain's quadratic part), `chain` (gradient steps
preconditioned by that inverse) and `gd` (plain gradient steps); each with per-sample
backtracking. With `paired`, a batch made of two stacked copies (the ±β nudged phases) takes one
step decision per pair, so the two paths differ smoothly in β.

The energy itself is not defined here: the class using this mixin supplies `grad_states`
(per-sample energy and ∂E/∂s) and the attributes `kappa`, `solver`, `memory`, `step_size`,
`tol` and `history` (see faspec/train/methods/ep.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn


@dataclass
class Relaxation:
    """How a relaxation ended: per-sample residual r_i = ‖∂E/∂s_i‖/‖κ s_i‖ (= the state change
    per unit step of s ← s − α∂E/∂s, relative to κs), whether each sample reached `tol`, and
    the number of steps taken (= the cap when some sample did not converge)."""

    residual: Tensor
    converged: Tensor
    steps: int


class Relaxer:
    """The solvers of EP's phases, mixed into `EP` (which supplies the energy)."""

    kappa: float
    solver: str
    memory: int
    step_size: float
    tol: float
    history: list[tuple[Tensor, Tensor, Tensor]]

    def grad_states(
        self, model: nn.Module, e: Tensor, s: list[Tensor], y: Tensor, beta: float | Tensor
    ) -> tuple[Tensor, list[Tensor]]:
        raise NotImplementedError  # the energy's owner defines it

    def sample_residual(
        self, s: list[Tensor], grads: list[Tensor], sq: Tensor | None = None
    ) -> Tensor:
        """r_i = ‖∂E/∂s_i‖ / ‖κ s_i‖ per sample (0 at an exact equilibrium); `sq`: ‖∂E/∂s_i‖²
        when already known."""
        num = sum(g.pow(2).flatten(1).sum(dim=1) for g in grads) if sq is None else sq
        den = sum(t.pow(2).flatten(1).sum(dim=1) for t in s)
        return torch.sqrt(num / den.clamp_min(torch.finfo(den.dtype).tiny)) / self.kappa

    def chain_matrix(self, model: nn.Module, s: list[Tensor]) -> Tensor | None:
        """κ·M⁻¹, M the Hessian of E's quadratic chain part (κ on the diagonal, −1 between
        layers joined by an identity skip, per feature); None when no layer has a skip (M = κI)
        or the solver is plain gradient descent."""
        if self.solver == "gd" or len(s) < 2:
            return None
        probe = s[0][:1]
        skips = [
            s[i].shape == s[i + 1].shape
            and bool(torch.equal(model.combine(probe, torch.zeros_like(probe)), probe))
            for i in range(len(s) - 1)
        ]
        if not any(skips):
            return None
        m = torch.eye(len(s), dtype=torch.float64) * self.kappa
        for i, k in enumerate(skips):
            if k:
                m[i, i + 1] = m[i + 1, i] = -1.0
        return (self.kappa * torch.linalg.inv(m)).to(dtype=s[0].dtype, device=s[0].device)

    def chain_preconditioner(self, model: nn.Module, s: list[Tensor]) -> Any:
        """g ↦ κ·M⁻¹g (`chain_matrix`), so that a step of `step_size` = 1/κ is the exact
        minimiser of the chain part; the identity where there is no chain."""
        p = self.chain_matrix(model, s)
        if p is None:
            return lambda g: g

        def apply(g: list[Tensor]) -> list[Tensor]:
            return list(torch.einsum("mn,n...->m...", p, torch.stack(g)).unbind(0))

        return apply

    def flat_residual(self, x: Tensor, sq: Tensor) -> Tensor:
        """`sample_residual` of flattened states x (N, D) given ‖∂E/∂s_i‖² = sq."""
        den = (x * x).sum(dim=1).clamp_min(torch.finfo(x.dtype).tiny)
        return torch.sqrt(sq / den) / self.kappa

    def relax_lbfgs(
        self,
        model: nn.Module,
        e: Tensor,
        s: list[Tensor],
        y: Tensor,
        beta: float | Tensor,
        steps: int,
        tol: float,
        history: list[tuple[Tensor, Tensor, Tensor]] | None = None,
        relative: bool = False,
        paired: bool = False,
    ) -> tuple[list[Tensor], Relaxation]:
        """Per-sample L-BFGS on E(·; β) (`solver: lbfgs`): each sample keeps its own history of
        the last `memory` step/gradient-change pairs, its own dot products and its own Armijo
        backtracking; the initial inverse Hessian is the chain part's exact inverse M⁻¹ (see
        `chain_preconditioner`). Same stopping rule and acceptance test as `relax`; one
        forward and backward pass per step."""
        shapes = [t.shape[1:] for t in s]
        sizes = [t[0].numel() for t in s]
        n = len(s[0])

        def flat(ts: list[Tensor]) -> Tensor:
            return torch.cat([t.reshape(n, -1) for t in ts], dim=1)

        def unflat(v: Tensor) -> list[Tensor]:
            return [c.reshape(n, *sh) for c, sh in zip(v.split(sizes, 1), shapes, strict=True)]

        p = self.chain_matrix(model, s)
        if p is None:
            h0 = lambda g: g / self.kappa  # noqa: E731
        else:  # every state has the same shape: layers along dim 1
            p = p / self.kappa
            h0 = lambda g: torch.einsum("mn,bnd->bmd", p, g.view(n, len(s), -1)).reshape(n, -1)  # noqa: E731

        def dot(a: Tensor, b: Tensor) -> Tensor:
            return (a * b).sum(dim=1)

        x = flat([t.detach() for t in s])
        per, grads = self.grad_states(model, e, unflat(x), y, beta)
        g = flat(grads)
        sq = dot(g, g)
        del grads
        res = self.flat_residual(x, sq)
        lim: float | Tensor = tol * res if relative else tol
        alpha = torch.ones(n, dtype=x.dtype, device=x.device)
        hist: list[tuple[Tensor, Tensor, Tensor]] = list(history or [])
        taken = 0
        early = not torch.compiler.is_compiling()
        while taken < steps and not (early and bool((res < lim).all())):
            taken += 1
            q = g.clone()
            coef = []
            for sk, yk, rho in reversed(hist):
                a = rho * dot(sk, q)
                q = q - a[:, None] * yk
                coef.append(a)
            r = h0(q)
            for (sk, yk, rho), a in zip(hist, reversed(coef), strict=True):
                b = rho * dot(yk, r)
                r = r + (a - b)[:, None] * sk
            gd = dot(g, r)
            bad = ~((gd > 0) & torch.isfinite(gd))
            if bool(bad.any()):
                fb = h0(g)
                r = torch.where(bad[:, None], fb, r)
                gd = torch.where(bad, dot(g, fb), gd)
            cand = x - alpha[:, None] * r
            new, ngrads = self.grad_states(model, e, unflat(cand), y, beta)
            ng = flat(ngrads)
            nsq = dot(ng, ng)
            tol_e = 8 * torch.finfo(per.dtype).eps * (per.abs() + 1)
            ok = (new <= per - 1e-4 * alpha * gd) | ((new <= per + tol_e) & (nsq < sq))
            ok = ok & torch.isfinite(new)
            live = res >= lim  # a converged sample stays put
            if paired:  # ±β copies: one decision per pair, so their paths differ smoothly in β
                h = n // 2
                ok = (ok[:h] & ok[h:] & (live[:h] | live[h:])).repeat(2)
            else:
                ok = ok & live
            sk, yk = cand - x, ng - g
            sy = dot(sk, yk)
            inv = 1.0 / torch.where(sy > 0, sy, torch.ones_like(sy))
            good = ok & (sy > 1e-6 * dot(sk, sk).sqrt() * dot(yk, yk).sqrt()) & torch.isfinite(inv)
            if paired:
                good = (good[:h] & good[h:]).repeat(2)
            rho = torch.where(good, inv, 0.0)
            hist.append((sk * good[:, None], yk * good[:, None], rho))
            if len(hist) > self.memory:
                hist.pop(0)
            okb = ok[:, None]
            x, g = torch.where(okb, cand, x), torch.where(okb, ng, g)
            per, sq = torch.where(ok, new, per), torch.where(ok, nsq, sq)
            alpha = torch.where(ok, torch.ones_like(alpha), alpha * 0.5)
            res = self.flat_residual(x, sq)
        self.history = hist
        return unflat(x), Relaxation(res, res < lim, taken)

    def relax(
        self,
        model: nn.Module,
        e: Tensor,
        s: list[Tensor],
        y: Tensor,
        beta: float | Tensor,
        steps: int,
        tol: float | None = None,
        history: list[tuple[Tensor, Tensor, Tensor]] | None = None,
        relative: bool = False,
        paired: bool = False,
    ) -> tuple[list[Tensor], Relaxation]:
        """At most `steps` gradient steps on E(·; β) from the states `s`, each sample with its
        own step α ≤ `step_size`, stopping once every sample's residual is below `tol`
        (default `self.tol`; 0: run the cap), or, when `relative`, below `tol` × the sample's
        residual at the start (the nudged phases: their starting residual is the nudge);
        `paired` (one decision per ±β pair) applies to `lbfgs`. A step is taken when it lowers
        the sample's energy by the Armijo amount, or — once E changes by less than its own
        rounding — when it shrinks the sample's gradient; otherwise it is refused and α halved (accepted: α
        doubles). So E never rises beyond rounding, the relaxation cannot oscillate or run
        away, and at a strict minimum it converges linearly down to the floating-point floor.
        One forward and backward pass per step (the gradient at the candidate serves the next
        step)."""
        tol = self.tol if tol is None else tol
        if self.solver == "lbfgs":
            return self.relax_lbfgs(model, e, s, y, beta, steps, tol, history, relative, paired)
        s = [t.detach() for t in s]
        shape = (len(s[0]),) + (1,) * (s[0].dim() - 1)
        alpha = torch.full(shape, self.step_size, dtype=s[0].dtype, device=s[0].device)
        precond = self.chain_preconditioner(model, s)
        per, grads = self.grad_states(model, e, s, y, beta)
        sq = sum(g.pow(2).flatten(1).sum(dim=1) for g in grads)
        dirs = precond(grads)
        gd = sum((g * d).flatten(1).sum(dim=1) for g, d in zip(grads, dirs, strict=True))
        res = self.sample_residual(s, grads, sq)
        lim: float | Tensor = tol * res if relative else tol
        taken = 0
        early = not torch.compiler.is_compiling()  # a compiled step runs the cap (no host sync)
        while taken < steps and not (early and bool((res < lim).all())):
            taken += 1
            cand = [t - alpha * d for t, d in zip(s, dirs, strict=True)]
            new, ngrads = self.grad_states(model, e, cand, y, beta)
            nsq = sum(g.pow(2).flatten(1).sum(dim=1) for g in ngrads)
            ndirs = precond(ngrads)
            ngd = sum((g * d).flatten(1).sum(dim=1) for g, d in zip(ngrads, ndirs, strict=True))
            tol_e = 8 * torch.finfo(per.dtype).eps * (per.abs() + 1)  # rounding of E itself
            ok = (new <= per - 1e-4 * alpha.flatten() * gd) | ((new <= per + tol_e) & (nsq < sq))
            okb = ok.reshape(shape)
            s = [torch.where(okb, c, t) for c, t in zip(cand, s, strict=True)]
            grads = [torch.where(okb, c, t) for c, t in zip(ngrads, grads, strict=True)]
            dirs = [torch.where(okb, c, t) for c, t in zip(ndirs, dirs, strict=True)]
            per, sq, gd = (
                torch.where(ok, new, per),
                torch.where(ok, nsq, sq),
                torch.where(ok, ngd, gd),
            )
            alpha = torch.where(okb, (alpha * 2.0).clamp(max=self.step_size), alpha * 0.5)
            res = self.sample_residual(s, grads, sq)
        return s, Relaxation(res, res < lim, taken)
