"""ViT-Mini (docs/paper.md): patch embedding + cls token, L pre-LN transformer blocks, terminal LN,
head on the cls token.

Arch contract on tokens. h_l is the *whole token set* (cls first, then the patches), flattened
per sample to (N, T·d) with T = 1 + number of patches: every token is part of the state that a
block changes and that a credit must address, and a flat vector keeps per-sample norms and
cosines meaning the same as on the MLPs. Block l returns f_l(h) = A + M with
A = Attn(LN₁(h)) and M = MLP(LN₂(h + A)), so that `combine(h, f) = h + f` is exactly the usual
pre-LN block h + A + MLP(LN₂(h + A)) and a block is one unit, as in ResMLP. [G] choices (options):
patch 4, 4 heads, MLP 4d. The cls token and the position embedding start at N(0, 0.02²) so
that the cls token's ‖h_0‖ is small (0.3–1.5 in the paper's notes) while the patch tokens carry
the image.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from faspec.train.models.base import HiddenStateModel
from faspec.train.models.image import image_side


class PatchEmbed(nn.Module):
    """x (N, C·S·S) -> h_0 (N, T·d): conv patchify, prepend the cls token, add positions."""

    def __init__(self, channels: int, side: int, patch: int, d: int) -> None:
        super().__init__()
        self.shape = (channels, side, side)
        self.proj = nn.Conv2d(channels, d, patch, stride=patch)
        n_tokens = 1 + (side // patch) ** 2
        self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, n_tokens, d) * 0.02)

    def forward(self, x: Tensor) -> Tensor:
        t = self.proj(x.reshape(-1, *self.shape)).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(len(t), -1, -1), t], dim=1) + self.pos
        return t.flatten(1)


class Attention(nn.Module):
    """Multi-head self-attention (no dropout, no mask) through scaled_dot_product_attention."""

    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, t: Tensor) -> Tensor:
        n, length, d = t.shape
        q, k, v = self.qkv(t).view(n, length, 3, self.heads, d // self.heads).unbind(2)
        o = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return self.proj(o.transpose(1, 2).reshape(n, length, d))


class ViTBlock(nn.Module):
    """Pre-LN transformer block as one unit: f(h) = A + MLP(LN₂(h + A)), A = Attn(LN₁(h))."""

    def __init__(self, d: int, tokens: int, heads: int, mlp: int) -> None:
        super().__init__()
        self.d, self.tokens = d, tokens
        self.ln1 = nn.LayerNorm(d)
        self.attn = Attention(d, heads)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, mlp * d), nn.GELU(), nn.Linear(mlp * d, d))

    def forward(self, h: Tensor) -> Tensor:
        t = h.view(len(h), self.tokens, self.d)
        a = self.attn(self.ln1(t))
        return (a + self.mlp(self.ln2(t + a))).flatten(1)


class ViTMini(HiddenStateModel):
    """ViT-Mini honouring the arch contract (`faspec.train.models`) on flattened token sets."""

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        d: int = 128,
        blocks: int = 4,
        patch: int = 4,
        heads: int = 4,
        mlp: int = 4,
        channels: int = 3,
        terminal_ln: bool = True,
    ) -> None:
        super().__init__()
        side = image_side(in_dim, channels)
        if side is None or side % patch or d % heads:
            raise ValueError(f"ViT-Mini: in_dim {in_dim}, patch {patch}, d {d}, heads {heads}")
        self.d = d
        self.tokens = 1 + (side // patch) ** 2
        self.embed = PatchEmbed(channels, side, patch, d)
        self.blocks = nn.ModuleList(ViTBlock(d, self.tokens, heads, mlp) for _ in range(blocks))
        self.out_ln: nn.Module = nn.LayerNorm(d) if terminal_ln else nn.Identity()
        self.head = nn.Linear(d, num_classes)
        self.widths = [self.tokens * d] * (blocks + 1)

    def cls(self, h: Tensor) -> Tensor:
        """The cls token of a flat token set: (N, T·d) -> (N, d)."""
        return h.view(len(h), self.tokens, self.d)[:, 0]

    def head_logits(self, h_last: Tensor) -> Tensor:
        return self.head(self.out_ln(self.cls(h_last)))


def build_vit(in_dim: int, num_classes: int, **options: object) -> ViTMini:
    """ViT-Mini on flattened images; h_l are flattened token sets."""
    return ViTMini(in_dim, num_classes, **options)  # type: ignore[arg-type]
