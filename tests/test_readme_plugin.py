"""The README's "Adding a method" example is real code: run it, then train with the new method."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from faspec.train import load_checkpoint, normalize_config, registry, run

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_method_example_registers_and_trains():
    block = re.search(r"## Adding a method.*?```python\n(.*?)```", README.read_text(), re.S)
    assert block, "README lost its 'Adding a method' example"
    registry.METHODS.pop("scaled_dfa", None)
    try:
        exec(compile(block.group(1), "README.md", "exec"), {})
        cfg = normalize_config(
            {
                "method": {"name": "scaled_dfa", "scale": 2.0},
                "data": {"name": "teacher", "n_train": 512, "n_test": 256},
                "model": {"d": 16, "blocks": 2},
                "train": {"epochs": 1},
                "measure": {"eval_batch": 128, "rho_dirs": 2},
            }
        )
        assert cfg["method"]["version"] == 1 and cfg["method"]["scale"] == 2.0
        out = run(cfg, device="cpu")
        assert out.result["status"] == "ok"
        assert out.result["final"]["deep_cos"] is not None
        _, method = load_checkpoint(cfg, out.checkpoint)
        assert torch.equal(
            method.B0, torch.load(__import__("io").BytesIO(out.checkpoint))["method"]["B0"]
        )
    finally:
        registry.METHODS.pop("scaled_dfa", None)
