"""K members trained as one batched model: the stacked training step of `faspec.train.loop`.

Each member is built exactly as an unpacked run builds it (`build`: same init, feedback B, batch
order and target streams); then the K models and methods are stacked into tensors with a leading
member dimension (`torch.func.stack_module_state`) and one training step is `vmap` of the
method's *own* loss over that dimension (`functional_call`): there is no second copy of any
method's rule. The K losses are independent, so the gradient of their sum with respect to the
stacked parameters is, slice by slice, each member's own gradient.

Members may differ in what does not change a shape: the method's penalty λ (passed into the
vmapped loss as a per-member tensor), the lr, weight decay and schedule (`StackedAdamW` takes
per-member lr and decay tensors; AdamW is elementwise, so this is K independent AdamWs) and
gradient clipping (clip_grad_norm_'s formula per member, no clip = an infinite bound). What may
differ is decided in one place, `faspec.config.pack_key`. At logged epochs `sync` copies the
stacked state back into the K ordinary models, which the loop measures exactly as an unpacked
run, so packing changes results only by floating-point reassociation of batched matmuls
(tests/test_pack.py states and tests the tolerance).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

from faspec.train.build import autocast, compile_mode
from faspec.train.methods.base import Method


class _Step(nn.Module):
    """Model + method as one module, so that functional_call swaps both their tensors."""

    def __init__(self, model: nn.Module, method: Method) -> None:
        super().__init__()
        self.model = model
        self.method = method

    def forward(self, x: Tensor, y: Tensor, penalty: Tensor | None) -> tuple[Tensor, Tensor]:
        if penalty is not None:  # a per-member λ (a 0-d tensor under vmap)
            self.method.penalty = penalty  # type: ignore[assignment]
        return self.method.loss(self.model, x, y)


def _per_member(values: list[float], dev: torch.device) -> Tensor:
    return torch.tensor(values, dtype=torch.float32, device=dev)


class StackedAdamW:
    """AdamW (torch's formula, betas 0.9/0.999, eps 1e-8) over parameters with a leading member
    dimension, with per-member lr and weight decay given as device tensors, so that the update
    needs no host value: the form a captured (CUDA graph) step needs."""

    def __init__(self, params: list[Tensor], weight_decay: Tensor) -> None:
        self.params = params
        self.wd = weight_decay  # [K]
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]
        self.step_t = torch.zeros((), dtype=torch.float32, device=weight_decay.device)
        self.b1, self.b2, self.eps = 0.9, 0.999, 1e-8

    @staticmethod
    def _view(t: Tensor, p: Tensor) -> Tensor:
        return t.view(-1, *([1] * (p.dim() - 1)))

    @torch.no_grad()
    def step(self, lr: Tensor) -> None:
        self.step_t += 1
        bc1 = 1 - self.b1**self.step_t
        bc2_sqrt = (1 - self.b2**self.step_t).sqrt()
        for p, m, v in zip(self.params, self.exp_avg, self.exp_avg_sq, strict=True):
            if p.grad is None:
                continue
            g = p.grad
            lr_p = self._view(lr, p)
            p.mul_(1 - lr_p * self._view(self.wd, p))
            m.lerp_(g, 1 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            denom = (v.sqrt() / bc2_sqrt).add_(self.eps)
            p.sub_(lr_p / bc1 * m / denom)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


class Stacked:
    """K built members (model, method) trained as one batched model (see the module docstring)."""

    def __init__(
        self,
        cfgs: list[dict[str, Any]],
        built: list[tuple[nn.Module, Method]],
        dev: torch.device,
        lrs: list[list[float]],
    ) -> None:
        self.models = [m for m, _ in built]
        self.methods = [m for _, m in built]
        self.dev = dev
        self.tr = cfgs[0]["train"]  # shapes, precision and epochs are shared (pack_key)
        steps = [_Step(m, me) for m, me in built]
        self._steps = steps
        trainable = {id(p) for p in self.methods[0].trainable_parameters(self.models[0])}
        names = [n for n, p in steps[0].named_parameters() if id(p) in trainable]
        params, buffers = stack_module_state(steps)  # type: ignore[arg-type]
        self.params = {
            n: (nn.Parameter(t.detach()) if n in names else t.detach()) for n, t in params.items()
        }
        self.buffers = buffers
        self.opt_params = [self.params[n] for n in names]
        if not self.opt_params:
            raise ValueError("the method leaves no trainable parameter")
        wd = _per_member([c["train"]["weight_decay"] for c in cfgs], dev)
        self.opt = StackedAdamW(self.opt_params, wd)
        # the lr of every member at every step, on the device: a step reads its row, no host value
        self.lr_dev = torch.tensor(lrs or [[0.0] * len(cfgs)], dtype=torch.float32, device=dev)
        clips = [c["train"]["grad_clip"] for c in cfgs]
        self.clip = (
            None
            if all(c is None for c in clips)
            else _per_member([math.inf if c is None else c for c in clips], dev)
        )
        penalties = [float(c["method"]["penalty"]) for c in cfgs]
        self.penalty = (
            None if len(set(penalties)) == 1 else _per_member(penalties, dev)
        )  # one λ for all: the template's own float, as in an unpacked run
        self.template = copy.deepcopy(steps[0]).to("meta")
        self.template.train()
        template = self.template

        def one(p: dict[str, Tensor], b: dict[str, Tensor], x: Tensor, y: Tensor, lam: Any) -> Any:
            return functional_call(template, (p, b), (x, y, lam))

        in_dims = (0, 0, 0, 0, None if self.penalty is None else 0)
        self.step_fn = vmap(one, in_dims=in_dims)
        self._opt_step = self.opt.step
        mode = compile_mode(dev, self.tr)
        if mode is not None:  # capture the batched loss and the optimizer (see loop.Single)
            self.step_fn = torch.compile(self.step_fn, mode=mode)
            self._opt_step = torch.compile(self.opt.step, mode=mode)

    def step(self, xb: Tensor, yb: Tensor, t: int) -> tuple[Tensor, Tensor]:
        self.opt.zero_grad()
        with autocast(self.dev, self.tr):
            loss, ce = self.step_fn(self.params, self.buffers, xb, yb, self.penalty)
        loss.sum().backward()
        if self.clip is not None:
            clip_per_member(self.opt_params, self.clip)
        self._opt_step(self.lr_dev[t])
        return loss.detach(), ce.detach()

    def begin_epoch(self, epoch: int, epochs: int) -> None:
        for m in [self.template.method, *self.methods]:
            m.begin_epoch(epoch, epochs)

    @torch.no_grad()
    def sync(self) -> None:
        """Copy the stacked state into the K ordinary models (to measure or save them)."""
        for k, s in enumerate(self._steps):
            for name, t in self.params.items():
                s.get_parameter(name).copy_(t[k])
            for name, t in self.buffers.items():
                s.get_buffer(name).copy_(t[k])


@torch.no_grad()
def clip_per_member(params: list[Tensor], max_norm: Tensor) -> None:
    """clip_grad_norm_ (one global L2 norm, coefficient max_norm / (norm + 1e-6) clamped at 1)
    applied to every member's slice of the stacked gradients, each with its own bound [K]."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    sq = torch.stack([g.flatten(1).pow(2).sum(dim=1) for g in grads]).sum(dim=0)  # [K]
    coef = (max_norm / (sq.sqrt() + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef.view(-1, *([1] * (g.dim() - 1))).to(g.dtype))
