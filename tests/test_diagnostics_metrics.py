"""Credit-quality metrics and protocol diagnostics on constructed models with known answers."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from faspec import protocol as P
from faspec.train.measure import (
    MeasureOptions,
    epoch_entry,
    make_probe,
    per_sample_cosine,
    rho_layers,
    stability,
)
from faspec.train.methods import BP, DFA, FA, Method, exact_gradients
from faspec.train.models import ResMLP
from faspec.train.tracker import Tracker

N, D, C, IN = 256, 16, 4, 8


class Scale(nn.Module):
    """A block whose residual update is (k − 1)·h, so that h_{l+1} = k·h_l exactly."""

    def __init__(self, k: float) -> None:
        super().__init__()
        self.k = k

    def forward(self, h: Tensor) -> Tensor:
        return (self.k - 1.0) * h


def scaled_model(k: float, blocks: int = 2, embed_scale: float = 1.0) -> ResMLP:
    """A ResMLP (terminal LayerNorm) whose blocks multiply the stream by k and whose embedding
    is scaled by `embed_scale` (an enormous residual stream from the first layer on)."""
    torch.manual_seed(0)
    model = ResMLP(IN, C, d=D, blocks=blocks)
    model.blocks = nn.ModuleList(Scale(k) for _ in range(blocks))
    with torch.no_grad():
        model.embed.weight.mul_(embed_scale)
        model.embed.bias.mul_(embed_scale)
    return model.eval()


def batch(n: int = N) -> tuple[Tensor, Tensor]:
    gen = torch.Generator().manual_seed(1)
    return torch.randn(n, IN, generator=gen), torch.randint(C, (n,), generator=gen)


CFG = {"seed": 0, "method": {"name": "bp"}, "measure": {"protocol": P.defaults()}}
OPTS = MeasureOptions(eval_batch=N, rho_batch=64, rho_dirs=8)


def tracked_entry(model: nn.Module, method: Method) -> dict:
    x, y = batch()
    tracker = Tracker(CFG)
    entry = epoch_entry(model, method, x, y, N, 0, 1.0, OPTS)
    entry.update(tracker.update(entry))
    return entry


def test_growth_100x_per_block_fires_a_and_10x_does_not() -> None:
    for k, fires in ((100.0, 1), (10.0, 0)):
        model = scaled_model(k)
        e = tracked_entry(model, BP(model, C, torch.Generator()))
        assert abs(e["growth"] - k) / k < 1e-4
        assert e["fired_a"] == fires and e["trustworthy"] == (0 if fires else None)  # (d) pending


def test_terminal_layernorm_on_enormous_stream_fires_b_only() -> None:
    model = scaled_model(1.0, embed_scale=1e9)  # blocks add nothing: growth 1
    e = tracked_entry(model, BP(model, C, torch.Generator()))
    assert e["g_norm"] < 1e-7 and e["growth"] < 1.001
    assert (e["fired_a"], e["fired_b"], e["ref_degenerate"]) == (0, 1, 1)
    assert e["cos_layers"] is not None  # still computed, and flagged by ref_degenerate
    assert all(abs(c - 1.0) < 1e-5 for c in e["cos_layers"])  # no eps: exact credit -> 1
    calm = scaled_model(1.0)
    e = tracked_entry(calm, BP(calm, C, torch.Generator()))
    assert e["g_norm"] > 1e-5 and (e["fired_b"], e["ref_degenerate"]) == (0, 0)


def test_true_gradient_credit_has_cosine_one_rho_one_and_helps() -> None:
    torch.manual_seed(3)
    model = ResMLP(IN, C, d=D, blocks=3).eval()
    e = tracked_entry(model, BP(model, C, torch.Generator()))
    assert all(abs(c - 1.0) < 1e-5 for c in e["cos_layers"])
    assert all(r > 0.99 for r in e["rho_layers"]) and e["rho"] > 0.99
    assert all(v < 0 for v in e["nudge_layers"]) and e["nudge"] < 0  # stepping against helps


class RandomCredit(BP):
    """A credit unrelated to the gradient: ρ ≈ 0, cosine ≈ 0."""

    def credits(self, model: nn.Module, x: Tensor, y: Tensor) -> list[Tensor]:
        gen = torch.Generator().manual_seed(5)
        hs = model(x, return_hidden=True)[1]
        return [torch.randn(h.shape, generator=gen) for h in hs]


def test_unrelated_credit_has_rho_near_zero() -> None:
    torch.manual_seed(3)
    model = ResMLP(IN, C, d=D, blocks=3).eval()
    x, y = batch()
    p = make_probe(model, RandomCredit(model, C, torch.Generator()), x, y, OPTS)
    rho = torch.stack(rho_layers(p))
    assert rho.abs().max() < 0.15


def test_rho_resolves_an_enormous_stream_in_float64_only() -> None:
    model = scaled_model(1.0, embed_scale=1e9)
    x, y = batch()
    bp = BP(model, C, torch.Generator())
    rho64 = rho_layers(make_probe(model, bp, x, y, OPTS))
    assert all(float(r) > 0.99 for r in rho64)
    rho32 = rho_layers(
        make_probe(model, bp, x, y, MeasureOptions(**{**OPTS.__dict__, "fd_dtype": "float32"}))
    )
    assert all(torch.isnan(r) or float(r) < 0.9 for r in rho32)  # h + εu == h in fp32


def _ref_cos(a: Tensor, g: Tensor) -> Tensor:
    a, g = a.double().flatten(1), g.double().flatten(1)
    return ((a * g).sum(-1) / (a.norm(dim=-1) * g.norm(dim=-1))).mean()


def test_cosine_matches_float64_reference_at_the_gradient_floor() -> None:
    """FA and DFA credits on a model past the floor (‖g‖ ~ 1e-12): our fp32 cosine matches a
    float64 recomputation of the whole probe; F.cosine_similarity's eps=1e-8 crushes it."""
    model = scaled_model(1.0, embed_scale=1e9)
    x, y = batch()
    for cls in (FA, DFA):
        method = cls(model, C, torch.Generator().manual_seed(2))
        p = make_probe(model, method, x, y)
        assert float(p.gs[-1].norm(dim=-1).median()) < 1e-9
        m64 = scaled_model(1.0, embed_scale=1e9).double()
        meth64 = cls(m64, C, torch.Generator().manual_seed(2)).double()
        _, _, g64 = exact_gradients(m64, x.double(), y, reduction="mean")
        a64 = meth64.credits(m64, x.double(), y)
        for layer, (a, g) in enumerate(zip(p.credits, p.gs, strict=True)):
            ours = torch.nanmean(per_sample_cosine(a, g)).double()
            ref = _ref_cos(a64[layer], g64[layer])
            assert abs(ours - ref) < 1e-4, (cls.__name__, layer)
            eps = F.cosine_similarity(a, g, dim=-1, eps=1e-8).mean().double()
            if abs(ref) > 0.05:
                assert abs(eps - ref) > 0.5 * abs(ref)  # what the convention avoids


def test_stability_one_for_sample_invariant_zero_for_independent() -> None:
    gen = torch.Generator().manual_seed(0)
    v = torch.randn(64, generator=gen)
    same = v + 0.01 * torch.randn(1024, 64, generator=gen)
    assert float(stability(same * 1e-12, 128)) > 0.99  # scale-free, no underflow
    indep = torch.randn(1024, 64, generator=gen)
    assert abs(float(stability(indep, 128))) < 0.1
    assert torch.isnan(stability(indep[:200], 128))  # fewer than two batches


def test_sparsity_counts_per_sample_gradients_above_tau() -> None:
    model = scaled_model(1.0)
    e = tracked_entry(model, BP(model, C, torch.Generator()))
    assert e["sparsity"] == 1.0  # healthy: every ||g_L(x)|| ~ 1e-3 / sample
    dead = scaled_model(1.0, embed_scale=1e9)
    assert tracked_entry(dead, BP(dead, C, torch.Generator()))["sparsity"] == 0.0
