"""The one function that runs a training run wherever it is scheduled (in-process or a Ray worker).

It turns every way a run can end into data, and keeps apart what belongs to the run from what
belongs to the machine it happened to run on:

* a finished or diverged run returns its result;
* an exception raised by training itself returns a `failed` result carrying the traceback: it is
  a property of the run, so the driver stores it and the claims that need the run say `error`;
* an error of the environment (faspec, torch or a plug-in's module missing on the worker, a data
  set not on that machine, the device out of memory) returns a `fault` result: the driver
  reports it and never stores it, so the next verify trains the run again.
"""

from __future__ import annotations

import functools
import platform
import subprocess
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faspec


class ClusterError(Exception):
    """The cluster cannot be used as asked (unreachable, other faspec on the workers, ...):
    invalid input for the CLI (exit 2), with a hint."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


@functools.cache
def code_identity() -> dict[str, Any]:
    """This process's faspec: its version and the git commit of the checkout it is imported
    from (None when it is not a git checkout, e.g. an installed wheel)."""
    commit = None
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(faspec.__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
        if out.returncode == 0:
            commit = out.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        pass
    return {"faspec": faspec.__version__, "git": commit}


def _provenance(device: str, wall_s: float) -> dict[str, Any]:
    try:
        import torch

        tv: str | None = torch.__version__
    except ImportError:
        tv = None
    return {
        "faspec": faspec.__version__,
        "torch": tv,
        "device": device,
        "wall_s": wall_s,
        "git": code_identity()["git"],
        "host": platform.node(),
    }


def failed_result(error: str, device: str = "", wall_s: float = 0.0) -> dict[str, Any]:
    """A run whose training raised: stored, its claims say `error`."""
    return {
        "status": "failed",
        "error": error,
        "final": {},
        "log": [],
        "provenance": _provenance(device, wall_s),
    }


def fault_result(error: str, device: str = "", wall_s: float = 0.0) -> dict[str, Any]:
    """A run the environment kept from training: reported, never stored."""
    return {**failed_result(error, device, wall_s), "status": "fault"}


def is_environment_error(exc: BaseException) -> bool:
    """True for errors of the machine, not of the run: a module that cannot be imported, a data
    set that is not there, the device or host out of memory."""
    from faspec.train.data import DataNotFoundError

    kinds: tuple[type[BaseException], ...] = (ImportError, DataNotFoundError, MemoryError)
    try:
        import torch

        kinds += (torch.cuda.OutOfMemoryError,)
    except ImportError:
        pass
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:  # also when wrapped (raise ... from e)
        if isinstance(e, kinds):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


def _outcome(exc: BaseException, device: str, wall_s: float) -> dict[str, Any]:
    make = fault_result if is_environment_error(exc) else failed_result
    return make(traceback.format_exc(), device, wall_s)


def execute(
    config: dict[str, Any],
    device: str = "auto",
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
) -> tuple[dict[str, Any], bytes | None]:
    """Train one run of the plan (`config` is normalized: the plan's); never raises for an error
    inside training (it is returned as `failed`, or `fault` for the environment's)."""
    t0 = time.perf_counter()
    try:
        from faspec.train import run

        out = run(config, device=device, on_epoch=on_epoch, normalized=True)  # the plan's
    except Exception as e:  # noqa: BLE001 - any training error becomes data, by design
        return _outcome(e, device, time.perf_counter() - t0), None
    return out.result, out.checkpoint


def execute_pack(
    configs: list[dict[str, Any]],
    device: str = "auto",
    on_epoch: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> list[tuple[dict[str, Any], bytes | None]]:
    """Train the seeds of one config as one packed model; an exception fails every member."""
    t0 = time.perf_counter()
    try:
        from faspec.train.pack import run_pack

        outs = run_pack(configs, device=device, on_epoch=on_epoch, normalized=True)
    except Exception as e:  # noqa: BLE001 - as in execute: errors become data
        err = _outcome(e, device, time.perf_counter() - t0)
        return [(dict(err), None) for _ in configs]
    return [(o.result, o.checkpoint) for o in outs]
