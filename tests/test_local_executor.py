"""`--executor local` trains each run with a fixed number of torch threads (1 by default, or
`--cpus`), as a Ray task does, and gives the process its thread count back afterwards."""

from __future__ import annotations

import torch

from faspec.config import normalize_config
from faspec.execute.base import Job
from faspec.execute.local import LocalExecutor

CFG = {
    "data": {"name": "teacher", "n_train": 128, "n_test": 64},
    "model": {"d": 8, "blocks": 1},
    "train": {"epochs": 1, "batch_size": 64},
    "measure": {"eval_batch": 64, "rho_dirs": 0},
}


def _threads_seen(executor: LocalExecutor) -> set[int]:
    seen: set[int] = set()
    job = Job("r", normalize_config(CFG), {})
    done = list(executor.run([job], lambda event: seen.add(torch.get_num_threads())))
    assert done[0].result["status"] == "ok"
    return seen


def test_local_runs_use_one_thread_by_default_and_restore_the_count():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert _threads_seen(LocalExecutor("cpu")) == {1}
        assert torch.get_num_threads() == 2
        assert _threads_seen(LocalExecutor("cpu", threads=2)) == {2}
        assert LocalExecutor("cpu", threads=0).threads == 1  # --cpus 0.5 still gets one
    finally:
        torch.set_num_threads(before)
