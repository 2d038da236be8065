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

from faspec.train import measure
from faspec.train.build import (
    RunOutput,
    autocast,
    build,
    checkpoint_bytes,
    lr_at,
    make_optimizer,
    provenance,
)
from faspec.train.data import load_data
from faspec.train.methods.base import Method
from faspec.train.null import null_cosines
from faspec.train.rng import generator
from faspec.train.stack import Stacked

OnEpoch = Callable[[int, int, dict[str, Any]], None]  # (member k, epoch, log entry)


class Single:
    """One member trained as itself: the method's own loss and clipping, fused AdamW."""

    def __init__(self, cfg: dict[str, Any], model: Any, method: Method, dev: torch.device) -> None:
        self.models, self.methods = [model], [method]
        self.tr = cfg["train"]
        self.dev = dev
        self.opt = make_optimizer(method.trainable_parameters(model), self.tr, dev)

    def step(self, xb: Tensor, yb: Tensor, lr: list[float]) -> tuple[Tensor, Tensor]:
        model, method = self.models[0], self.methods[0]
        for group in self.opt.param_groups:
            group["lr"] = lr[0]
        self.opt.zero_grad(set_to_none=True)
        with autocast(self.dev, self.tr):
            loss, ce = method.loss(model, xb[0], yb[0])
        loss.backward()
        if self.tr["grad_clip"] is not None:
            method.clip_gradients(model, self.tr["grad_clip"])
        self.opt.step()
        return loss.detach().view(1), ce.view(1)

    def begin_epoch(self, epoch: int, epochs: int) -> None:
        self.methods[0].begin_epoch(epoch, epochs)

    def sync(self) -> None:
        """The models already hold the trained state."""


def train(
    cfgs: list[dict[str, Any]], dev: torch.device, on_epoch: OnEpoch | None = None
) -> list[RunOutput]:
    """Train normalized configs together (see the module docstring); one RunOutput each."""
    t0 = time.perf_counter()
    K = len(cfgs)
    tr0, data_cfg = cfgs[0]["train"], cfgs[0]["data"]
    data = load_data(data_cfg).to(dev)
    built = [build(c, data.in_dim, data.num_classes, dev) for c in cfgs]
    members: Single | Stacked
    if K == 1:
        members = Single(cfgs[0], *built[0], dev)
    else:
        members = Stacked(cfgs, built, dev)
    models, methods = members.models, members.methods
    g_batches = [generator(c["seed"], "batches") for c in cfgs]
    g_targets = [generator(c["seed"], "targets") for c in cfgs]
    random_targets = [m.targets != "true" for m in methods]

    epochs, bs = tr0["epochs"], tr0["batch_size"]
    n = len(data.x_train)
    steps_per_epoch = math.ceil(n / bs)
    total_steps = epochs * steps_per_epoch
    logged = [
        set(range(epochs + 1)) if c["measure"]["epochs"] == "all" else set(c["measure"]["epochs"])
        for c in cfgs
    ]
    for s in logged:
        s |= {0, epochs}
    logs: list[list[dict[str, Any]]] = [[] for _ in cfgs]
    status, errors = ["ok"] * K, [None] * K
    trackers = [measure.Tracker(c) for c in cfgs]

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
        ce_sum = torch.zeros(K, dtype=torch.float64, device=dev)
        loss_sum = torch.zeros(K, dtype=torch.float64, device=dev)
        for i in range(steps_per_epoch):
            idx = perm[:, i * bs : (i + 1) * bs]  # [K, b]: each member its own batch order
            xb, yb = data.x_train[idx], data.y_train[idx]
            if any(random_targets):
                yb = torch.stack(
                    [
                        methods[k].train_targets(yb[k], g_targets[k])
                        if random_targets[k]
                        else yb[k]
                        for k in range(K)
                    ]
                )
            lrs = [lr_at(step, total_steps, c["train"]) for c in cfgs]
            loss, ce = members.step(xb, yb, lrs)
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
        if any(epoch in logged[k] and status[k] == "ok" for k in range(K)):
            members.sync()
            mean_ce = ce_sum / steps_per_epoch
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
            final.update({f: null[f] for f in measure.NULL_FIELDS})
        result = {
            "status": status[k],
            "error": errors[k],
            "final": final,
            "protocol": protocol,
            "log": logs[k],
            "provenance": provenance(dev, cfg["train"], wall, K),
        }
        ckpt = checkpoint_bytes(models[k], methods[k]) if status[k] == "ok" else None
        outs.append(RunOutput(result=result, checkpoint=ckpt))
    return outs
