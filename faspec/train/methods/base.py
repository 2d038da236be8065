"""The method interface and the pieces every method shares (docs/methods.md).

A method is an `nn.Module` so that its fixed random state (the feedback matrices B) is made of
*buffers*: they live in `method.state_dict()` (hence in the checkpoint), follow `.to(device)`,
and are never handed to the optimizer, so they are neither trained nor weight-decayed.

Units and credits. Unit 0 is `embed` (its output is h_0); unit l+1 is block l (its output is
f_l(h_l)). The credit a_0 sits at h_0, a_{l+1} at h_{l+1}; because h_{l+1} = h_l + f_l(h_l)
(or f_l(h_l)), ∂L/∂f_l = ∂L/∂h_{l+1}, so a_{l+1} is the credit of block l's output.

Credits are *per sample*: a_u[i] ≈ ∂CE_i/∂(unit output)[i], not divided by the batch size. The
block-local loss takes the batch *mean* of ⟨f_u, a_u⟩, which puts the 1/N back: its parameter
gradient is exactly BP's gradient of the batch-mean CE when a_u is the true per-sample gradient
(tested). Keeping the credit un-normalized matters for the λ‖f‖² balance (docs/methods.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from faspec.components import COMMON_OPTIONS  # the options every method shares (declared there)

__all__ = ["COMMON_OPTIONS"]  # re-exported for plug-ins (README, "Adding a method")


def widths(model: nn.Module) -> list[int]:
    """Feature size of h_0..h_L (the arch contract's `widths`; a model without it is taken to
    be one width, the head's input)."""
    w = getattr(model, "widths", None)
    return list(w) if w is not None else [model.head.in_features] * (len(model.blocks) + 1)


def rms_normalize(a: Tensor, eps: float = 1e-6) -> Tensor:
    """â = a / (RMS_feature(a) + eps), per sample (docs/methods.md, CB): every sample's
    credit gets unit root-mean-square entry, whatever the scale of the signal it came from."""
    return a / (a.pow(2).mean(dim=-1, keepdim=True).sqrt() + eps)


@contextmanager
def preserve_batchnorm_stats(model: nn.Module) -> Iterator[None]:
    """Extra forward passes of a training step (EP's relaxation) must not move BatchNorm's
    running statistics. Inside, every BN module works on copies of its statistics (it still
    normalizes with the statistics of the batch it sees, as the free phase did); afterwards the
    original tensors are put back untouched — never written in place, because the free phase's
    autograd graph holds them."""
    keys = ("running_mean", "running_var", "num_batches_tracked")
    saved = []
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            state = {k: getattr(m, k) for k in keys if getattr(m, k, None) is not None}
            saved.append((m, state))
            for k, v in state.items():
                setattr(m, k, v.clone())
    try:
        yield
    finally:
        for m, state in saved:
            for k, v in state.items():
                setattr(m, k, v)


@dataclass
class UnitForward:
    """One forward pass seen unit by unit.

    `units[0]` = h_0 = embed(x), `units[l+1]` = f_l(block input); `hs` = [h_0..h_L];
    `logits` = head_logits(h_L). With `local=True` every block input and the head input are
    detached, so each unit's graph ends at its own input (no gradient crosses units).
    """

    units: list[Tensor]
    hs: list[Tensor]
    logits: Tensor


def unit_forward(model: nn.Module, x: Tensor, local: bool) -> UnitForward:
    """Run `model` unit by unit (the arch contract), optionally cutting the graph between units."""
    h = model.embed(x.flatten(1))
    units, hs = [h], [h]
    for block in model.blocks:
        h_in = h.detach() if local else h
        f = block(h_in)
        h = model.combine(h_in, f)
        units.append(f)
        hs.append(h)
    logits = model.head_logits(h.detach() if local else h)
    return UnitForward(units, hs, logits)


def exact_gradients(
    model: nn.Module, x: Tensor, y: Tensor, reduction: str = "sum"
) -> tuple[Tensor, list[Tensor], list[Tensor]]:
    """(logits, [h_l], [∂CE/∂h_l]) by autograd, with no parameter gradients accumulated.

    `reduction="sum"` gives the per-sample gradients ∂CE_i/∂h_l[i] (samples do not interact:
    LayerNorm is per sample); `"mean"` gives the batch-mean gradient (carries 1/N), which the
    metrics use. The graph starts at a detached h_0 so frozen parameters do not matter.
    """
    with torch.enable_grad():
        h = model.embed(x.flatten(1)).detach().requires_grad_(True)
        hs = [h]
        for block in model.blocks:
            h = model.combine(h, block(h))
            hs.append(h)
        logits = model.head_logits(h)
        ce = F.cross_entropy(logits, y, reduction=reduction)
        gs = torch.autograd.grad(ce, hs)
    return logits.detach(), [t.detach() for t in hs], [g.detach() for g in gs]


def head_gradient(model: nn.Module, h_last: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """(logits, per-sample ∂CE_i/∂h_L) through `out_ln` and `head` only.

    One rule for packed and unpacked runs: inside a packed step (vmap, faspec.train.stack)
    `torch.autograd.grad` is not allowed, so there the same sum is differentiated with
    `torch.func.grad`; elsewhere autograd.grad is used, because torch.func's first call imports
    ~900 modules (about 1 s) that an unpacked run does not otherwise need."""
    if torch._C._functorch.is_functorch_wrapped_tensor(h_last):

        def ce_sum(h: Tensor) -> tuple[Tensor, Tensor]:
            logits = model.head_logits(h)
            return F.cross_entropy(logits, y, reduction="sum"), logits

        g, logits = torch.func.grad(ce_sum, has_aux=True)(h_last.detach())
        return logits.detach(), g.detach()
    with torch.enable_grad():
        h = h_last.detach().requires_grad_(True)
        logits = model.head_logits(h)
        (g,) = torch.autograd.grad(F.cross_entropy(logits, y, reduction="sum"), [h])
    return logits.detach(), g.detach()


def uses_penalty(penalty: float | Tensor) -> bool:
    """Whether the λ‖f‖² term is added: a nonzero float, or a tensor (a per-member λ inside a
    packed step, which cannot be tested for zero without a device sync; 0·‖f‖² adds nothing)."""
    return isinstance(penalty, Tensor) or bool(penalty)


def output_error(logits: Tensor, y: Tensor) -> Tensor:
    """e = softmax(z) − onehot(y), per sample: ∂CE_i/∂z_i, the ascent direction."""
    return torch.softmax(logits.detach(), dim=-1) - F.one_hot(y, logits.shape[-1]).to(logits.dtype)


def block_local_loss(
    fwd: UnitForward, credits: list[Tensor], y: Tensor, penalty: float | Tensor = 0.0
) -> tuple[Tensor, Tensor]:
    """(loss to backward, CE): Σ_u mean_batch⟨unit_u, a_u⟩ + λ Σ_l mean_batch‖f_l‖² + CE(head).

    Minimizing ⟨f, a⟩ moves f along −a (a points uphill). The CE term trains `out_ln` and the
    head on h_L.detach() (they are output-local). `fwd` must come from `unit_forward(local=True)`.
    """
    if len(credits) != len(fwd.units):
        raise ValueError(f"{len(credits)} credits for {len(fwd.units)} units")
    ce = F.cross_entropy(fwd.logits, y)
    loss = ce
    for unit, a in zip(fwd.units, credits, strict=True):
        loss = loss + (unit * a.detach()).sum(dim=-1).mean()
    if uses_penalty(penalty):
        for f in fwd.units[1:]:
            loss = loss + penalty * f.pow(2).sum(dim=-1).mean()
    return loss, ce.detach()


class Method(nn.Module):
    """A learning rule. Subclasses implement `loss` and `credits`.

    Constructed as ``cls(model, num_classes, generator, **options)``; `setup` may change the
    model (frozen sets requires_grad False) and is called by the constructor, so that a method
    rebuilt from a checkpoint treats the model the same way.
    """

    name: ClassVar[str] = ""
    has_credit: ClassVar[bool] = True

    def __init__(
        self,
        model: nn.Module,
        num_classes: int,
        generator: torch.Generator,
        penalty: float = 0.0,
        targets: str = "true",
        **options: Any,
    ) -> None:
        super().__init__()
        if options:
            raise TypeError(f"{type(self).__name__}: unexpected options {sorted(options)}")
        self.num_classes = num_classes
        self.penalty = float(penalty)
        self.targets = targets
        self.setup(model)

    def setup(self, model: nn.Module) -> None:
        """Adjust the model for this method (default: nothing)."""

    def trainable_parameters(self, model: nn.Module) -> list[nn.Parameter]:
        """What the optimizer updates (and weight-decays)."""
        return [p for p in model.parameters() if p.requires_grad]

    def train_targets(self, y: Tensor, generator: torch.Generator) -> Tensor:
        """The labels every training signal of this minibatch uses ('random': fresh uniform
        labels, drawn on the CPU stream so that the result does not depend on the device)."""
        if self.targets == "random":
            return torch.randint(self.num_classes, y.shape, generator=generator).to(y.device)
        return y

    def begin_epoch(self, epoch: int, epochs: int) -> None:
        """Called by the trainer before training epoch `epoch` (1-based) of `epochs`; methods
        with a schedule (the bridges' DFA warm-up) switch here. Default: nothing."""

    def clip_gradients(self, model: nn.Module, max_norm: float) -> None:
        """Clip the gradient norm (train.grad_clip). Default: one global norm over
        `trainable_parameters`; methods with feedback nets clip those apart, so that neither
        network's gradient scale shrinks the other's step."""
        torch.nn.utils.clip_grad_norm_(self.trainable_parameters(model), max_norm)

    def loss(self, model: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """(scalar to backward, detached batch-mean CE of the head on `y`)."""
        raise NotImplementedError

    def credits(self, model: nn.Module, x: Tensor, y: Tensor) -> list[Tensor] | None:
        """Per-sample credits [a_0..a_L] this method would use on (x, y); None if it has none."""
        raise NotImplementedError


class BlockLocalMethod(Method):
    """A method that trains every unit on its own credit (DFA, FA, ...): subclasses implement
    `credits_from(model, fwd, y)` from an already computed local forward pass."""

    def credits_from(self, model: nn.Module, fwd: UnitForward, y: Tensor) -> list[Tensor]:
        raise NotImplementedError

    def loss(self, model: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        fwd = unit_forward(model, x, local=True)
        with torch.no_grad():
            credits = self.credits_from(model, fwd, y)
        return block_local_loss(fwd, credits, y, self.penalty)

    @torch.no_grad()
    def credits(self, model: nn.Module, x: Tensor, y: Tensor) -> list[Tensor]:
        return self.credits_from(model, unit_forward(model, x, local=True), y)
