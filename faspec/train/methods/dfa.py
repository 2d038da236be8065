"""DFA (Nøkland 2016) with block-local updates (docs/methods.md)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from faspec.train.methods.base import (
    BlockLocalMethod,
    UnitForward,
    output_error,
    widths,
)


def register_dfa_feedback(
    owner: nn.Module, model: nn.Module, num_classes: int, generator: torch.Generator
) -> int:
    """Draw B_0..B_L (B_l ∈ R^{width_l × C}, entries N(0, 1/C)) from `generator` in layer order
    and register them on `owner` as buffers `B0..BL`; returns L+1. Shared by DFA and the
    bridges' DFA warm-up, so that one seed gives both the same warm-up feedback."""
    dtype = model.head.weight.dtype
    ws = widths(model)
    for i, w in enumerate(ws):
        b = torch.randn(w, num_classes, generator=generator) / math.sqrt(num_classes)
        owner.register_buffer(f"B{i}", b.to(dtype))
    return len(ws)


class DFA(BlockLocalMethod):
    """a_l = B_l e for l = 0..L with e = softmax(z) − onehot(y) per sample.

    B_l ∈ R^{d_l×C} (d_l the width of h_l: every architecture), entries N(0, 1/C) (reproduces
    the reported ‖a‖ ≈ 4.5), one per unit (L+1),
    drawn from the run's feedback stream, used un-normalized, stored as buffers `B0..BL`.
    """

    name = "dfa"

    def __init__(
        self, model: nn.Module, num_classes: int, generator: torch.Generator, **options: Any
    ) -> None:
        super().__init__(model, num_classes, generator, **options)
        self.n_feedback = register_dfa_feedback(self, model, num_classes, generator)

    def feedback(self, i: int) -> Tensor:
        return getattr(self, f"B{i}")

    def credits_from(self, model: nn.Module, fwd: UnitForward, y: Tensor) -> list[Tensor]:
        e = output_error(fwd.logits, y)
        return [e @ self.feedback(i).T for i in range(self.n_feedback)]
