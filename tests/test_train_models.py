"""The arch contract of ResMLP."""

from __future__ import annotations

import torch

from faspec.train.models import Phi, ResMLP


def test_contract_and_forward_pieces_agree() -> None:
    torch.manual_seed(0)
    model = ResMLP(10, 3, d=8, blocks=3, hidden=5)
    x = torch.randn(4, 10)
    logits, hs = model(x, return_hidden=True)
    assert logits.shape == (4, 3) and len(hs) == 4
    assert torch.equal(hs[0], model.embed(x))
    for i, block in enumerate(model.blocks):
        assert torch.allclose(hs[i + 1], hs[i] + block(hs[i]))
    assert torch.equal(logits, model.head_logits(hs[-1]))
    assert torch.equal(model(x), logits)
    assert isinstance(model.out_ln, torch.nn.LayerNorm)
    assert model.blocks[0].fc1.out_features == 5


def test_ablations() -> None:
    model = ResMLP(10, 3, d=8, blocks=2, skip=False, terminal_ln=False)
    x = torch.randn(4, 10)
    _, hs = model(x, return_hidden=True)
    assert torch.allclose(hs[1], model.blocks[0](hs[0]))
    assert isinstance(model.out_ln, torch.nn.Identity)


def test_phi_activation() -> None:
    z = torch.linspace(-3, 3, 7)
    assert torch.allclose(Phi(0.0)(z), z)
    assert torch.allclose(Phi(1.0)(z), torch.tanh(z))
    assert torch.allclose(Phi(0.25)(z), 0.75 * z + 0.25 * torch.tanh(z))
    model = ResMLP(4, 2, d=8, blocks=1, act="phi", alpha=0.5)
    assert isinstance(model.blocks[0].act, Phi) and model.blocks[0].act.alpha == 0.5


def test_init_scale_default_linear() -> None:
    """PyTorch default init: ‖h_0‖ ≈ sqrt(d/3)·‖x‖/sqrt(in_dim) for unit-variance inputs, the
    calibration behind the paper's (docs/paper.md §1) ‖h_l‖ ≈ 8.7–8.9 at d=256 on CIFAR; blocks grow it slowly."""
    torch.manual_seed(0)
    model = ResMLP(3072, 10, d=256, blocks=4)
    _, hs = model(torch.randn(256, 3072), return_hidden=True)
    norms = [h.norm(dim=-1).median().item() for h in hs]
    assert 8.0 < norms[0] < 10.5
    assert all(1.0 <= b / a < 1.2 for a, b in zip(norms, norms[1:], strict=False))
