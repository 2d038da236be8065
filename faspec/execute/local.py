"""In-process execution, one run after another: for debugging (`--executor local`) and tests.

Each run uses `threads` torch threads (verify passes `--cpus`, default 1), as a Ray task does:
torch's default (every core) makes tiny runs slower, not faster, and would time them unlike Ray.
The process's thread count is restored afterwards."""

from __future__ import annotations

from collections.abc import Iterator

from faspec.execute.base import Done, Event, Job, Progress
from faspec.execute.worker import execute, execute_pack


class LocalExecutor:
    def __init__(self, device: str = "auto", threads: int = 1) -> None:
        self.device = device
        self.threads = max(1, int(threads))

    def run(self, jobs: list[Job], progress: Progress | None = None) -> Iterator[Done]:
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            yield from self._run(jobs, progress)
        finally:
            torch.set_num_threads(before)

    def _run(self, jobs: list[Job], progress: Progress | None) -> Iterator[Done]:
        for job in jobs:
            if job.members:
                yield from self._pack(job, progress)
                continue
            on_epoch = None
            if progress is not None:
                progress(Event("start", job.run_id))

                def on_epoch(epoch: int, entry: dict, rid: str = job.run_id) -> None:
                    progress(Event("epoch", rid, epoch))

            result, ckpt = execute(job.config, self.device, on_epoch)
            yield Done(job.run_id, result, ckpt)

    def _pack(self, job: Job, progress: Progress | None) -> Iterator[Done]:
        rids = [rid for rid, _ in job.members]
        on_epoch = None
        if progress is not None:
            for rid in rids:
                progress(Event("start", rid))

            def on_epoch(k: int, epoch: int, entry: dict) -> None:
                progress(Event("epoch", rids[k], epoch))

        outs = execute_pack([c for _, c in job.members], self.device, on_epoch)
        for rid, (result, ckpt) in zip(rids, outs, strict=True):
            yield Done(rid, result, ckpt)

    def close(self) -> None:
        pass
