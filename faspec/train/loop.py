"""The one training loop, over K ≥ 1 members trained side by side (docs/internals.md).

`train(cfgs)` takes normalized RunConfigs and returns one RunOutput per config, in order. With
one config the member is the run's own model and method (`Single`): exactly today's unpacked
run. With K > 1 configs that `faspec.config.pack_key` says may share one batched model (they
differ in seed, method penalty/targets, lr, weight decay, schedule, clipping, measurement) the
members are stacked (`faspec.train.stack.Stacked`) and one step trains all of them. Everything
else is written once, here: the lr schedule, the batch order and random-target streams of each
member, the per-epoch loss accumulation and divergence check, the logged-epoch measurement,
the null calibration of finished runs (`faspec.train.null`), provenance and checkpoints.

The GPU stays busy: data sit on the device, minibatches are index slices of a per-member
permutation, losses accumulate on the device and are read once per epoch (divergence), and
the metrics only at logged epochs; nothing inside an epoch waits for the device.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from faspec.code_id import code_identity
from faspec.registry import require_registered
from faspec.train import measure
from faspec.train.build import (
    RunOutput,
    autocast,
    build,
    checkpoint_bytes,
    compile_mode,
    lr_table,
    make_optimizer,
    provenance,
)
from faspec.train.data import load_data
from faspec.train.methods.base import Method
from faspec.train.null import null_cosines
from faspec.train.rng import generator
from faspec.train.stack import Stacked
from faspec.train.tracker import NULL_FIELDS, Tracker

OnEpoch = Callable[[int, int, dict[str, Any]], None]  # (member k, epoch, log entry)


class Single:
    """One member trained as itself: the method's own loss and clipping, fused AdamW.

    Eager (the default off CUDA) it sets the lr as a float per step, exactly as before. With a
    compiled step (`compile_mode`) the method's loss and the optimizer step are captured by
    torch.compile, the lr is a device tensor copied from a device-side table (no host value,
    no sync), and on CUDA the optimizer is capturable, so the step replays as CUDA graphs."""

    def __init__(
        self,
        cfg: dict[str, Any],
        model: Any,
        method: Method,
        dev: torch.device,
        lrs: list[list[float]],
    ) -> None:
        self.models, self.methods = [model], [method]
        self.tr = cfg["train"]
        self.dev = dev
        self.lrs = [row[0] for row in lrs]
        params = method.trainable_parameters(model)
        mode = compile_mode(dev, self.tr)
        self.compiled = mode is not None
        if not self.compiled:
            self.opt = make_optimizer(params, self.tr, dev)
            self._loss = method.loss
            self._opt_step = self.opt.step
            return
        if not params:
            raise ValueError("the method leaves no trainable parameter")
        self.lr_dev = torch.tensor(self.lrs or [self.tr["lr"]], dtype=torch.float32, device=dev)
        self.lr_t = self.lr_dev[0].clone()
        self.opt = torch.optim.AdamW(
            params,
            lr=self.lr_t,
            weight_decay=self.tr["weight_decay"],
            # a tensor lr needs a capturable (CUDA graphs) or fused (CPU) implementation
            **({"capturable": True, "foreach": True} if dev.type == "cuda" else {"fused": True}),
        )
        self._loss = torch.compile(method.loss, mode=mode)
        self._opt_step = torch.compile(self.opt.step, mode=mode)

    def step(self, xb: Tensor, yb: Tensor, t: int) -> tuple[Tensor, Tensor]:
        model, method = self.models[0], self.methods[0]
        if self.compiled:
            self.lr_t.copy_(self.lr_dev[t])
        else:
            for group in self.opt.param_groups:
                group["lr"] = self.lrs[t]
        self.opt.zero_grad(set_to_none=True)
        with autocast(self.dev, self.tr):
            loss, ce = self._loss(model, xb[0], yb[0])
        loss.backward()
        if self.tr["grad_clip"] is not None:
            method.clip_gradients(model, self.tr["grad_clip"])
        self._opt_step()
        return loss.detach().view(1), ce.view(1)

    def begin_epoch(self, epoch: int, epochs: int) -> None:
        self.methods[0].begin_epoch(epoch, epochs)

    def sync(self) -> None:
        """The models already hold the trained state."""


def epoch_targets(
    methods: list[Method],
    random: list[bool],
    gens: list[torch.Generator],
    n: int,
    bs: int,
    dev: torch.device,
) -> tuple[Tensor, Tensor] | None:
    """The training labels of the random-target members for one epoch, drawn up front.

    Each member's `train_targets` is called once per minibatch, in order, on the CPU stream, as
    the step would call it (its draws depend only on the batch's size, not on its labels), so
    the labels are exactly those of drawing them step by step; they reach the device in one
    copy per epoch instead of one (host-synchronizing) copy per step. Returns ([K, n] labels,
    [K, 1] mask of the members that use them), or None when no member uses random targets."""
    if not any(random):
        return None
    cpu = torch.device("cpu")
    rows = []
    for method, rnd, g in zip(methods, random, gens, strict=True):
        if not rnd:
            rows.append(torch.zeros(n, dtype=torch.long))
            continue
        sizes = [min(bs, n - i) for i in range(0, n, bs)]
        draws = [
            method.train_targets(torch.empty(b, dtype=torch.long, device=cpu), g) for b in sizes
        ]
        rows.append(torch.cat(draws))
    mask = torch.tensor(random, device=dev).view(-1, 1)
    return torch.stack(rows).to(dev), mask


def train(
    cfgs: list[dict[str, Any]], dev: torch.device, on_epoch: OnEpoch | None = None
) -> list[RunOutput]:
    """Train normalized configs together (see the module docstring); one RunOutput each."""
    t0 = time.perf_counter()
    for c in cfgs:
        require_registered(c)  # a clear error, not a KeyError, in a worker that lacks a plug-in
    K = len(cfgs)
    tr0, data_cfg = cfgs[0]["train"], cfgs[0]["data"]
    data = load_data(data_cfg).to(dev)
    built = [build(c, data.in_dim, data.num_classes, dev) for c in cfgs]
    epochs, bs = tr0["epochs"], tr0["batch_size"]
    n = len(data.x_train)
    steps_per_epoch = math.ceil(n / bs)
    total_steps = epochs * steps_per_epoch
    lrs = lr_table(cfgs, total_steps)
    members: Single | Stacked
    if K == 1:
        members = Single(cfgs[0], *built[0], dev, lrs)
    else:
        members = Stacked(cfgs, built, dev, lrs)
    models, methods = members.models, members.methods
    g_batches = [generator(c["seed"], "batches") for c in cfgs]
    g_targets = [generator(c["seed"], "targets") for c in cfgs]
    random_targets = [m.targets != "true" for m in methods]

    logged = [
        set(range(epochs + 1)) if c["measure"]["epochs"] == "all" else set(c["measure"]["epochs"])
        for c in cfgs
    ]
    for s in logged:
        s |= {0, epochs}
    logs: list[list[dict[str, Any]]] = [[] for _ in cfgs]
    status, errors = ["ok"] * K, [None] * K
    trackers = [Tracker(c) for c in cfgs]

    def record(k: int, epoch: int, train_loss: Any) -> None:
        entry = trackers[k].entry(
            models[k], methods[k], data.x_test, data.y_test, epoch, train_loss
        )
        logs[k].append(entry)
        if on_epoch is not None:
            on_epoch(k, epoch, entry)

    for k, m in enumerate(models):
        m.train()
        if 0 in logged[k]:
            m.eval()
            eb = cfgs[k]["measure"]["eval_batch"]
            record(k, 0, measure.dataset_loss(m, data.x_train, data.y_train, eb))
            m.train()

    step = 0
    for epoch in range(1, epochs + 1):
        members.begin_epoch(epoch, epochs)
        perm = torch.stack([torch.randperm(n, generator=g) for g in g_batches]).to(dev)
        targets = epoch_targets(methods, random_targets, g_targets, n, bs, dev)
        ce_sum = torch.zeros(K, dtype=torch.float64, device=dev)
        loss_sum = torch.zeros(K, dtype=torch.float64, device=dev)
        for i in range(steps_per_epoch):
            idx = perm[:, i * bs : (i + 1) * bs]  # [K, b]: each member its own batch order
            xb, yb = data.x_train[idx], data.y_train[idx]
            if targets is not None:
                yb = torch.where(targets[1], targets[0][:, i * bs : (i + 1) * bs], yb)
            loss, ce = members.step(xb, yb, step)
            step += 1
            ce_sum += ce
            loss_sum += loss
        finite = (torch.isfinite(ce_sum) & torch.isfinite(loss_sum)).tolist()  # one sync/epoch
        for k in range(K):
            if status[k] == "ok" and not finite[k]:
                status[k] = "diverged"
                errors[k] = f"non-finite training loss in epoch {epoch}"
        if all(s != "ok" for s in status):
            break
        mean_ce = ce_sum / steps_per_epoch
        for k in range(K):  # loss_decrease's reference is epoch 1's loss, logged or not
            trackers[k].note_train_loss(epoch, mean_ce[k])
        if any(epoch in logged[k] and status[k] == "ok" for k in range(K)):
            members.sync()
            for k in range(K):
                if status[k] == "ok" and epoch in logged[k]:
                    record(k, epoch, mean_ce[k])

    members.sync()
    wall = time.perf_counter() - t0
    outs = []
    for k, cfg in enumerate(cfgs):
        final, protocol = trackers[k].finish(logs[k])
        draws = cfg["measure"]["null_draws"]
        if status[k] == "ok" and draws:  # null calibration only of a finished run
            nb = cfg["measure"]["eval_batch"]
            null = null_cosines(
                models[k],
                methods[k],
                cfg["method"],
                data.x_test[:nb],
                data.y_test[:nb],
                draws,
                cfg["seed"],
            )
            final.update({f: null[f] for f in NULL_FIELDS})
        result = {
            "status": status[k],
            "error": errors[k],
            "final": final,
            "protocol": protocol,
            "log": logs[k],
            "provenance": {**provenance(dev, cfg["train"], wall, K), "code": code_identity(cfg)},
        }
        ckpt = checkpoint_bytes(models[k], methods[k]) if status[k] == "ok" else None
        outs.append(RunOutput(result=result, checkpoint=ckpt))
    return outs
