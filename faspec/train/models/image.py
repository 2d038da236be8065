"""Shared pieces of the image architectures (ViT-Mini, SmallCNN).

Datasets hand every architecture flat inputs (N, in_dim) (see `faspec.train.data`); an image
architecture un-flattens them to (N, C, S, S) with C = its `channels` option and S inferred from
in_dim. The check runs at config validation, so an MLP-shaped dataset or a patch that does not
divide the image side is rejected before any training.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


def image_side(in_dim: int, channels: int) -> int | None:
    """S with channels·S² = in_dim, or None when in_dim is not such a square image."""
    if channels <= 0 or in_dim % channels:
        return None
    side = math.isqrt(in_dim // channels)
    return side if side * side * channels == in_dim else None


def image_check(divisor: Callable[[dict[str, Any]], tuple[int, str]]) -> Callable[..., None]:
    """A `Component.check` for an image arch: in_dim must be channels·S² and S divisible by
    `divisor(model_cfg)` = (k, words for k): a ViT's patch, 8 for three 2×2 poolings."""

    def check(cfg: dict[str, Any]) -> None:
        from faspec.train.config import ConfigError
        from faspec.train.data import describe

        model = cfg["model"]
        in_dim = describe(cfg["data"])["in_dim"]
        side = image_side(in_dim, model["channels"])
        if side is None:
            raise ConfigError(
                "model.channels",
                f"dataset {cfg['data']['name']!r} has {in_dim} input values, not "
                f"{model['channels']}×S×S",
                "use an image dataset (cifar10, cifar100, cifar_synth) or fix `channels`",
            )
        k, what = divisor(model)
        if side % k:
            raise ConfigError("model", f"the image side {side} is not divisible by {what}")

    return check
