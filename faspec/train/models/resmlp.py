"""ResMLP: the paper's primary architecture (docs/paper.md).

embed = Linear(in_dim, d); L pre-LN residual blocks f_l = Linear(hidden->d) ∘ act ∘
Linear(d->hidden) ∘ LayerNorm(d), h_{l+1} = h_l + f_l(h_l) (or f_l(h_l) without `skip`); a terminal
LayerNorm (`terminal_ln`) and a linear head. PyTorch's default Linear init is kept on purpose: it
reproduces the paper's init calibration (median ‖h_l‖ ≈ 8.7–8.9 on CIFAR at d=256), and the
growth/gradient-floor diagnostics are only comparable at that calibration.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from faspec.train.models.base import HiddenStateModel


class Phi(nn.Module):
    """φ_α(z) = (1−α)·z + α·tanh(z): α=0 is linear, α=1 is tanh (the StudentNet ladder)."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, z: Tensor) -> Tensor:
        return (1.0 - self.alpha) * z + self.alpha * torch.tanh(z)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


ACTIVATIONS = ("relu", "tanh", "gelu", "phi")


def make_activation(act: str, alpha: float = 1.0) -> nn.Module:
    if act == "relu":
        return nn.ReLU()
    if act == "tanh":
        return nn.Tanh()
    if act == "gelu":
        return nn.GELU()
    if act == "phi":
        return Phi(alpha)
    raise ValueError(f"unknown activation {act!r}")


class Block(nn.Module):
    """Pre-LN MLP block f(h) = fc2(act(fc1(ln(h)))); the residual add is the model's `combine`."""

    def __init__(self, d: int, hidden: int, act: nn.Module) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, hidden)
        self.act = act
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, h: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(self.ln(h))))


class ResMLP(HiddenStateModel):
    """Residual pre-LN MLP; see the arch contract in `faspec.train.models`."""

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        d: int = 256,
        blocks: int = 4,
        terminal_ln: bool = True,
        skip: bool = True,
        act: str = "relu",
        hidden: int | None = None,
        alpha: float = 1.0,
    ) -> None:
        super().__init__()
        hidden = d if hidden is None else hidden
        # creation order fixes which random numbers each layer gets: keep it
        self.embed = nn.Linear(in_dim, d)
        self.blocks = nn.ModuleList(
            Block(d, hidden, make_activation(act, alpha)) for _ in range(blocks)
        )
        self.out_ln: nn.Module = nn.LayerNorm(d) if terminal_ln else nn.Identity()
        self.head = nn.Linear(d, num_classes)
        self.skip = skip
        self.widths = [d] * (blocks + 1)  # feature size of h_0..h_L (the arch contract)

    def combine(self, h: Tensor, f: Tensor) -> Tensor:
        return h + f if self.skip else f


def build_resmlp(in_dim: int, num_classes: int, **options: object) -> ResMLP:
    """Residual pre-LN MLP on flattened inputs."""
    return ResMLP(in_dim, num_classes, **options)  # type: ignore[arg-type]
