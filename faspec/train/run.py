"""One training run: RunConfig dict in, RunOutput out (docs/internals.md).

`run` is the one training loop (`faspec.train.loop.train`) with one member; packing several runs
into one batched model is the same loop with K members (`faspec.train.pack.run_pack`). The
construction helpers (`build`, `load_checkpoint`, `resolve_device`) live in
`faspec.train.build` and are re-exported here, their historical home.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from faspec.config import normalize_config
from faspec.train.build import RunOutput, build, load_checkpoint, resolve_device
from faspec.train.loop import train

__all__ = ["RunOutput", "build", "load_checkpoint", "resolve_device", "run"]


def run(
    config: dict[str, Any],
    device: str | torch.device = "auto",
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
    *,
    normalized: bool = False,
) -> RunOutput:
    """Train one run and measure it. Exceptions propagate (the executor records them); a
    non-finite training loss stops the run with status "diverged" and the log so far.

    `normalized=True` says `config` is already `normalize_config`'s output (the plan's, which
    the executors pass on): it is then trained as it is, not normalized a second time."""
    cb = None if on_epoch is None else (lambda _k, epoch, entry: on_epoch(epoch, entry))
    cfg = config if normalized else normalize_config(config)
    return train([cfg], resolve_device(device), cb)[0]
