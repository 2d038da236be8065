"""Metric conventions: no-eps cosine, median of per-sample norms, batch-mean gradient."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from faspec.train.measure import (
    make_probe,
    mean_cosine,
    median_norm,
    per_sample_cosine,
    scalar_summaries,
    to_python,
)
from faspec.train.methods import BP, DFA, Frozen, exact_gradients
from faspec.train.models import ResMLP


def _ref_cos(a: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    a, g = a.double(), g.double()
    return (a * g).sum(-1) / (a.norm(dim=-1) * g.norm(dim=-1))


def test_cosine_has_no_eps_clamp() -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(64, 32, generator=gen)
    g = (a + torch.randn(64, 32, generator=gen)) * 1e-12  # the gradient-floor regime
    ref = _ref_cos(a, (g.double()))
    ours = per_sample_cosine(a, g)
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours.double(), ref, rtol=0, atol=1e-6)
    torch.testing.assert_close(mean_cosine(a, g).double(), ref.mean(), rtol=0, atol=1e-6)
    eps_clamped = F.cosine_similarity(a, g, dim=-1, eps=1e-8)
    assert (eps_clamped.double() - ref).abs().min() > 0.1  # what the convention avoids


def test_cosine_survives_fp32_underflow_and_skips_zero_vectors() -> None:
    a = torch.tensor([[1.0, 2.0, 3.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    g = torch.tensor([[1e-30, 2e-30, 3e-30], [0.0, 0.0, 0.0], [0.0, -1e-25, 0.0]])
    cos = per_sample_cosine(a, g)
    assert abs(cos[0].item() - 1.0) < 1e-6 and torch.isnan(cos[1]) and cos[2].item() == -1.0
    assert abs(mean_cosine(a, g).item()) < 1e-6  # mean of +1 and -1, the zero row left out
    assert torch.isnan(mean_cosine(a[1:2], g[1:2]))  # nothing defined -> NaN -> null


def test_median_of_per_sample_norms() -> None:
    h = torch.randn(101, 7, generator=torch.Generator().manual_seed(2))
    expected = np.median(np.linalg.norm(h.numpy(), axis=-1))
    assert abs(median_norm(h).item() - expected) < 1e-5
    h2 = h[:100]  # even count: numpy's mean of the two middle values
    expected2 = np.median(np.linalg.norm(h2.numpy(), axis=-1))
    assert abs(median_norm(h2).item() - expected2) < 1e-5


def test_probe_g_is_batch_mean_gradient_and_cosines() -> None:
    torch.manual_seed(0)
    model = ResMLP(6, 4, d=8, blocks=2)
    x, y = torch.randn(50, 6), torch.randint(4, (50,))
    p = make_probe(model, BP(model, 4, torch.Generator()), x, y)
    per_sample = exact_gradients(model, x, y, reduction="sum")[2]
    for g, gs in zip(p.gs, per_sample, strict=True):
        torch.testing.assert_close(g * 50, gs)  # carries 1/N
    assert len(p.hs) == 3 and len(p.credits) == 3
    assert make_probe(model, Frozen(model, 4, torch.Generator()), x, y).credits is None
    pd = make_probe(model, DFA(model, 4, torch.Generator()), x, y)
    assert len(pd.credits) == 3


def test_scalar_summaries() -> None:
    entry = {
        "h_norm_layers": [2.0, 4.0, 6.0],
        "g_norm_layers": [1e-3, 1e-4, 1e-5],
        "cos_layers": [0.5, 0.2, 0.4],
    }
    s = scalar_summaries(entry)
    assert s == {
        "h_norm": 6.0,
        "g_norm": 1e-5,
        "deep_cos": (0.2 + 0.4) / 2,
        "gamma": (0.5 + 0.2 + 0.4) / 3,
        "growth": 2.0,
    }
    s = scalar_summaries({**entry, "cos_layers": None})
    assert s["deep_cos"] is None and s["gamma"] is None
    s = scalar_summaries({**entry, "cos_layers": [0.5, None, 0.1]})
    assert s["deep_cos"] is None


def test_to_python_plain_floats_nan_to_none() -> None:
    out = to_python(
        {
            "a": torch.tensor(1.5),
            "b": [torch.tensor(float("nan")), torch.tensor(2.0)],
            "c": None,
            "d": float("inf"),
        }
    )
    assert out == {"a": 1.5, "b": [None, 2.0], "c": None, "d": None}
    assert type(out["a"]) is float
