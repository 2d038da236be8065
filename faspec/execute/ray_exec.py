"""Runs as Ray tasks: a private local Ray by default, or an existing cluster.

One task per run (or pack of seeds). Results come back to the driver as they finish (`ray.wait`,
never `ray.get` in a loop), and the driver alone writes the store, so workers need no shared
filesystem. What this module promises about a cluster:

* Where it connects: `--address` (``auto``, ``host:port``, ``ray://host:port``), else
  ``RAY_ADDRESS`` (set by `ray job submit`), else a private local Ray. Attaching to an existing
  cluster never passes local-start options (`num_cpus`, ...). An address that does not answer
  within a few seconds is a `ClusterError` naming it (the CLI's exit 2), not a hang.
* Node loss is survived: a task whose worker or node dies is retried by Ray (`max_retries`); the
  only actor (progress) is pinned to the driver's own node and is best-effort, so losing any
  other node never ends the verify.
* Only training errors are results: an exception inside training comes back as a `failed`
  result (see worker.execute); anything Ray or the environment raises (a worker that cannot
  import faspec, a node lost past its retries, ...) comes back as a `fault` result, which the
  driver reports and never stores.
* The workers run the driver's faspec: each task checks its faspec version (and git commit where
  both are known) against the driver's; a mismatch is a `ClusterError`.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from faspec.execute.base import Done, Event, Job, Progress
from faspec.execute.worker import (
    ClusterError,
    code_identity,
    execute,
    execute_pack,
    fault_result,
)

MAX_RETRIES = int(os.environ.get("FASPEC_RAY_MAX_RETRIES", "3"))
CONNECT_TIMEOUT_S = 10.0
MIB = 1 << 20


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
    members: list[tuple[str, dict[str, Any]]],
    device: str,
    cpus: float,
    progress: Any = None,
    expect: dict[str, Any] | None = None,
) -> list[tuple[dict[str, Any], bytes | None]]:
    """Body of a Ray task (one run, or a pack of seeds): refuses a faspec other than the
    driver's, pins torch's threads to the CPUs Ray granted and uses the GPU Ray assigned."""
    import ray

    mine = code_identity()
    if expect is not None:
        # the commit only where both sides know theirs (an installed wheel has none)
        bad = [
            k
            for k in ("faspec", "git")
            if expect.get(k) and mine.get(k) != expect[k] and (k == "faspec" or mine.get(k))
        ]
        if bad:
            where = ", ".join(f"{k}: driver {expect[k]}, worker {mine.get(k)}" for k in bad)
            err = fault_result(f"version mismatch ({where})", device)
            err["mismatch"] = True
            return [(dict(err), None) for _ in members]
    import torch

    torch.set_num_threads(max(1, int(cpus)))
    if device == "auto":
        device = "cuda" if ray.get_gpu_ids() and torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():  # the node's, not the run's
        err = fault_result(f"--device cuda, but node {platform.node()} has no usable GPU", device)
        return [(dict(err), None) for _ in members]
    rids = [rid for rid, _ in members]

    def push(*args: Any) -> None:
        if progress is not None:
            try:
                progress.push.remote(*args)
            except Exception:  # noqa: BLE001 - progress is best-effort, never a run's fate
                pass

    for rid in rids:
        push("start", rid)
    if len(members) == 1:

        def on_epoch(epoch: int, entry: dict[str, Any]) -> None:
            push("epoch", rids[0], epoch)

        outs = [execute(members[0][1], device, on_epoch if progress is not None else None)]
    else:

        def on_pack(k: int, epoch: int, entry: dict[str, Any]) -> None:
            push("epoch", rids[k], epoch)

        outs = execute_pack([c for _, c in members], device, on_pack if progress else None)
    node = ray.get_runtime_context().get_node_id()
    for result, _ in outs:
        prov = result.setdefault("provenance", {})
        prov["ray_node"] = node
        if not prov.get("git"):  # the worker's checkout, not the driver's
            prov["git"] = mine.get("git")
    return outs


def _object_store_bytes() -> int:
    """Cap Ray's object store for small machines: results are kilobytes, checkpoints megabytes."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        total = 8 << 30
    return int(max(100 << 20, min(1 << 30, total // 10)))


def task_memory(job: Job) -> int:
    """Bytes of host memory a task declares (Ray's `memory=`): the spec's `resources.memory`
    (GiB), else torch's own footprint plus the data set and each member's model and activations."""
    from faspec.plan_cost import member_bytes

    gib = job.resources.get("memory")
    if gib:
        return int(float(gib) * 1024 * MIB)
    data = job.config.get("data", {})
    n = (data.get("n_train") or 50000) + (data.get("n_test") or 10000)
    return int(768 * MIB + n * 3072 * 4 + sum(member_bytes(c) for _, c in job.runs()))


def resolve_address(address: str | None) -> str | None:
    """The cluster to attach to: `--address`, else $RAY_ADDRESS (a Ray Job), else None (start
    a private Ray)."""
    return address or os.environ.get("RAY_ADDRESS") or None


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast, naming the address, when nothing listens there (Ray itself waits a minute and
    then raises a bare ConnectionError). ``auto`` is left to Ray."""
    if address == "auto":
        return
    if address.startswith("ray://"):
        try:
            import grpc  # noqa: F401
            import ray.util.client  # noqa: F401
        except ImportError as e:
            raise ClusterError(
                f"{address}: Ray Client needs `ray[client]` on this machine ({e})",
                hint="pip install 'faspec[cluster]' (or 'ray[client]' of the cluster's Ray version)",
            ) from None
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise ClusterError(
            f"{address}: not a Ray address",
            hint="give auto, HOST:PORT (the head's GCS port, 6379 by default) or ray://HOST:10001",
        )
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as e:
        raise ClusterError(
            f"{address}: no Ray cluster answers there ({e.strerror or e})",
            hint="is the head running and is its port reachable from here? `ray status "
            "--address HOST:PORT` on a node checks it; from outside the cluster use ray://HOST:10001 "
            "or submit with `ray job submit`",
        ) from None


class RayExecutor:
    """Attach to a cluster (see `resolve_address`) or start a private local Ray."""

    def __init__(
        self,
        address: str | None = None,
        device: str = "auto",
        cpus: float = 1,
        gpus: float = 0,
        num_cpus: int | None = None,
        runtime_env: dict[str, Any] | None = None,
    ) -> None:
        address = resolve_address(address)
        if address and not self._attached():
            check_reachable(address)  # before the imports: a wrong address fails in a second
        import ray
        import torch  # noqa: F401

        # torch before any task: the check path no longer loads it, and otherwise the driver
        # imports it while taking the first result back (measured: 1-2 s during which finished
        # runs wait, then reach the store in one burst, and the workers lose a CPU to it)
        self.device = device
        self.cpus, self.gpus = cpus, gpus
        self._temp_dir: str | None = None
        self._started = False
        self.warnings: list[str] = []
        if ray.is_initialized():
            return
        quiet = {"log_to_driver": False, "logging_level": "WARNING"}
        if runtime_env:
            quiet["runtime_env"] = runtime_env
        if address:
            try:
                ray.init(address=address, **quiet)
            except (ConnectionError, TimeoutError, ray.exceptions.AuthenticationError) as e:
                raise ClusterError(
                    f"{address}: could not attach to Ray ({type(e).__name__}: "
                    f"{str(e).splitlines()[0] if str(e) else ''})",
                    hint="check that the cluster's Ray version matches this one "
                    f"({ray.__version__}) and that it is up (`ray status`); a cluster started "
                    "with token authentication (Ray's default for `ray start --head` since "
                    "2.59) needs RAY_AUTH_MODE=token and its token (RAY_AUTH_TOKEN, or "
                    "~/.ray/auth_token) here too",
                ) from None
        else:
            # Short path: Ray puts unix sockets under it (107-byte limit).
            self._temp_dir = tempfile.mkdtemp(prefix="faspec-ray-", dir="/tmp")
            ray.init(
                num_cpus=num_cpus or os.cpu_count() or 1,
                include_dashboard=False,
                _temp_dir=self._temp_dir,
                object_store_memory=_object_store_bytes(),
                **quiet,
            )
        self._started = True

    @staticmethod
    def _attached() -> bool:
        """Ray already initialised in this process (then no address is used)."""
        ray = sys.modules.get("ray")
        return bool(ray is not None and ray.is_initialized())

    def _progress_actor(self) -> Any:
        """The progress actor, on the driver's node (never a worker node that may be lost)."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = ray.get_runtime_context().get_node_id()
        strategy = NodeAffinitySchedulingStrategy(node_id=here, soft=False)
        return (
            ray.remote(num_cpus=0, max_restarts=0)(_Progress)
            .options(scheduling_strategy=strategy)
            .remote()
        )

    def run(self, jobs: list[Job], progress: Progress | None = None) -> Iterator[Done]:
        import ray

        remote = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(_task)
        actor = None
        if progress:
            try:
                actor = self._progress_actor()
            except Exception as e:  # noqa: BLE001 - progress is best-effort
                self.warnings.append(f"no live progress ({type(e).__name__}: {e})")
        expect = code_identity()
        pending: dict[Any, Job] = {}
        for job in jobs:
            cpus = float(job.resources.get("cpus", self.cpus))
            gpus = float(job.resources.get("gpus", self.gpus))
            ref = remote.options(
                num_cpus=cpus, num_gpus=gpus, memory=task_memory(job), name=f"faspec:{job.run_id}"
            ).remote(job.runs(), self.device, cpus, actor, expect)
            pending[ref] = job
            if progress:
                progress(Event("queued", job.run_id))
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                if actor is not None and progress is not None:
                    try:
                        events = ray.get(actor.drain.remote(), timeout=30)
                    except Exception as e:  # noqa: BLE001 - a lost actor ends progress only
                        self.warnings.append(f"live progress stopped ({type(e).__name__})")
                        actor, events = None, []
                    for kind, rid, epoch in events:
                        progress(Event(kind, rid, epoch))
                for ref in ready:
                    job = pending.pop(ref)
                    t0 = time.perf_counter()
                    try:
                        outs = ray.get(ref)
                    except Exception as e:  # noqa: BLE001 - Ray/environment, never training
                        first = str(e).strip().splitlines()
                        fault = fault_result(
                            f"Ray: {type(e).__name__}: {first[-1] if first else ''}"
                            f" (after up to {MAX_RETRIES} retries)",
                            wall_s=time.perf_counter() - t0,
                        )
                        outs = [(dict(fault), None) for _ in job.runs()]
                    if any(r.get("mismatch") for r, _ in outs):
                        raise ClusterError(
                            f"the workers run another faspec than this driver: {outs[0][0]['error']}",
                            hint="install the same faspec on every node, or ship the driver's "
                            "code with --runtime-env '{working_dir: .}' (or `runtime_env:` in "
                            "the spec)",
                        )
                    for (rid, _), (result, ckpt) in zip(job.runs(), outs, strict=True):
                        yield Done(rid, result, ckpt)
        except KeyboardInterrupt:
            raise  # the caller exits the process; cancelling here races Ray's task replies
        finally:
            if not isinstance(sys.exc_info()[1], KeyboardInterrupt):
                for ref in pending:
                    ray.cancel(ref, force=True)
                if actor is not None:
                    try:
                        ray.kill(actor)
                    except Exception:  # noqa: BLE001 - already gone with its node
                        pass

    def close(self) -> None:
        import ray

        if self._started and ray.is_initialized():
            ray.shutdown()
        if self._temp_dir:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
