"""Seed packing: train K seeds of one configuration as one batched model.

`run_pack(configs)` takes K RunConfigs that differ only in `seed` and returns the K RunOutputs
that `run` would return, one per config, in order. Each seed is built exactly as `run` builds it
(`build`: same init, feedback matrices B, batch order and random-target streams); then the K
models and methods are stacked into tensors with a leading model dimension
(`torch.func.stack_module_state`) and one training step is `vmap` of the method's own loss over
that dimension (`torch.func.functional_call`). The K losses are independent, so the gradient of
their sum with respect to the stacked parameters is, slice by slice, each seed's own gradient;
AdamW is elementwise, so one AdamW over the stacked parameters is K independent AdamWs; gradient
clipping (`train.grad_clip`) is done per seed with `clip_grad_norm_`'s formula. At logged epochs
the stacked state is copied back into the K ordinary models and measured by `measure.Tracker`
exactly as `run` measures (fp32, same probe seeds), so packing changes no result beyond
floating-point reassociation of the batched matmuls (tests/test_pack.py compares per method).

What packs (`pack_refusal`): the methods in `PACKED_LOSS` (bp, frozen, dfa, fa) on the
architectures in `PACKABLE_ARCHS` (resmlp: no BatchNorm statistics to update inside vmap).
FA's head gradient uses `torch.autograd.grad`, which vmap does not allow, so FA gets a
vmap-compatible twin of its credit rule here (same arithmetic, `torch.func.grad`). Anything else
runs one seed after the other under `pack_seeds: auto`; `pack_seeds: true` is refused by
`normalize_config`.
"""

from __future__ import annotations

import copy
import math
import socket
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap

import faspec
from faspec.train import measure
from faspec.train.config import normalize_config
from faspec.train.data import load_data
from faspec.train.methods.base import Method, UnitForward, block_local_loss, unit_forward
from faspec.train.rng import generator
from faspec.train.run import (
    RunOutput,
    _checkpoint_bytes,
    autocast,
    build,
    git_commit,
    lr_at,
    make_optimizer,
    precision_used,
    resolve_device,
    run,
)

PACKABLE_ARCHS = frozenset({"resmlp"})


def _head_gradient(model: nn.Module, h_last: Tensor, y: Tensor) -> Tensor:
    """Per-sample ∂CE_i/∂h_L through out_ln and head (base.head_gradient, vmap-compatible)."""

    def ce_sum(h: Tensor) -> Tensor:
        return F.cross_entropy(model.head_logits(h), y, reduction="sum")

    return torch.func.grad(ce_sum)(h_last.detach())


def _fa_credits(method: Method, model: nn.Module, fwd: UnitForward, y: Tensor) -> list[Tensor]:
    """FA.credits_from with `_head_gradient`: a_L exact, a_l = B_l a_{l+1} going down."""
    a = _head_gradient(model, fwd.hs[-1], y)
    credits = [a]
    for i in reversed(range(method.n_feedback)):
        a = a @ method.feedback(i).T
        credits.append(a)
    return credits[::-1]


def _block_local(
    credits_from: Callable[[Method, nn.Module, UnitForward, Tensor], list[Tensor]],
) -> Callable[[Method, nn.Module, Tensor, Tensor], tuple[Tensor, Tensor]]:
    def loss(method: Method, model: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        fwd = unit_forward(model, x, local=True)
        with torch.no_grad():
            credits = credits_from(method, model, fwd, y)
        return block_local_loss(fwd, credits, y, method.penalty)

    return loss


# method name -> its training loss under vmap (None: the method's own `loss` works unchanged)
PACKED_LOSS: dict[str, Callable[[Method, nn.Module, Tensor, Tensor], tuple[Tensor, Tensor]] | None]
PACKED_LOSS = {"bp": None, "frozen": None, "dfa": None, "fa": _block_local(_fa_credits)}


def pack_refusal(cfg: dict[str, Any]) -> str | None:
    """Why the seeds of this normalized config cannot be packed, or None if they can."""
    name, arch = cfg["method"]["name"], cfg["model"]["arch"]
    if name not in PACKED_LOSS:
        return f"method {name!r} has no packed training step (packable: {', '.join(PACKED_LOSS)})"
    if arch not in PACKABLE_ARCHS:
        return (
            f"architecture {arch!r} is not packable (packable: {', '.join(sorted(PACKABLE_ARCHS))})"
        )
    return None


class _Step(nn.Module):
    """Model + method as one module, so that functional_call swaps both their tensors."""

    def __init__(self, model: nn.Module, method: Method, loss: Callable[..., Any] | None) -> None:
        super().__init__()
        self.model = model
        self.method = method
        self._loss = loss

    def forward(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        if self._loss is None:
            return self.method.loss(self.model, x, y)
        return self._loss(self.method, self.model, x, y)


def _strip_seed(cfg: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cfg.items() if k != "seed"}


def run_pack(
    configs: list[dict[str, Any]],
    device: str | torch.device = "auto",
    on_epoch: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> list[RunOutput]:
    """Train the seeds of one configuration together; returns one RunOutput per config, in order.

    `configs` must differ only in `seed` (ValueError otherwise). `on_epoch(k, epoch, entry)`
    is called for configs[k]'s logged epochs. With one config, `pack_seeds: false`, or a config
    that `pack_refusal` refuses, the runs are trained one after the other by `run`.
    """
    if not configs:
        return []
    cfgs = [normalize_config(c) for c in configs]
    base = _strip_seed(cfgs[0])
    for i, c in enumerate(cfgs[1:], 1):
        if _strip_seed(c) != base:
            diff = sorted(k for k in base if base[k] != c[k])
            raise ValueError(f"configs[{i}] differs from configs[0] in {diff}, not only in seed")
    if len(cfgs) == 1 or cfgs[0]["train"]["pack_seeds"] == "false" or pack_refusal(cfgs[0]):
        outs = []
        for k, c in enumerate(cfgs):
            cb = None if on_epoch is None else (lambda e, entry, k=k: on_epoch(k, e, entry))
            outs.append(run(c, device=device, on_epoch=cb))
        return outs
    return _run_packed(cfgs, resolve_device(device), on_epoch)


def _run_packed(
    cfgs: list[dict[str, Any]],
    dev: torch.device,
    on_epoch: Callable[[int, int, dict[str, Any]], None] | None,
) -> list[RunOutput]:
    t0 = time.perf_counter()
    K = len(cfgs)
    cfg0 = cfgs[0]
    tr, ms = cfg0["train"], cfg0["measure"]
    data = load_data(cfg0["data"]).to(dev)
    loss_fn = PACKED_LOSS[cfg0["method"]["name"]]
    steps_k = [_Step(*build(c, data.in_dim, data.num_classes, dev), loss_fn) for c in cfgs]
    models = [s.model for s in steps_k]
    methods = [s.method for s in steps_k]

    # stacked state: trainable parameters become leaves of the optimizer, the rest (frozen
    # blocks) and the buffers (B) are stacked constants
    trainable = {id(p) for p in methods[0].trainable_parameters(models[0])}
    names = [n for n, p in steps_k[0].named_parameters() if id(p) in trainable]
    params, buffers = stack_module_state(steps_k)  # type: ignore[arg-type]
    params = {
        n: (nn.Parameter(t.detach()) if n in names else t.detach()) for n, t in params.items()
    }
    opt_params = [params[n] for n in names]
    opt = make_optimizer(opt_params, tr, dev)  # type: ignore[arg-type]
    template = copy.deepcopy(steps_k[0]).to("meta")
    template.train()

    def one(p: dict[str, Tensor], b: dict[str, Tensor], x: Tensor, y: Tensor) -> Any:
        return functional_call(template, (p, b), (x, y))

    step_fn = vmap(one)
    g_batches = [generator(c["seed"], "batches") for c in cfgs]
    g_targets = [generator(c["seed"], "targets") for c in cfgs]
    random_targets = methods[0].targets != "true"

    epochs, bs = tr["epochs"], tr["batch_size"]
    n = len(data.x_train)
    steps_per_epoch = math.ceil(n / bs)
    total_steps = epochs * steps_per_epoch
    logged = set(range(epochs + 1)) if ms["epochs"] == "all" else set(ms["epochs"]) | {0, epochs}
    logs: list[list[dict[str, Any]]] = [[] for _ in cfgs]
    status: list[str] = ["ok"] * K
    errors: list[str | None] = [None] * K
    trackers = [measure.Tracker(c) for c in cfgs]

    @torch.no_grad()
    def unstack() -> None:
        for k, s in enumerate(steps_k):
            for name, t in params.items():
                s.get_parameter(name).copy_(t[k])
            for name, t in buffers.items():
                s.get_buffer(name).copy_(t[k])

    def record(k: int, epoch: int, train_loss: Any) -> None:
        entry = trackers[k].entry(
            models[k], methods[k], data.x_test, data.y_test, epoch, train_loss
        )
        logs[k].append(entry)
        if on_epoch is not None:
            on_epoch(k, epoch, entry)

    if 0 in logged:
        for k, m in enumerate(models):
            m.eval()
            init_loss = measure.dataset_loss(m, data.x_train, data.y_train, ms["eval_batch"])
            m.train()
            record(k, 0, init_loss)

    step = 0
    for epoch in range(1, epochs + 1):
        for m in [template.method, *methods]:
            m.begin_epoch(epoch, epochs)
        perm = torch.stack([torch.randperm(n, generator=g) for g in g_batches]).to(dev)
        ce_sum = torch.zeros(K, dtype=torch.float64, device=dev)
        loss_sum = torch.zeros(K, dtype=torch.float64, device=dev)
        for i in range(steps_per_epoch):
            idx = perm[:, i * bs : (i + 1) * bs]  # [K, b]: each seed its own batch order
            xb, yb = data.x_train[idx], data.y_train[idx]
            if random_targets:
                yb = torch.stack([methods[k].train_targets(yb[k], g_targets[k]) for k in range(K)])
            lr = lr_at(step, total_steps, tr)
            for group in opt.param_groups:
                group["lr"] = lr
            opt.zero_grad(set_to_none=True)
            with autocast(dev, tr):
                loss, ce = step_fn(params, buffers, xb, yb)
            loss.sum().backward()
            if tr["grad_clip"] is not None:
                _clip_per_seed(opt_params, tr["grad_clip"])
            opt.step()
            step += 1
            ce_sum += ce.detach()
            loss_sum += loss.detach()
        finite = (torch.isfinite(ce_sum) & torch.isfinite(loss_sum)).tolist()
        for k in range(K):
            if status[k] == "ok" and not finite[k]:
                status[k] = "diverged"
                errors[k] = f"non-finite training loss in epoch {epoch}"
        if all(s != "ok" for s in status):
            break
        for k in range(K):  # loss_decrease's reference is epoch 1's loss, logged or not
            trackers[k].note_train_loss(epoch, ce_sum[k] / steps_per_epoch)
        if epoch in logged:
            unstack()
            mean_ce = ce_sum / steps_per_epoch
            for k in range(K):
                if status[k] == "ok":
                    record(k, epoch, mean_ce[k])

    unstack()
    wall = round(time.perf_counter() - t0, 3)
    outs = []
    for k in range(K):
        if status[k] == "ok":
            final, protocol = trackers[k].finish(
                logs[k], models[k], methods[k], data.x_test, data.y_test
            )
        else:
            final, protocol = trackers[k].finish(logs[k])
        result = {
            "status": status[k],
            "error": errors[k],
            "final": final,
            "protocol": protocol,
            "log": logs[k],
            "provenance": {
                "faspec": faspec.__version__,
                "torch": torch.__version__,
                "device": str(dev),
                "precision": precision_used(dev, tr),
                "wall_s": wall,  # of the whole pack
                "pack_size": K,
                "git": git_commit(),
                "host": socket.gethostname(),
            },
        }
        ckpt = _checkpoint_bytes(models[k], methods[k]) if status[k] == "ok" else None
        outs.append(RunOutput(result=result, checkpoint=ckpt))
    return outs


@torch.no_grad()
def _clip_per_seed(params: list[Tensor], max_norm: float) -> None:
    """clip_grad_norm_ (one global L2 norm, coefficient max_norm / (norm + 1e-6) clamped at 1)
    applied to every seed's slice of the stacked gradients separately."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    sq = torch.stack([g.flatten(1).pow(2).sum(dim=1) for g in grads]).sum(dim=0)  # [K]
    coef = (max_norm / (sq.sqrt() + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef.view(-1, *([1] * (g.dim() - 1))).to(g.dtype))
