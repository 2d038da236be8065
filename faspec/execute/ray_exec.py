"""Runs as Ray tasks: a local Ray by default, or an existing cluster with an address.

One task per run. Results come back to the driver as they finish (`ray.wait`, never `ray.get` in
a loop), and the driver alone writes the store, so workers need no shared filesystem. A worker or
node that dies mid-run is retried by Ray (`max_retries`); an exception inside training is *not*
retried, because `worker.execute` turns it into a `failed` result with its traceback.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from faspec.execute.base import Done, Event, Job, Progress
from faspec.execute.worker import execute, execute_pack, failed_result

MAX_RETRIES = 3


class _Progress:
    """A tiny actor the workers tell "started" and "epoch e done"; the driver drains it."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, int | None]] = []

    def push(self, kind: str, run_id: str, epoch: int | None = None) -> None:
        self.events.append((kind, run_id, epoch))

    def drain(self) -> list[tuple[str, str, int | None]]:
        out, self.events = self.events, []
        return out


def _task(
    members: list[tuple[str, dict[str, Any]]], device: str, cpus: float, progress: Any = None
) -> list[tuple[dict[str, Any], bytes | None]]:
    """Body of a Ray task (one run, or a pack of seeds): pins torch's threads to the CPUs Ray
    granted and uses the GPU Ray assigned."""
    import ray
    import torch

    torch.set_num_threads(max(1, int(cpus)))
    if device == "auto":
        device = "cuda" if ray.get_gpu_ids() and torch.cuda.is_available() else "cpu"
    rids = [rid for rid, _ in members]
    if progress is not None:
        for rid in rids:
            progress.push.remote("start", rid)
    if len(members) == 1:
        on_epoch = None
        if progress is not None:

            def on_epoch(epoch: int, entry: dict[str, Any]) -> None:
                progress.push.remote("epoch", rids[0], epoch)

        outs = [execute(members[0][1], device, on_epoch)]
    else:
        on_pack = None
        if progress is not None:

            def on_pack(k: int, epoch: int, entry: dict[str, Any]) -> None:
                progress.push.remote("epoch", rids[k], epoch)

        outs = execute_pack([c for _, c in members], device, on_pack)
    node = ray.get_runtime_context().get_node_id()
    for result, _ in outs:
        result.setdefault("provenance", {})["ray_node"] = node
    return outs


def _object_store_bytes() -> int:
    """Cap Ray's object store for small machines: results are kilobytes, checkpoints megabytes."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        total = 8 << 30
    return int(max(100 << 20, min(1 << 30, total // 10)))


class RayExecutor:
    """Attach to `address` (``auto``, ``host:port``, ``ray://…``) or start a private local Ray."""

    def __init__(
        self,
        address: str | None = None,
        device: str = "auto",
        cpus: float = 1,
        gpus: float = 0,
        num_cpus: int | None = None,
    ) -> None:
        import ray
        import torch  # noqa: F401

        # torch before any task: the check path no longer loads it, and otherwise the driver
        # imports it while taking the first result back (measured: 1-2 s during which finished
        # runs wait, then reach the store in one burst, and the workers lose a CPU to it)
        self.device = device
        self.cpus, self.gpus = cpus, gpus
        self._temp_dir: str | None = None
        self._started = False
        if ray.is_initialized():
            return
        if address:
            ray.init(address=address, log_to_driver=False, logging_level="WARNING")
        else:
            # Short path: Ray puts unix sockets under it (107-byte limit).
            self._temp_dir = tempfile.mkdtemp(prefix="faspec-ray-", dir="/tmp")
            ray.init(
                num_cpus=num_cpus or os.cpu_count() or 1,
                include_dashboard=False,
                _temp_dir=self._temp_dir,
                object_store_memory=_object_store_bytes(),
                log_to_driver=False,
                logging_level="WARNING",
            )
        self._started = True

    def run(self, jobs: list[Job], progress: Progress | None = None) -> Iterator[Done]:
        import ray

        remote = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(_task)
        actor = ray.remote(num_cpus=0)(_Progress).remote() if progress else None
        pending: dict[Any, Job] = {}
        for job in jobs:
            cpus = float(job.resources.get("cpus", self.cpus))
            gpus = float(job.resources.get("gpus", self.gpus))
            ref = remote.options(num_cpus=cpus, num_gpus=gpus, name=f"faspec:{job.run_id}").remote(
                job.runs(), self.device, cpus, actor
            )
            pending[ref] = job
            if progress:
                progress(Event("queued", job.run_id))
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                if actor is not None and progress is not None:
                    for kind, rid, epoch in ray.get(actor.drain.remote()):
                        progress(Event(kind, rid, epoch))
                for ref in ready:
                    job = pending.pop(ref)
                    t0 = time.perf_counter()
                    try:
                        outs = ray.get(ref)
                    except Exception as e:  # noqa: BLE001 - worker/node died past its retries
                        failed = failed_result(
                            f"Ray task failed after {MAX_RETRIES} retries: {type(e).__name__}: {e}",
                            wall_s=time.perf_counter() - t0,
                        )
                        outs = [(dict(failed), None) for _ in job.runs()]
                    for (rid, _), (result, ckpt) in zip(job.runs(), outs, strict=True):
                        yield Done(rid, result, ckpt)
        except KeyboardInterrupt:
            raise  # the caller exits the process; cancelling here races Ray's task replies
        finally:
            if not isinstance(sys.exc_info()[1], KeyboardInterrupt):
                for ref in pending:
                    ray.cancel(ref, force=True)
                if actor is not None:
                    ray.kill(actor)

    def close(self) -> None:
        import ray

        if self._started and ray.is_initialized():
            ray.shutdown()
        if self._temp_dir:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
