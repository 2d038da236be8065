"""The one function that runs a training run wherever it is scheduled (in-process or a Ray worker).

It turns every way a run can end into data: a finished or diverged run returns its result; an
exception inside training returns a `failed` result carrying the traceback, so that the driver
records it in the store and the claims that need the run say `error` and name it, instead of the
whole verify dying or Ray retrying a deterministic bug.
"""

from __future__ import annotations

import platform
import time
import traceback
from collections.abc import Callable
from typing import Any

import faspec


def failed_result(error: str, device: str = "", wall_s: float = 0.0) -> dict[str, Any]:
    import torch

    return {
        "status": "failed",
        "error": error,
        "final": {},
        "log": [],
        "provenance": {
            "faspec": faspec.__version__,
            "torch": torch.__version__,
            "device": device,
            "wall_s": wall_s,
            "git": None,
            "host": platform.node(),
        },
    }


def execute(
    config: dict[str, Any],
    device: str = "auto",
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
) -> tuple[dict[str, Any], bytes | None]:
    """Train one run of the plan (`config` is normalized: the plan's); never raises for an error
    inside training (it is returned as `failed`)."""
    from faspec.train import run

    t0 = time.perf_counter()
    try:
        out = run(config, device=device, on_epoch=on_epoch, normalized=True)  # the plan's
    except Exception:  # noqa: BLE001 - any training error becomes data, by design
        return failed_result(traceback.format_exc(), device, time.perf_counter() - t0), None
    return out.result, out.checkpoint


def execute_pack(
    configs: list[dict[str, Any]],
    device: str = "auto",
    on_epoch: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> list[tuple[dict[str, Any], bytes | None]]:
    """Train the seeds of one config as one packed model; an exception fails every member."""
    from faspec.train.pack import run_pack

    t0 = time.perf_counter()
    try:
        outs = run_pack(configs, device=device, on_epoch=on_epoch, normalized=True)
    except Exception:  # noqa: BLE001 - as in execute: errors become data
        err = failed_result(traceback.format_exc(), device, time.perf_counter() - t0)
        return [(dict(err), None) for _ in configs]
    return [(o.result, o.checkpoint) for o in outs]
