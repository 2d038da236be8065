"""What a run is made of: model and method from a config, optimizer, device, checkpoint bytes.

The run seed fixes init, feedback matrices, batch order and random targets through separate
CPU streams (`faspec.train.rng`), so the same config gives the same init and batches on any
device. `build` makes one member freshly; `load_checkpoint` rebuilds it and restores a saved
state. The training loop that uses them is `faspec.train.loop`.
"""

from __future__ import annotations

import io
import math
import os
import socket
import subprocess
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

import faspec
from faspec.config import normalize_config
from faspec.registry import ARCHS, METHODS
from faspec.train.data import describe
from faspec.train.methods.base import Method
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


def checkpoint_bytes(model: nn.Module, method: Method) -> bytes:
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


def provenance(dev: torch.device, train: dict[str, Any], wall_s: float, pack_size: int) -> dict:
    """Where and how a result was computed (result["provenance"]); `pack_size` only when > 1."""
    out: dict[str, Any] = {
        "faspec": faspec.__version__,
        "torch": torch.__version__,
        "device": str(dev),
        "precision": precision_used(dev, train),
        "wall_s": round(wall_s, 3),
    }
    if pack_size > 1:
        out["pack_size"] = pack_size  # wall_s is then the whole pack's
    out["git"] = git_commit()
    out["host"] = socket.gethostname()
    return out


def compile_mode(device: torch.device, train: dict[str, Any]) -> str | None:
    """The torch.compile mode of the training step, or None for eager: `train.compile` 'auto'
    compiles on CUDA only, with mode "reduce-overhead" (the step replays as a CUDA graph: no
    Python and no kernel-launch cost per step); 'true' also compiles on the CPU (default mode:
    measured slower there for short runs, see benchmarks/train_throughput.py --compile)."""
    choice = train.get("compile", "auto")
    if choice == "false" or (choice == "auto" and device.type != "cuda"):
        return None
    return "reduce-overhead" if device.type == "cuda" else "default"


def lr_table(cfgs: list[dict[str, Any]], total: int) -> list[list[float]]:
    """lr of every member at every optimizer step: [step][member] (the schedule, once)."""
    return [[lr_at(t, total, c["train"]) for c in cfgs] for t in range(total)]
