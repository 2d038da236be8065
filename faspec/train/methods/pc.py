"""PC: predictive coding (inference learning) on a feedforward chain of units.

Whittington & Bogacz 2017; Song et al. 2020; Millidge et al. 2023. This was faspec's first "ep";
it is not equilibrium propagation: its energy is a sum of prediction errors, whose minimum at
β = 0 is the feedforward pass, and each relaxation step carries the exact vector–Jacobian
product of backprop down one layer, so its credit tends to BP's gradient (tested). EP proper,
with symmetric feedback through the transpose of the forward map, is `faspec.train.methods.ep`.
Options and figures: docs/methods.md.

Energy. Let e_0 = embed(x) and F_l(h) = combine(h, block_l(h)), which is h + f_l(h) with a skip.
Then

    E(h; β) = ½‖h_0 − e_0‖² + Σ_l ½‖h_{l+1} − F_l(h_l)‖² + β·Σ_i CE(head_logits(h_L)_i, y_i).

The first term is dropped when `clamp_h0` holds; then h_0 = e_0 stays fixed. The CE is summed
over samples, so every sample's states feel β times their own per-sample gradient.

Free phase. The feedforward states are the exact minimum of E at β = 0, where E = 0. So the free
phase is the ordinary forward pass and needs no relaxation.

Nudged phase. Start at h^free and take `steps` gradient steps h ← h − `step_size`·∇_h E(h; β).
With `nudge: centred`, run the phase at +β and at −β.

Credit, in the ascent convention (a ≈ ∂CE/∂h):

* `credit: state` (the paper's notes):

      a_l = −(h^β_l − h^free_l)/β                 (centred: −(h^{+β}_l − h^{−β}_l)/(2β))

  A clamped h_0 never moves, so its credit is 0.
* `credit: error` (the principled credit):

      a_l = −ε_l/β,  where ε_0 = h_0 − e_0 and ε_{l+1} = h_{l+1} − F_l(h_l) at the nudged state

  With a clamped h_0, a_0 = ∂E/∂h_0 / β, the force on the clamped layer. At a relaxed fixed point,
  stationarity gives ε_l = J_lᵀ ε_{l+1} and ε_L = −β·∂CE/∂h_L. So −ε_l/β → ∂CE/∂h_l, the BP
  gradient, as β → 0 (tested). State differences add up the errors of the layers below them and
  are biased (docs/methods.md).

Every unit then trains with the block-local loss (`block_local_loss`). The embed unit uses a_0,
block l uses a_{l+1}, and out_ln and the head use the CE.

Any architecture with the contract has this energy: ResMLP, StudentNet, SmallCNN (no skip,
F_l = block_l) and ViT-Mini (flattened token sets). With BatchNorm in training mode, the
relaxation normalizes with the nudged batch's statistics but leaves the running statistics as
the free phase set them (`preserve_batchnorm_stats`).

Cost per step: `steps` forward and backward passes of the network, twice with centred nudging.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from faspec.components import PC_OPTIONS as PC_OPTIONS  # declared there, torch-free
from faspec.train.methods.base import (
    BlockLocalMethod,
    UnitForward,
    preserve_batchnorm_stats,
)


class PC(BlockLocalMethod):
    """Predictive coding with block-local updates; see the module docstring."""

    name = "pc"

    def __init__(
        self,
        model: nn.Module,
        num_classes: int,
        generator: torch.Generator,
        beta: float = 0.5,
        steps: int = 20,
        step_size: float = 0.2,
        credit: str = "state",
        nudge: str = "one_sided",
        clamp_h0: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(model, num_classes, generator, **options)
        self.beta = float(beta)
        self.steps = int(steps)
        self.step_size = float(step_size)
        self.credit = credit
        self.nudge = nudge
        self.clamp_h0 = bool(clamp_h0)

    # -- the energy ---------------------------------------------------------------------------

    def errors(self, model: nn.Module, e0: Tensor, hs: list[Tensor]) -> list[Tensor]:
        """Prediction errors [ε_0, ε_1..ε_L] of the states `hs` (ε_0 = h_0 − e_0)."""
        out = [hs[0] - e0]
        for i, block in enumerate(model.blocks):
            out.append(hs[i + 1] - model.combine(hs[i], block(hs[i])))
        return out

    def energy(
        self, model: nn.Module, e0: Tensor, hs: list[Tensor], y: Tensor, beta: float
    ) -> Tensor:
        """E(h; β), summed over the batch (see the module docstring)."""
        eps = self.errors(model, e0, hs)
        first = 1 if self.clamp_h0 else 0
        e = sum(0.5 * eps[i].pow(2).sum() for i in range(first, len(eps)))
        ce = F.cross_entropy(model.head_logits(hs[-1]), y, reduction="sum")
        return e + beta * ce

    def relax(
        self, model: nn.Module, e0: Tensor, h_free: list[Tensor], y: Tensor, beta: float
    ) -> list[Tensor]:
        """The nudged states after `steps` gradient steps on E(·; β) from the free states."""
        hs = [h.detach().clone() for h in h_free]
        first = 1 if self.clamp_h0 else 0
        with torch.enable_grad(), preserve_batchnorm_stats(model):
            for _ in range(self.steps):
                free = [h.requires_grad_(True) if i >= first else h for i, h in enumerate(hs)]
                grads = torch.autograd.grad(
                    self.energy(model, e0, free, y, beta), free[first:], allow_unused=True
                )
                new = hs[:first]
                for h, g in zip(free[first:], grads, strict=True):
                    new.append((h - self.step_size * g if g is not None else h).detach())
                hs = new
        return hs

    def _phase_credit(
        self, model: nn.Module, e0: Tensor, h_free: list[Tensor], hs: list[Tensor], y: Tensor
    ) -> list[Tensor]:
        """β × credit of one phase (not yet divided by β): −(h^β − h^free) or −ε."""
        if self.credit == "state":
            return [-(h - h0) for h, h0 in zip(hs, h_free, strict=True)]
        with torch.enable_grad(), preserve_batchnorm_stats(model):
            if self.clamp_h0:  # the force on the clamped layer: ∂E/∂h_0 = −J_0ᵀ ε_1
                h0 = hs[0].detach().requires_grad_(True)
                eps1 = hs[1] - model.combine(h0, model.blocks[0](h0)) if model.blocks else None
                a0 = (
                    torch.autograd.grad((eps1.detach() * eps1).sum(), h0)[0]
                    if eps1 is not None
                    else torch.zeros_like(h0)
                )
            eps = [t.detach() for t in self.errors(model, e0, hs)]
        out = [-t for t in eps]
        if self.clamp_h0:
            out[0] = a0.detach()
        return out

    def credits_from(self, model: nn.Module, fwd: UnitForward, y: Tensor) -> list[Tensor]:
        e0 = fwd.units[0].detach()
        h_free = [h.detach() for h in fwd.hs]
        plus = self._phase_credit(model, e0, h_free, self.relax(model, e0, h_free, y, self.beta), y)
        if self.nudge == "one_sided":
            return [a / self.beta for a in plus]
        minus = self._phase_credit(
            model, e0, h_free, self.relax(model, e0, h_free, y, -self.beta), y
        )
        return [(p - m) / (2 * self.beta) for p, m in zip(plus, minus, strict=True)]
