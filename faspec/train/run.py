"""One training run: RunConfig dict in, RunOutput out (docs/internals.md).

The run seed fixes init, feedback matrices, batch order and random targets through separate
CPU streams (`faspec.train.rng`), so the same config gives the same init and batches on any
device. The loop keeps the GPU busy: the data sit on the device, minibatches are index
slices of a permutation, the losses accumulate on the device and are read once per epoch
(to detect divergence) and the metrics only at logged epochs.
"""

from __future__ import annotations

import io
import math
import os
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

import faspec
from faspec.train import measure
from faspec.train.config import normalize_config
from faspec.train.data import describe, load_data
from faspec.train.methods.base import Method
from faspec.train.registry import ARCHS, METHODS
from faspec.train.rng import derive_seed, generator


@dataclass
class RunOutput:
    """What `run` returns: the JSON-able result dict and the checkpoint bytes (or None)."""

    result: dict[str, Any]
    checkpoint: bytes | None


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """ "auto" -> the first CUDA device if there is one, else the CPU."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def build(
    cfg: dict[str, Any], in_dim: int, num_classes: int, device: torch.device | str = "cpu"
) -> tuple[nn.Module, Method]:
    """Model and method of a *normalized* config, freshly initialized from its seed.

    The model is built on the CPU under a forked global RNG seeded from the run's init stream
    (PyTorch's default initializers draw from the global RNG; forking leaves the caller's RNG
    alone); B is drawn from the feedback stream. Then both move to `device`.
    """
    arch = ARCHS[cfg["model"]["arch"]]
    model_opts = {k: cfg["model"][k] for k in arch.options}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(cfg["seed"], "init"))
        model = arch.factory(in_dim, num_classes, **model_opts)
    comp = METHODS[cfg["method"]["name"]]
    method_opts = {k: cfg["method"][k] for k in comp.options}
    method = comp.factory(model, num_classes, generator(cfg["seed"], "feedback"), **method_opts)
    return model.to(device), method.to(device)


def make_optimizer(
    params: list[nn.Parameter], train: dict[str, Any], device: torch.device
) -> torch.optim.Optimizer:
    """AdamW, fused where this torch supports it on `device` (CPU and CUDA in torch >= 2.4),
    else the foreach implementation. Fused and foreach differ in the last bits only."""
    kwargs = {"lr": train["lr"], "weight_decay": train["weight_decay"]}
    if not params:
        raise ValueError("the method leaves no trainable parameter")
    try:
        return torch.optim.AdamW(params, fused=True, **kwargs)
    except (RuntimeError, ValueError, TypeError):
        return torch.optim.AdamW(params, foreach=True, **kwargs)


def precision_used(device: torch.device, train: dict[str, Any]) -> str:
    """'bf16' only for `train.precision: bf16` on CUDA; everything else trains in fp32."""
    return "bf16" if train.get("precision") == "bf16" and device.type == "cuda" else "fp32"


def autocast(device: torch.device, train: dict[str, Any]) -> torch.autocast:
    """The training step's autocast context (disabled unless `precision_used` is bf16). Only
    the training forward/backward runs inside it; the metrics are computed outside, in fp32."""
    return torch.autocast(
        device_type=device.type,
        dtype=torch.bfloat16,
        enabled=precision_used(device, train) == "bf16",
    )


def lr_at(step: int, total: int, train: dict[str, Any]) -> float:
    """Cosine: lr·½(1 + cos(π t/T)) at optimizer step t (0-based), T = total steps."""
    if train["schedule"] == "constant" or total <= 0:
        return train["lr"]
    return train["lr"] * 0.5 * (1.0 + math.cos(math.pi * step / total))


_GIT: dict[str, str | None] = {}


def git_commit() -> str | None:
    """`git rev-parse HEAD` in the current directory, or None (not a repo, no git, no commit)."""
    cwd = os.getcwd()
    if cwd not in _GIT:
        try:
            out = subprocess.run(
                ["git", "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                timeout=10,
                cwd=cwd,
                check=False,
            )
            _GIT[cwd] = out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None
        except (OSError, subprocess.SubprocessError):
            _GIT[cwd] = None
    return _GIT[cwd]


def _checkpoint_bytes(model: nn.Module, method: Method) -> bytes:
    buf = io.BytesIO()
    torch.save(
        {
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "method": {k: v.detach().cpu() for k, v in method.state_dict().items()},
        },
        buf,
    )
    return buf.getvalue()


def load_checkpoint(
    config: dict[str, Any], checkpoint_bytes: bytes, device: str | torch.device = "cpu"
) -> tuple[nn.Module, Method]:
    """Rebuild (model, method) of `config` and restore their saved state bit-identically
    (feedback matrices B included); no data is loaded, the shapes come from the dataset's
    `describe`."""
    cfg = normalize_config(config)
    info = describe(cfg["data"])
    model, method = build(cfg, info["in_dim"], info["num_classes"], "cpu")
    state = torch.load(io.BytesIO(checkpoint_bytes), map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"], strict=True)
    method.load_state_dict(state["method"], strict=True)
    dev = resolve_device(device)
    return model.to(dev), method.to(dev)


def run(
    config: dict[str, Any],
    device: str | torch.device = "auto",
    on_epoch: Callable[[int, dict[str, Any]], None] | None = None,
) -> RunOutput:
    """Train one run and measure it. Exceptions propagate (the executor records them); a
    non-finite training loss stops the run with status "diverged" and the log so far."""
    t0 = time.perf_counter()
    cfg = normalize_config(config)
    dev = resolve_device(device)
    tr, ms = cfg["train"], cfg["measure"]
    data = load_data(cfg["data"]).to(dev)
    model, method = build(cfg, data.in_dim, data.num_classes, dev)
    params = method.trainable_parameters(model)
    opt = make_optimizer(params, tr, dev)
    g_batches = generator(cfg["seed"], "batches")
    g_targets = generator(cfg["seed"], "targets")

    epochs, bs = tr["epochs"], tr["batch_size"]
    n = len(data.x_train)
    steps_per_epoch = math.ceil(n / bs)
    total_steps = epochs * steps_per_epoch
    logged = set(range(epochs + 1)) if ms["epochs"] == "all" else set(ms["epochs"]) | {0, epochs}
    log: list[dict[str, Any]] = []
    status, error = "ok", None
    tracker = measure.Tracker(cfg)

    def record(epoch: int, train_loss: Any) -> None:
        entry = tracker.entry(model, method, data.x_test, data.y_test, epoch, train_loss)
        log.append(entry)
        if on_epoch is not None:
            on_epoch(epoch, entry)

    model.train()
    if 0 in logged:
        model.eval()
        init_loss = measure.dataset_loss(model, data.x_train, data.y_train, ms["eval_batch"])
        record(0, init_loss)
    model.train()

    step = 0
    for epoch in range(1, epochs + 1):
        method.begin_epoch(epoch, epochs)
        perm = torch.randperm(n, generator=g_batches).to(dev)
        ce_sum = torch.zeros((), dtype=torch.float64, device=dev)
        loss_sum = torch.zeros((), dtype=torch.float64, device=dev)
        for i in range(steps_per_epoch):
            idx = perm[i * bs : (i + 1) * bs]
            xb, yb = data.x_train[idx], data.y_train[idx]
            yb = method.train_targets(yb, g_targets)
            lr = lr_at(step, total_steps, tr)
            for group in opt.param_groups:
                group["lr"] = lr
            opt.zero_grad(set_to_none=True)
            with autocast(dev, tr):
                loss, ce = method.loss(model, xb, yb)
            loss.backward()
            if tr["grad_clip"] is not None:
                method.clip_gradients(model, tr["grad_clip"])
            opt.step()
            step += 1
            ce_sum += ce
            loss_sum += loss.detach()
        if not bool(torch.isfinite(torch.stack([ce_sum, loss_sum])).all()):
            status = "diverged"
            error = f"non-finite training loss in epoch {epoch}"
            break
        tracker.note_train_loss(epoch, ce_sum / steps_per_epoch)
        if epoch in logged:
            record(epoch, ce_sum / steps_per_epoch)

    if status == "ok":  # null calibration (measure.null_draws) only on a finished run
        final, protocol = tracker.finish(log, model, method, data.x_test, data.y_test)
    else:
        final, protocol = tracker.finish(log)
    result = {
        "status": status,
        "error": error,
        "final": final,
        "protocol": protocol,
        "log": log,
        "provenance": {
            "faspec": faspec.__version__,
            "torch": torch.__version__,
            "device": str(dev),
            "precision": precision_used(dev, tr),
            "wall_s": round(time.perf_counter() - t0, 3),
            "git": git_commit(),
            "host": socket.gethostname(),
        },
    }
    checkpoint = _checkpoint_bytes(model, method) if status == "ok" else None
    return RunOutput(result=result, checkpoint=checkpoint)
