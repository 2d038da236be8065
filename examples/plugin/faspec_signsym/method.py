"""Sign-symmetric feedback (Liao, Leibo & Poggio 2016) for faspec's residual MLP."""

import torch

from faspec.train.methods.base import BlockLocalMethod, head_gradient


class SignSym(BlockLocalMethod):
    """a_L = exact dCE/dh_L; a_l = a_{l+1} + c_l sign(W1)^T sign(W2)^T a_{l+1} for the block
    h_{l+1} = h_l + W2 act(W1 LN(h_l)), with c_l = mean|W1| mean|W2| (the weights' scale) and
    the LayerNorm's and activation's derivatives left out. Block-local updates."""

    name = "signsym"

    def __init__(self, model, num_classes, generator, scale=1.0, **options):
        super().__init__(model, num_classes, generator, **options)
        self.scale = scale

    @torch.no_grad()
    def credits_from(self, model, fwd, y):
        _, a = head_gradient(model, fwd.hs[-1], y)
        credits = [a]
        for block in reversed(model.blocks):
            w1, w2 = block.fc1.weight, block.fc2.weight  # (hidden, d), (d, hidden)
            c = self.scale * w1.abs().mean() * w2.abs().mean()
            a = a + c * (a @ w2.sign()) @ w1.sign()
            credits.append(a)
        return credits[::-1]
