"""Independent random streams derived from one seed.

The run seed fixes initialization, feedback matrices, batch order and random targets, and the
data seed fixes the task; each purpose gets its own stream so that changing one thing (the
method, the number of epochs, n_train) does not reshuffle the others. In particular seed 42
gives every method the same initial weights, which makes per-seed comparisons paired.
All streams live on the CPU: the same seed gives the same init, B and batch order on any device.
"""

from __future__ import annotations

import numpy as np
import torch

STREAMS = {
    "init": 0,
    "feedback": 1,
    "batches": 2,
    "targets": 3,
    "teacher": 10,
    "train_x": 11,
    "test_x": 12,
}


def derive_seed(seed: int, stream: str) -> int:
    """A 63-bit seed for `stream`, statistically independent of the other streams of `seed`."""
    state = np.random.SeedSequence([int(seed), STREAMS[stream]]).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def generator(seed: int, stream: str) -> torch.Generator:
    """A CPU torch.Generator for one stream of `seed`."""
    return torch.Generator().manual_seed(derive_seed(seed, stream))
