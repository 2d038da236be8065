"""Packing: train several runs as one batched model (the loop of `faspec.train.loop`, K > 1).

`run_pack(configs)` takes K RunConfigs and returns the K RunOutputs that `run` would return, one
per config, in order. The configs must share what shapes the batched model (`pack_key`: data,
architecture, method and its shape options, epochs, batch size, precision); they may differ in
seed, the method's penalty λ and targets, lr, weight decay, schedule, clipping and measurement,
so a λ or lr sweep over seeds is one batched model. Whether a method and architecture can be
packed at all is decided by `faspec.config.pack_refusal` (their `packable` declaration); the
training step itself is the method's own loss under vmap (`faspec.train.stack`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from faspec.config import normalize_config, pack_key, pack_refusal
from faspec.train.build import RunOutput, resolve_device
from faspec.train.loop import train

__all__ = ["pack_refusal", "run_pack"]


def run_pack(
    configs: list[dict[str, Any]],
    device: str | torch.device = "auto",
    on_epoch: Callable[[int, int, dict[str, Any]], None] | None = None,
    *,
    normalized: bool = False,
) -> list[RunOutput]:
    """Train the configs together; returns one RunOutput per config, in order.

    `normalized=True`: the configs are `normalize_config`'s output already (as the executors
    pass the plan's), so they are not normalized again.

    ValueError when the configs differ in something that shapes the batched model.
    `on_epoch(k, epoch, entry)` is called for configs[k]'s logged epochs. With one config,
    `pack_seeds: false` in any of them, or a method/architecture that `pack_refusal` refuses,
    the runs are trained one after the other (the same loop with one member).
    """
    if not configs:
        return []
    cfgs = list(configs) if normalized else [normalize_config(c) for c in configs]
    key = pack_key(cfgs[0])
    for i, c in enumerate(cfgs[1:], 1):
        other = pack_key(c)
        if other != key:
            diff = sorted(k for k in key if key[k] != other.get(k))
            raise ValueError(
                f"configs[{i}] differs from configs[0] in {diff}, which shapes the packed model"
            )
    dev = resolve_device(device)
    sequential = (
        len(cfgs) == 1
        or any(c["train"]["pack_seeds"] == "false" for c in cfgs)
        or pack_refusal(cfgs[0]) is not None
    )
    if not sequential:
        return train(cfgs, dev, on_epoch)
    outs = []
    for k, c in enumerate(cfgs):
        cb = None if on_epoch is None else (lambda j, e, entry, k=k: on_epoch(k, e, entry))
        outs.extend(train([c], dev, cb))
    return outs
