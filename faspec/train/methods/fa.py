"""FA (Lillicrap 2016) as in the paper's notes, with block-local updates (docs/methods.md)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from faspec.train.methods.base import (
    BlockLocalMethod,
    UnitForward,
    head_gradient,
    widths,
)


class FA(BlockLocalMethod):
    """a_L = exact per-sample ∂CE/∂h_L through out_ln and head; a_l = B_l a_{l+1} going down
    (l = L−1..0), no identity term. B_l ∈ R^{d×d}, entries N(0, 1/d) (norm-preserving on
    average), drawn from the run's feedback stream, stored as buffers `B0..B{L-1}`.
    cos_L = 1 by construction."""

    name = "fa"

    def __init__(
        self, model: nn.Module, num_classes: int, generator: torch.Generator, **options: Any
    ) -> None:
        super().__init__(model, num_classes, generator, **options)
        ws = widths(model)
        if len(set(ws)) != 1:
            raise ValueError(f"FA needs one width across h_0..h_L, got {ws}")
        d = ws[0]
        self.n_feedback = len(model.blocks)
        for i in range(self.n_feedback):
            b = torch.randn(d, d, generator=generator) / math.sqrt(d)
            self.register_buffer(f"B{i}", b.to(model.head.weight.dtype))

    def feedback(self, i: int) -> Tensor:
        return getattr(self, f"B{i}")

    def credits_from(self, model: nn.Module, fwd: UnitForward, y: Tensor) -> list[Tensor]:
        _, a = head_gradient(model, fwd.hs[-1], y)
        credits = [a]
        for i in reversed(range(self.n_feedback)):
            a = a @ self.feedback(i).T  # a_l = B_l a_{l+1}, row form
            credits.append(a)
        return credits[::-1]
