"""What every architecture shares: the arch contract's forward pass over h_0..h_L.

An architecture sets `embed`, `blocks`, `out_ln`, `head` and `widths`, and says how a block's
output joins the stream (`combine`); methods and metrics then see every model the same way.
"""

from __future__ import annotations

from torch import Tensor, nn


class HiddenStateModel(nn.Module):
    """h_0 = embed(x); h_{l+1} = combine(h_l, blocks[l](h_l)); logits = head_logits(h_L)."""

    embed: nn.Module
    blocks: nn.ModuleList
    out_ln: nn.Module
    head: nn.Module

    def combine(self, h: Tensor, f: Tensor) -> Tensor:
        """Residual by default; architectures without a skip return `f`."""
        return h + f

    def head_logits(self, h_last: Tensor) -> Tensor:
        return self.head(self.out_ln(h_last))

    def forward(
        self, x: Tensor, return_hidden: bool = False
    ) -> Tensor | tuple[Tensor, list[Tensor]]:
        h = self.embed(x.flatten(1))
        hs = [h]
        for block in self.blocks:
            h = self.combine(h, block(h))
            hs.append(h)
        logits = self.head_logits(h)
        return (logits, hs) if return_hidden else logits
