"""faspec on a real multi-node Ray, the way a cluster is used: a 0-CPU head (dashboard on, Ray
Client server on) and two 1-CPU worker nodes, each started with its own `ray start` on its own
loopback address (127.0.0.1, .2, .3) inside the test's network namespace.

It checks the routes in (`--address host:port`, `ray://`, a Ray Job through `ray job submit`
with RAY_ADDRESS and no --address), that losing a worker node (killed by its processes' session,
never `ray stop`) is survived, and that a fault of Ray or the environment (a node lost past its
retries, a worker that cannot import faspec, data missing on the nodes) is reported and never
stored, so the next verify trains those runs again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers import FASPEC
from test_ray import (
    RAY,
    Procs,
    _session_pids,
    kill_session,
    ray_spec,
    report,
    write,
)

import faspec

pytestmark = pytest.mark.ray

BASE = 6500 + os.getpid() % 40 * 20  # this run's ports (the namespace is private anyway)


class Cluster:
    """The head and its worker nodes; each node is one session of processes, killed by sid."""

    def __init__(self, netns, tmp: Path) -> None:
        self.netns, self.tmp = netns, tmp
        self.procs = Procs(netns, tmp)
        self.gcs = f"127.0.0.1:{BASE}"
        self.dashboard = f"http://127.0.0.1:{BASE + 2}"
        self.workers: dict[int, subprocess.Popen] = {}  # node number -> its `ray start`
        self.next = 2
        # short: Ray's unix sockets live under it (107 bytes, and the dashboard's names are long)
        self.ray_tmp = tempfile.mkdtemp(prefix="fsr-", dir="/tmp")

    def _ports(self, k: int) -> list[str]:
        p = BASE + 4 * k + 3
        return [
            "--dashboard-agent-listen-port", str(p),
            "--dashboard-agent-grpc-port", str(p + 1),
            "--runtime-env-agent-port", str(p + 2),
            "--metrics-export-port", str(p + 3),
        ]  # fmt: skip

    def start_head(self) -> None:
        self.head = self.procs.popen(
            [
                RAY, "start", "--head", "--port", str(BASE), "--num-cpus", "0",
                "--node-ip-address", "127.0.0.1",
                "--include-dashboard", "true", "--dashboard-host", "127.0.0.1",
                "--dashboard-port", str(BASE + 2), "--temp-dir", self.ray_tmp,
                *self._ports(1), "--block",
            ],
            stdout=(self.tmp / "head.log").open("w"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def add_worker(self, k: int | None = None) -> int:
        if k is None:
            k, self.next = self.next, self.next + 1
        self.workers[k] = self.procs.popen(
            [
                RAY, "start", "--address", self.gcs, "--num-cpus", "1",
                "--node-ip-address", f"127.0.0.{k}", *self._ports(k), "--block",
            ],
            stdout=(self.tmp / f"worker{k}.log").open("w"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        return k

    def alive(self) -> int:
        probe = (
            f"import ray; ray.init(address={self.gcs!r}, logging_level='ERROR'); "
            "print(sum(1 for n in ray.nodes() if n['Alive']))"
        )
        out = subprocess.run(
            self.netns.prefix + [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            env=self.netns.env(self.tmp),
            timeout=90,
        )
        return int(out.stdout.strip() or 0) if out.returncode == 0 else 0

    def wait_workers(self, n: int, timeout: float = 150) -> None:
        """Until the head and `n` worker nodes are alive."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            assert self.head.poll() is None, (self.tmp / "head.log").read_text()[-3000:]
            if self.alive() >= n + 1:
                return
            for k, p in list(self.workers.items()):
                if p.poll() is not None:  # timed out starting on this loaded machine: again
                    kill_session(p.pid)
                    self.add_worker(k)
            time.sleep(1)
        logs = [(self.tmp / f"worker{k}.log") for k in self.workers]
        tails = "\n".join(p.read_text()[-1500:] for p in logs if p.exists())
        pytest.fail(f"fewer than {n} worker nodes came up in {timeout:.0f} s\n{tails}")

    def node_of(self, pid: int) -> int | None:
        for k, p in self.workers.items():
            if pid in _session_pids(p.pid):
                return k
        return None

    def kill(self, k: int) -> None:
        kill_session(self.workers.pop(k).pid)

    def close(self) -> None:
        self.procs.close()
        shutil.rmtree(self.ray_tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(netns, tmp_path_factory):
    c = Cluster(netns, tmp_path_factory.mktemp("cluster3"))
    try:
        c.start_head()
        c.wait_workers(0)
        c.add_worker()
        c.wait_workers(1)
        c.add_worker()
        c.wait_workers(2)
        yield c
    finally:
        c.close()


@pytest.fixture
def two_workers(cluster):
    """Two live worker nodes at the start of the test (a killed one is replaced)."""
    if len(cluster.workers) < 2:
        cluster.add_worker()
        cluster.wait_workers(2)
    return cluster


def _pids(marker: bytes) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if marker in Path(f"/proc/{d}/cmdline").read_bytes():
                    out.append(int(d))
            except OSError:
                pass
    return out


def _kill_a_busy_node(c: Cluster, deadline_s: float = 180) -> tuple[int, str]:
    """Kill the worker node that holds faspec's progress actor if one does, else the one running
    a faspec task; return (node, what it held)."""
    deadline = time.time() + deadline_s
    while time.time() < deadline:
        for marker, what in ((b"ray::_Progress", "the progress actor"), (b"faspec:", "a task")):
            for pid in _pids(marker):
                k = c.node_of(pid)
                if k is not None:
                    if what == "a task":
                        time.sleep(1.0)  # let it get into training
                    c.kill(k)
                    return k, what
        time.sleep(0.2)
    pytest.fail("never saw a faspec task on a worker node")


def _stored(tmp: Path, store: str = "store") -> dict[str, str]:
    return {
        f.parent.name: json.loads(f.read_text())["status"]
        for f in (tmp / store).glob("*/result.json")
    }


@pytest.fixture
def procs(netns, tmp_path):
    pr = Procs(netns, tmp_path)
    yield pr
    pr.close()


def test_losing_a_worker_node_is_survived(procs, two_workers, tmp_path):
    spec = write(tmp_path, name="n", epochs=12, n_train=4096)
    p = procs.popen(
        FASPEC
        + ["verify", spec, "--address", two_workers.gcs, "--store", "store", "--reports", "rep"]
    )
    node, held = _kill_a_busy_node(two_workers)
    out, err = p.communicate(timeout=420)
    assert p.returncode == 0, f"killed node {node} holding {held}\n" + out + err[-3000:]
    assert report(tmp_path, "n")["ok"]
    assert sorted(_stored(tmp_path).values()) == ["ok"] * 4


def test_a_node_lost_past_its_retries_is_not_stored_and_trained_next_time(
    procs, two_workers, tmp_path
):
    spec = write(tmp_path, name="r", epochs=12, n_train=4096)
    args = ["verify", spec, "--address", two_workers.gcs, "--store", "store", "--reports", "rep"]
    env = {**two_workers.netns.env(tmp_path), "FASPEC_RAY_MAX_RETRIES": "0"}
    p = procs.popen(FASPEC + args, env=env)
    _kill_a_busy_node(two_workers)
    out, err = p.communicate(timeout=420)
    assert p.returncode == 1, out + err[-3000:]
    assert "NOT stored" in err and "Ray:" in err, err[-3000:]
    stored = _stored(tmp_path)
    assert "failed" not in stored.values() and len(stored) < 4
    r = procs.faspec(args, timeout=420)  # the cluster is whole again: the lost runs train now
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"{len(stored)} cached, {4 - len(stored)} to train" in r.stderr
    assert sorted(_stored(tmp_path).values()) == ["ok"] * 4


def test_a_worker_that_cannot_import_faspec_stores_nothing(procs, cluster, tmp_path):
    shadow = tmp_path / "shadow" / "faspec"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('faspec is not installed here')\n")
    spec = write(tmp_path, name="m", epochs=1, n_train=512)
    env = json.dumps({"env_vars": {"PYTHONPATH": str(shadow.parent)}})
    args = ["verify", spec, "--address", cluster.gcs, "--store", "store", "--reports", "rep"]
    r = procs.faspec([*args, "--runtime-env", env], timeout=420)
    assert r.returncode == 1, r.stdout + r.stderr[-3000:]
    assert "NOT stored" in r.stderr and "faspec is not installed here" in r.stderr, r.stderr
    assert _stored(tmp_path) == {}
    r = procs.faspec(args, timeout=420)  # the environment is fixed: everything trains
    assert r.returncode == 0 and "0 cached, 4 to train" in r.stderr, r.stderr[-3000:]


def test_data_missing_on_the_nodes_is_not_stored(procs, cluster, tmp_path):
    broken = {
        "methods": ["bp"],
        "seeds": [1],
        "data": {"name": "cifar10", "data_dir": str(tmp_path / "no-cifar-here")},
    }
    (tmp_path / "e.yaml").write_text(
        ray_spec(
            "e",
            1,
            512,
            experiments={"main": {"methods": ["bp", "frozen"]}, "broken": broken},
            claims=[{"id": "cifar-run", "in": "broken", "expect": "bp.test_acc > 0.1"}],
        )
    )
    args = ["verify", "e.yaml", "--address", cluster.gcs, "--store", "store", "--reports", "rep"]
    r = procs.faspec(args, timeout=420)
    assert r.returncode == 1, r.stdout + r.stderr[-3000:]
    assert "NOT stored" in r.stderr and "no-cifar-here" in r.stderr
    (claim,) = report(tmp_path, "e")["claims"]
    assert claim["verdict"] != "pass"
    stored = _stored(tmp_path)  # the main experiment's four runs trained; the cifar one did not
    assert sorted(stored.values()) == ["ok"] * 4 and claim["runs"][0] not in stored
    r = procs.faspec(args, timeout=420)
    assert "4 cached, 1 to train" in r.stderr, r.stderr[-3000:]


def test_from_outside_through_ray_client(procs, netns, tmp_path):
    # its own one-node cluster: a Ray Client server (no dashboard) is all this route needs
    ray_tmp = tempfile.mkdtemp(prefix="fsc-", dir="/tmp")
    try:
        procs.popen(
            [
                RAY, "start", "--head", "--port", str(BASE + 3), "--num-cpus", "1",
                "--node-ip-address", "127.0.0.1", "--ray-client-server-port", str(BASE + 4),
                "--include-dashboard", "false", "--temp-dir", ray_tmp, "--block",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(5)
        spec = write(tmp_path, name="c", epochs=1, n_train=512)
        client = f"ray://127.0.0.1:{BASE + 4}"
        args = ["verify", spec, "--address", client, "--store", "store", "--reports", "rep"]
        deadline = time.time() + 120
        while True:  # the client server answers some seconds after the head
            r = procs.faspec(args, timeout=420)
            if r.returncode != 2 or time.time() > deadline:
                break
            time.sleep(5)
    finally:
        procs.close()
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert f"attaching to Ray at {client}" in r.stderr
    prov = [
        json.loads(f.read_text())["provenance"] for f in (tmp_path / "store").glob("*/result.json")
    ]
    assert len(prov) == 4 and all(p["ray_node"] and p["git"] for p in prov)


def test_as_a_ray_job(procs, cluster, tmp_path):
    spec = write(tmp_path, name="j", epochs=1, n_train=512)
    entry = (
        f"cd {tmp_path} && {sys.executable} -m faspec.cli verify {spec} --store store "
        "--reports rep > job.out 2>&1; echo $? > job.rc"
    )
    env = {**cluster.netns.env(tmp_path), "RAY_ADDRESS": cluster.dashboard}
    p = procs.popen([RAY, "job", "submit", "--", "bash", "-c", entry], env=env)
    out, err = p.communicate(timeout=480)
    assert p.returncode == 0, out + err[-3000:]
    log = (tmp_path / "job.out").read_text()
    assert (tmp_path / "job.rc").read_text().strip() == "0", log[-3000:]
    assert "attaching to Ray at" in log and "num_cpus" not in log
    assert sorted(_stored(tmp_path).values()) == ["ok"] * 4


def test_workers_with_another_faspec_are_refused(procs, cluster, tmp_path):
    real = Path(__file__).resolve().parents[1] / "faspec"
    shadow = tmp_path / "other" / "faspec"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(  # the same code under another version number
        f"__path__.append({str(real)!r})\n"
        f"exec(open({str(real / '__init__.py')!r}).read())\n"
        "__version__ = '9.9.9'\n"
    )
    spec = write(tmp_path, name="v", epochs=1, n_train=512)
    env = json.dumps({"env_vars": {"PYTHONPATH": str(shadow.parent)}})
    r = procs.faspec(
        ["verify", spec, "--address", cluster.gcs, "--runtime-env", env, "--store", "store"],
        timeout=420,
    )
    assert r.returncode == 2, r.stdout + r.stderr[-3000:]
    assert "the workers run another faspec than this driver" in r.stderr
    assert f"faspec: driver {faspec.__version__}, worker 9.9.9" in r.stderr and "hint:" in r.stderr
    assert _stored(tmp_path) == {}
