"""DFA (Nøkland 2016) with block-local updates (DOMAIN.md §2)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from faspec.train.methods.base import COMMON_OPTIONS, BlockLocalMethod, UnitForward, output_error
from faspec.train.registry import METHODS, register


class DFA(BlockLocalMethod):
    """a_l = B_l e for l = 0..L with e = softmax(z) − onehot(y) per sample.

    B_l ∈ R^{d×C}, entries N(0, 1/C) (reproduces the reported ‖a‖ ≈ 4.5), one per unit (L+1),
    drawn from the run's feedback stream, used un-normalized, stored as buffers `B0..BL`.
    """

    name = "dfa"

    def __init__(
        self, model: nn.Module, num_classes: int, generator: torch.Generator, **options: Any
    ) -> None:
        super().__init__(model, num_classes, generator, **options)
        d = model.head.in_features
        self.n_feedback = len(model.blocks) + 1
        for i in range(self.n_feedback):
            b = torch.randn(d, num_classes, generator=generator) / math.sqrt(num_classes)
            self.register_buffer(f"B{i}", b.to(model.head.weight.dtype))

    def feedback(self, i: int) -> Tensor:
        return getattr(self, f"B{i}")

    def credits_from(self, model: nn.Module, fwd: UnitForward, y: Tensor) -> list[Tensor]:
        e = output_error(fwd.logits, y)
        return [e @ self.feedback(i).T for i in range(self.n_feedback)]


register(
    METHODS,
    "dfa",
    version=1,
    options=COMMON_OPTIONS,
    doc="Direct feedback alignment: a_l = B_l e, block-local updates",
)(DFA)
