"""FA's defining property, checked independently of FA's own formula: with every B_l set to the
transposed block Jacobian ∂h_{l+1}/∂h_lᵀ at the sample (batch of one), FA's credit is backprop's
chain rule, so its parameter update equals BP's. The Jacobian comes from
torch.autograd.functional.jacobian, not from FA's code."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from faspec.train.methods import FA
from faspec.train.models import ResMLP

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_fa_with_transposed_block_jacobians_is_backprop(act: str) -> None:
    torch.manual_seed(0)
    model = ResMLP(6, 4, d=8, blocks=3, hidden=8, act=act).double()
    x = torch.randn(1, 6, dtype=torch.float64)
    y = torch.tensor([2])
    fa = FA(model, 4, torch.Generator().manual_seed(1))
    with torch.no_grad():
        h = model.embed(x)
        for i, block in enumerate(model.blocks):
            jac = torch.autograd.functional.jacobian(
                lambda v, block=block: model.combine(v, block(v)), h
            )[0, :, 0, :]  # (d_out, d_in) of h_{l+1} with respect to h_l
            getattr(fa, f"B{i}").copy_(jac.T)
            h = model.combine(h, block(h))

    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    want = {k: p.grad.clone() for k, p in model.named_parameters()}
    model.zero_grad()
    fa.loss(model, x, y)[0].backward()
    for k, p in model.named_parameters():
        torch.testing.assert_close(p.grad, want[k], rtol=1e-10, atol=1e-12, msg=k)
    # and a random B is not BP (the test can fail)
    fa_random = FA(model, 4, torch.Generator().manual_seed(1))
    model.zero_grad()
    fa_random.loss(model, x, y)[0].backward()
    assert not torch.allclose(model.blocks[0].fc1.weight.grad, want["blocks.0.fc1.weight"])
