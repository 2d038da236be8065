"""Nudging's two normalizations and sparsity's batch scaling, each against an independent
float64 computation on a default ResMLP (relu, terminal LN, skips)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from faspec.train import normalize_config
from faspec.train.measure import (
    MeasureOptions,
    make_probe,
    nudge_layers,
    sparsity_diagnostics,
    sparsity_tau_at,
)
from faspec.train.methods import DFA
from faspec.train.models import ResMLP

N, D, C, IN, L = 128, 64, 10, 16, 3


def setup() -> tuple[nn.Module, DFA, Tensor, Tensor]:
    torch.manual_seed(0)
    model = ResMLP(IN, C, d=D, blocks=L).eval()
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(N, IN, generator=gen), torch.randint(C, (N,), generator=gen)
    return model, DFA(model, C, torch.Generator().manual_seed(2)), x, y


def reference_nudge(model: nn.Module, x: Tensor, y: Tensor, credits, eta: float, norm: str):
    """ΔCE_l written out from the arch contract in float64 from the fp32 model's states (what
    is measured): h_{l+1} = h_l + block_l(h_l), logits = head(out_ln(h_L)); the step is
    a/(sqrt(mean_j a_j^2) + 1e-6) or a/||a||."""
    m = ResMLP(IN, C, d=D, blocks=L).double().eval()
    m.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    with torch.no_grad():
        hs = [model.embed(x)]
        for block in model.blocks:
            hs.append(hs[-1] + block(hs[-1]))
        hs = [h.double() for h in hs]

        def ce_from(layer: int, h: Tensor) -> float:
            for block in m.blocks[layer:]:
                h = h + block(h)
            return float(F.cross_entropy(m.head(m.out_ln(h)), y))

        out = []
        for layer, a in enumerate(credits):
            a = a.double()
            if norm == "rms":
                step = a / (a.pow(2).mean(dim=1, keepdim=True).sqrt() + 1e-6)
            else:
                step = a / a.norm(dim=1, keepdim=True)
            out.append(ce_from(layer, hs[layer] - eta * step) - ce_from(layer, hs[layer]))
    return out


@pytest.mark.parametrize("norm", ["rms", "unit"])
def test_nudge_matches_an_independent_computation(norm: str) -> None:
    model, dfa, x, y = setup()
    opts = MeasureOptions(eval_batch=N, nudge_norm=norm)
    p = make_probe(model, dfa, x, y, opts)
    got = [float(v) for v in nudge_layers(p)]  # type: ignore[union-attr]
    want = reference_nudge(model, x, y, p.credits, 0.01, norm)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-15)
    assert all(v != 0 for v in want)


def test_rms_step_is_sqrt_d_times_the_unit_step() -> None:
    """â = a/(RMS(a) + 1e-6) has norm ≈ √d: in the linear regime the rms nudge is √d = 8 times
    the unit one at d = 64 (the paper's nudging values are absolute, so the choice matters)."""
    model, dfa, x, y = setup()
    rms = nudge_layers(make_probe(model, dfa, x, y, MeasureOptions(eval_batch=N, nudge_eta=1e-4)))
    unit = nudge_layers(
        make_probe(
            model, dfa, x, y, MeasureOptions(eval_batch=N, nudge_eta=1e-4, nudge_norm="unit")
        )
    )
    for r, u in zip(rms, unit, strict=True):  # type: ignore[arg-type]
        assert float(r) / float(u) == pytest.approx(math.sqrt(D), rel=0.02)


def test_nudge_norm_is_an_option_in_the_run_hash() -> None:
    from faspec.config import run_hash

    rms = normalize_config({})
    unit = normalize_config({"measure": {"nudge_norm": "unit"}})
    assert rms["measure"]["nudge_norm"] == "rms" and unit["measure"]["nudge_norm"] == "unit"
    assert run_hash(rms) != run_hash(unit)
    assert MeasureOptions.from_config(rms["measure"]).nudge_norm == "rms"


def per_sample_grad_norms(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """‖∂(batch-mean CE)/∂h_L(x_i)‖ per sample, by autograd on the whole batch."""
    h = model.embed(x)
    for block in model.blocks:
        h = h + block(h)
    h = h.detach().requires_grad_(True)
    loss = F.cross_entropy(model.head(model.out_ln(h)), y)
    (g,) = torch.autograd.grad(loss, h)
    return g.double().norm(dim=1)


def test_per_sample_gradients_of_the_batch_mean_scale_as_one_over_the_batch() -> None:
    """The same samples in a batch twice as large get exactly half the gradient: g_L(x) of the
    batch-mean CE is (1/B)·∂CE_x/∂h_L(x) (no batch statistics in eval mode)."""
    model, _, x, y = setup()
    small = per_sample_grad_norms(model, x[:64], y[:64])
    large = per_sample_grad_norms(model, x, y)[:64]
    assert (small / large).tolist() == pytest.approx([2.0] * 64, rel=1e-5)


def test_sparsity_threshold_is_scaled_like_the_floor() -> None:
    """Sparsity counts the same samples whatever the evaluation batch: on the batch [x; x]
    every per-sample g halves and so does the threshold (τ·1024/N)."""
    model, dfa, x, y = setup()
    norms = per_sample_grad_norms(model, x, y)
    tau = float(norms.median()) * N / 1024  # the threshold at N falls inside the spread
    opts = MeasureOptions(eval_batch=N, sparsity_tau=tau)
    assert sparsity_tau_at(opts, N) == pytest.approx(float(norms.median()))
    once = float(sparsity_diagnostics(make_probe(model, dfa, x, y, opts))["sparsity"])
    xx, yy = torch.cat([x, x]), torch.cat([y, y])
    twice = float(sparsity_diagnostics(make_probe(model, dfa, xx, yy, opts))["sparsity"])
    want = float((norms > norms.median()).double().mean())
    assert once == pytest.approx(want) and twice == pytest.approx(want)
    assert 0.3 < want < 0.7
    # unscaled (the old rule), the doubled batch would count no sample above the median
    assert float((norms / 2 > norms.median()).double().mean()) == 0.0
