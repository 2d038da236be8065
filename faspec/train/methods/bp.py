"""BP (end-to-end backprop) and the frozen-blocks baseline (docs/methods.md)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from faspec.train.methods.base import Method, exact_gradients, unit_forward, uses_penalty


class BP(Method):
    """End-to-end cross-entropy; the penalty λ·mean_batch‖f_l‖² (all blocks) joins the global
    loss. Its credit is the true per-sample gradient ∂CE_i/∂h_l, so its cosines are 1."""

    name = "bp"

    def loss(self, model: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        fwd = unit_forward(model, x, local=False)
        ce = F.cross_entropy(fwd.logits, y)
        loss = ce
        if uses_penalty(self.penalty):
            for f in fwd.units[1:]:
                loss = loss + self.penalty * f.pow(2).sum(dim=-1).mean()
        return loss, ce.detach()

    def credits(self, model: nn.Module, x: Tensor, y: Tensor) -> list[Tensor] | None:
        return exact_gradients(model, x, y, reduction="sum")[2]


class Frozen(BP):
    """Blocks stay at their random init (requires_grad False: not in the optimizer, not
    decayed, bit-identical after training); embed, out_ln and head train by BP *through* the
    frozen blocks. No credit of its own: cosines are null."""

    name = "frozen"
    has_credit = False

    def setup(self, model: nn.Module) -> None:
        for p in model.blocks.parameters():
            p.requires_grad_(False)

    def credits(self, model: nn.Module, x: Tensor, y: Tensor) -> list[Tensor] | None:
        return None
