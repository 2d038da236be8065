"""State Bridge (SB) and Credit Bridge (CB): block-local training with learned feedback nets.

docs/methods.md reconstructs both from the paper's notes. Every [G] choice there is an option here,
and docs/methods.md gives each default.

One feedback net serves every layer. It reads u = [LN(h_l), time-embed(t_l), s], where t_l is
the layer index l = 0..L and s is the conditioning code: e_T = softmax(z) − onehot(y) by default
(`condition: error`), or δ_L = ∂CE/∂h_L (`condition: delta`). The first layer computes
W_h·LN(h_l) + E[t_l] + W_s·s, which is a linear layer on the concatenation, written as a sum. An
MLP trunk of `depth` hidden layers of `hidden` units (`act`) follows. LN has no affine
parameters, because W_h supplies them. When the h_l differ in width (SmallCNN), each layer gets
its own W_h and the trunk is still shared.

* SB: a predictor P(h_l, t_l, s) → ĥ_L. It trains on the normalized MSE
  ‖P − h_L‖²/(‖h_L‖² + 1e-6), summed over layers and averaged over the batch. The credit is its
  vector–Jacobian product a_l = J_Pᵀ δ_L with J_P = ∂P/∂h_l.
* CB: a value V(h_l, t_l, s) ∈ R, and the credit a_l = ∇_{h_l} V. It has three losses.
  Consistency, over l < L: V(h_l) ≈ softmin_k V̄(h_{l+1} + σ·RMS(h_{l+1})·ξ_k), with K noise
  draws ξ_k, soft-min −τ·log-mean-exp(−V̄/τ), and V̄ an EMA copy of V. Terminal value:
  V(h_L) ≈ CE_i, per sample. Terminal gradient matching, weighted by `tgw`:
  ‖∇_h V(h_L) − δ_L‖². It is output-local, because δ_L comes through out_ln and the head only.

Both bridges share the rest. The credit is normalized per sample, â = a/(RMS_feature(a) + 1e-6)
(`normalize`). For the first `warmup` fraction of the epochs, the blocks train on DFA credit
B_l·e_T instead, normalized the same way. The B_l are drawn as DFA draws them, so one seed gives
DFA and the bridge the same B. The blocks then train on the block-local loss: the embed unit on
a_0, block l on a_{l+1}, out_ln and the head on the CE.

Gradient isolation. The feedback net sees only detached h_l, s, h_L, δ_L and CE, so no loss of
the net reaches the main network. The main network sees only detached credits, so no
block-local loss reaches the net. The net's parameters join the run's single AdamW (same lr,
schedule and weight decay). They are method parameters and live in `method.state_dict()`, which
means the checkpoint, together with the EMA target V̄ and the warm-up B_l. With
`train.grad_clip`, the net's gradient is clipped apart from the main network's.

Randomness: the net's init and CB's noise come from the run's feedback stream, so a run
reproduces exactly.
"""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from faspec.train.methods.base import (
    BlockLocalMethod,
    UnitForward,
    block_local_loss,
    head_gradient,
    output_error,
    rms_normalize,
    unit_forward,
    widths,
)
from faspec.train.methods.dfa import register_dfa_feedback

ACTS = {"gelu": nn.GELU, "relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU}
NMSE_EPS = 1e-6  # ‖h_L‖² + eps in SB's normalized MSE
NORM_EPS = 1e-6  # RMS(a) + eps in the credit normalization [N]


class BridgeNet(nn.Module):
    """The feedback net: [LN(h_l), E[t_l], s] -> MLP -> `out_dim` (see the module docstring)."""

    def __init__(
        self, ws: list[int], s_dim: int, hidden: int, depth: int, act: str, out_dim: int
    ) -> None:
        super().__init__()
        self.shared = len(set(ws)) == 1
        self.inp = nn.ModuleList(nn.Linear(w, hidden) for w in (ws[:1] if self.shared else ws))
        self.time = nn.Embedding(len(ws), hidden)
        self.cond = nn.Linear(s_dim, hidden, bias=False)
        layers: list[nn.Module] = []
        for _ in range(depth - 1):
            layers += [ACTS[act](), nn.Linear(hidden, hidden)]
        layers += [ACTS[act](), nn.Linear(hidden, out_dim)]
        self.trunk = nn.Sequential(*layers)

    def forward(self, h: Tensor, t: int | Tensor, s: Tensor) -> Tensor:
        """Net output for states `h` at layer index `t` (an int, or a per-row index tensor when
        the layers are stacked along the batch, which needs a shared input layer)."""
        u = F.layer_norm(h, h.shape[-1:])
        if isinstance(t, int):
            z = self.inp[0 if self.shared else t](u) + self.time.weight[t]
        else:
            z = self.inp[0](u) + self.time(t)
        return self.trunk(z + self.cond(s))


class Bridge(BlockLocalMethod):
    """What SB and CB share: the feedback net, s, normalization, DFA warm-up, loss assembly."""

    out_kind: ClassVar[str] = ""  # "state" (SB) or "value" (CB)

    def __init__(
        self,
        model: nn.Module,
        num_classes: int,
        generator: torch.Generator,
        condition: str = "error",
        hidden: int = 256,
        depth: int = 2,
        act: str = "gelu",
        normalize: bool = True,
        warmup: float = 0.0,
        **options: Any,
    ) -> None:
        super().__init__(model, num_classes, generator, **options)
        self.condition = condition
        self.normalize = bool(normalize)
        self.warmup = float(warmup)
        self.warm = False  # set per epoch by begin_epoch; a rebuilt method is past warm-up
        self.ws = widths(model)
        # draw order on the feedback stream: the DFA B_l first (the same as DFA's), then the
        # seeds of the net's init and of the training noise
        self.n_feedback = register_dfa_feedback(self, model, num_classes, generator)
        init_seed, self.noise_seed = (
            int(v) for v in torch.randint(2**62, (2,), generator=generator)
        )
        s_dim = num_classes if condition == "error" else self.ws[-1]
        out_dim = self.ws[-1] if self.out_kind == "state" else 1
        dtype = model.head.weight.dtype
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            self.net = BridgeNet(self.ws, s_dim, hidden, depth, act, out_dim).to(dtype)
        self._noise_gen: torch.Generator | None = None

    # -- bookkeeping ---------------------------------------------------------------------------

    def begin_epoch(self, epoch: int, epochs: int) -> None:
        self.warm = (epoch - 1) < self.warmup * epochs

    def trainable_parameters(self, model: nn.Module) -> list[nn.Parameter]:
        return [*super().trainable_parameters(model), *self.net.parameters()]

    def clip_gradients(self, model: nn.Module, max_norm: float) -> None:
        torch.nn.utils.clip_grad_norm_(super().trainable_parameters(model), max_norm)
        torch.nn.utils.clip_grad_norm_(list(self.net.parameters()), max_norm)

    def noise_generator(self, device: torch.device) -> torch.Generator:
        if self._noise_gen is None or self._noise_gen.device != device:
            self._noise_gen = torch.Generator(device=device).manual_seed(self.noise_seed)
        return self._noise_gen

    # -- signals --------------------------------------------------------------------------------

    def signals(self, model: nn.Module, fwd: UnitForward, y: Tensor) -> tuple[Tensor, Tensor]:
        """(s, δ_L), detached: the conditioning code and the per-sample ∂CE_i/∂h_L."""
        _, delta = head_gradient(model, fwd.hs[-1], y)
        s = output_error(fwd.logits, y) if self.condition == "error" else delta
        return s.detach(), delta

    def finish(self, credits: list[Tensor]) -> list[Tensor]:
        return [rms_normalize(a, NORM_EPS) for a in credits] if self.normalize else credits

    def dfa_credits(self, fwd: UnitForward, y: Tensor) -> list[Tensor]:
        e = output_error(fwd.logits, y)
        return [e @ getattr(self, f"B{i}").T for i in range(self.n_feedback)]

    def bridge(
        self, model: nn.Module, fwd: UnitForward, y: Tensor, train: bool
    ) -> tuple[list[Tensor], Tensor | None]:
        """(raw credits a_0..a_L, the feedback net's loss or None when not `train`)."""
        raise NotImplementedError

    def layer_inputs(self, hs: list[Tensor]) -> tuple[list[Tensor], Tensor | None, Tensor | None]:
        """Leaves h_l (detached, requiring grad) and, for a shared input layer, their stack
        with its per-row layer index — one net call for all layers."""
        leaves = [h.detach().requires_grad_(True) for h in hs]
        if not self.net.shared:
            return leaves, None, None
        n = len(hs[0])
        stacked = torch.cat(leaves, dim=0)
        t = torch.arange(len(hs), device=stacked.device).repeat_interleave(n)
        return leaves, stacked, t

    # -- the method ---------------------------------------------------------------------------

    def loss(self, model: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        fwd = unit_forward(model, x, local=True)
        raw, net_loss = self.bridge(model, fwd, y, train=True)
        credits = self.dfa_credits(fwd, y) if self.warm else raw
        loss, ce = block_local_loss(
            fwd, self.finish([a.detach() for a in credits]), y, self.penalty
        )
        assert net_loss is not None
        return loss + net_loss, ce

    def credits_from(self, model: nn.Module, fwd: UnitForward, y: Tensor) -> list[Tensor]:
        """The bridge's own (normalized) credit — also during warm-up: it is what is measured."""
        return self.finish(self.bridge(model, fwd, y, train=False)[0])

    def credits(self, model: nn.Module, x: Tensor, y: Tensor) -> list[Tensor]:
        with torch.no_grad():
            fwd = unit_forward(model, x, local=True)
        return [a.detach() for a in self.credits_from(model, fwd, y)]


class StateBridge(Bridge):
    """SB: predictor P(h_l, t_l, s) → ĥ_L; credit a_l = J_Pᵀ δ_L, normalized."""

    name = "sb"
    out_kind = "state"

    def predictor_vjp(
        self, hs: list[Tensor], s: Tensor, delta: Tensor, keep_graph: bool
    ) -> tuple[list[Tensor], list[Tensor]]:
        """(predictions P_l, credits J_Pᵀ δ_L), from detached states."""
        with torch.enable_grad():
            leaves, stacked, t = self.layer_inputs(hs)
            n = len(hs[0])
            if stacked is not None:
                p = self.net(stacked, t, s.repeat(len(hs), 1))
                (g,) = torch.autograd.grad(
                    p, stacked, delta.repeat(len(hs), 1), retain_graph=keep_graph
                )
                return list(p.split(n)), list(g.split(n))
            preds = [self.net(h, i, s) for i, h in enumerate(leaves)]
            grads = torch.autograd.grad(
                preds, leaves, [delta] * len(preds), retain_graph=keep_graph
            )
            return preds, list(grads)

    def bridge(
        self, model: nn.Module, fwd: UnitForward, y: Tensor, train: bool
    ) -> tuple[list[Tensor], Tensor | None]:
        s, delta = self.signals(model, fwd, y)
        hs = [h.detach() for h in fwd.hs]
        preds, credits = self.predictor_vjp(hs, s, delta, keep_graph=train)
        if not train:
            return [a.detach() for a in credits], None
        target = hs[-1]
        denom = target.pow(2).sum(dim=-1) + NMSE_EPS
        nmse = sum(((p - target).pow(2).sum(dim=-1) / denom).mean() for p in preds)
        return [a.detach() for a in credits], nmse


class CreditBridge(Bridge):
    """CB: value V(h_l, t_l, s) ∈ R; credit a_l = ∇_{h_l} V, normalized; bridge consistency,
    terminal value and terminal gradient matching (tgw) losses."""

    name = "cb"
    out_kind = "value"

    def __init__(
        self,
        model: nn.Module,
        num_classes: int,
        generator: torch.Generator,
        tgw: float = 1.0,
        value_weight: float = 1.0,
        consistency: float = 1.0,
        ema: float = 0.99,
        noise: float = 0.1,
        noise_samples: int = 4,
        tau: float = 0.1,
        warmup: float = 0.2,
        **options: Any,
    ) -> None:
        super().__init__(model, num_classes, generator, warmup=warmup, **options)
        self.tgw = float(tgw)
        self.value_weight = float(value_weight)
        self.consistency = float(consistency)
        self.ema = float(ema)
        self.noise = float(noise)
        self.noise_samples = int(noise_samples)
        self.tau = float(tau)
        self.target = copy.deepcopy(self.net)  # V̄: not trained, EMA of V, saved with the run
        self.target.requires_grad_(False)

    def values_and_grads(
        self, hs: list[Tensor], s: Tensor, create_graph: bool, keep_graph: bool
    ) -> tuple[list[Tensor], list[Tensor]]:
        """(V_l per sample, ∇_{h_l} V_l per sample), from detached states. `create_graph`: the
        gradients can be differentiated (terminal matching); `keep_graph`: the values can still
        be backpropagated (the value losses)."""
        with torch.enable_grad():
            leaves, stacked, t = self.layer_inputs(hs)
            n = len(hs[0])
            if stacked is not None:
                v = self.net(stacked, t, s.repeat(len(hs), 1)).squeeze(-1)
                (g,) = torch.autograd.grad(
                    v.sum(), stacked, create_graph=create_graph, retain_graph=keep_graph
                )
                return list(v.split(n)), list(g.split(n))
            vs = [self.net(h, i, s).squeeze(-1) for i, h in enumerate(leaves)]
            grads = torch.autograd.grad(
                sum(v.sum() for v in vs), leaves, create_graph=create_graph, retain_graph=keep_graph
            )
            return vs, list(grads)

    @torch.no_grad()
    def update_target(self) -> None:
        """V̄ ← ema·V̄ + (1 − ema)·V, once per training step (before its targets are used)."""
        for pt, p in zip(self.target.parameters(), self.net.parameters(), strict=True):
            pt.lerp_(p, 1.0 - self.ema)

    @torch.no_grad()
    def consistency_targets(self, hs: list[Tensor], s: Tensor) -> list[Tensor]:
        """softmin_k V̄(h_{l+1} + σ·RMS(h_{l+1})·ξ_k, t_{l+1}, s) for l = 0..L−1."""
        out = []
        k = self.noise_samples
        for i in range(1, len(hs)):
            h = hs[i]
            rms = h.pow(2).mean(dim=-1, keepdim=True).sqrt()
            xi = torch.randn(
                (k, *h.shape),
                generator=self.noise_generator(h.device),
                device=h.device,
                dtype=h.dtype,
            )
            noisy = (h.unsqueeze(0) + self.noise * rms.unsqueeze(0) * xi).flatten(0, 1)
            v = self.target(noisy, i, s.repeat(k, 1)).view(k, len(h))
            out.append(-self.tau * (torch.logsumexp(-v / self.tau, dim=0) - math.log(k)))
        return out

    def bridge(
        self, model: nn.Module, fwd: UnitForward, y: Tensor, train: bool
    ) -> tuple[list[Tensor], Tensor | None]:
        s, delta = self.signals(model, fwd, y)
        hs = [h.detach() for h in fwd.hs]
        values, grads = self.values_and_grads(
            hs, s, create_graph=train and self.tgw > 0, keep_graph=train
        )
        credits = [g.detach() for g in grads]
        if not train:
            return credits, None
        self.update_target()
        targets = self.consistency_targets(hs, s)
        cons = sum(((v - tv).pow(2)).mean() for v, tv in zip(values[:-1], targets, strict=True))
        ce_i = F.cross_entropy(fwd.logits.detach(), y, reduction="none")
        val = (values[-1] - ce_i).pow(2).mean()
        loss = self.consistency * cons + self.value_weight * val
        if self.tgw > 0:
            loss = loss + self.tgw * (grads[-1] - delta).pow(2).sum(dim=-1).mean()
        return credits, loss
