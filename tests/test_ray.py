"""faspec on a real Ray: a private local Ray, a two-node cluster on 127.0.0.1, and faults.

Everything runs inside a loopback-only network namespace (the `netns` fixture). Each process a
test starts gets its own session, and the test kills exactly that session's processes at the end
(never `ray stop`, which would end every Ray process on the machine).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import FASPEC, spec_text

pytestmark = pytest.mark.ray

RAY = str(Path(sys.executable).parent / "ray")

CLAIMS = [
    {"id": "bp-above-chance", "in": "main", "expect": "bp.test_acc > 0.05", "seeds": "all"},
    {"id": "frozen-above-chance", "in": "main", "expect": "frozen.test_acc > 0.05", "seeds": "all"},
]


def ray_spec(
    name: str, epochs: int, n_train: int, experiments: dict | None = None, claims: list = CLAIMS
) -> str:
    """The tiny teacher task, bp and frozen on seeds 1 and 2, each claiming above-chance accuracy."""
    return spec_text(
        name,
        data={"n_train": n_train, "n_test": 512},
        train={"epochs": epochs},
        seeds=[1, 2],
        experiments=experiments,
        claims=claims,
    )


def _session_pids(sid: int) -> list[int]:
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid:  # field 6 of stat: session id
            pids.append(int(d))
    return pids


def kill_session(sid: int) -> None:
    for pid in _session_pids(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Procs:
    """Processes a test started, each in its own session; all killed by session id at the end."""

    def __init__(self, netns, cwd: Path) -> None:
        self.netns, self.cwd, self.started = netns, cwd, []

    def popen(self, args: list[str], **kw) -> subprocess.Popen:
        p = subprocess.Popen(
            self.netns.prefix + args,
            cwd=self.cwd,
            env=kw.pop("env", None) or self.netns.env(self.cwd),
            stdout=kw.pop("stdout", subprocess.PIPE),
            stderr=kw.pop("stderr", subprocess.PIPE),
            text=True,
            start_new_session=True,
            **kw,
        )
        self.started.append(p)
        return p

    def faspec(self, args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
        p = self.popen(FASPEC + args)
        try:
            out, err = p.communicate(timeout=timeout)
        finally:
            kill_session(p.pid)
        return subprocess.CompletedProcess(p.args, p.returncode, out, err)

    def close(self) -> None:
        for p in self.started:
            kill_session(p.pid)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


@pytest.fixture
def procs(netns, tmp_path):
    pr = Procs(netns, tmp_path)
    yield pr
    pr.close()


def write(tmp: Path, name: str = "s", epochs: int = 2, n_train: int = 1024) -> str:
    (tmp / f"{name}.yaml").write_text(ray_spec(name, epochs, n_train))
    return f"{name}.yaml"


def report(tmp: Path, name: str, reports: str = "rep") -> dict:
    return json.loads((tmp / reports / f"{name}.json").read_text())


def test_verify_on_a_private_local_ray(procs, tmp_path):
    spec = write(tmp_path)
    r = procs.faspec(["verify", spec, "--store", "store", "--reports", "rep"])
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert "4 to train" in r.stderr and "[4/4]" in r.stderr
    rep = report(tmp_path, "s")
    assert rep["ok"] and rep["trained"] == 4
    nodes = {
        json.loads(p.read_text())["provenance"].get("ray_node")
        for p in (tmp_path / "store").glob("*/result.json")
    }
    assert None not in nodes  # trained by Ray workers, not in-process
    r = procs.faspec(["verify", spec, "--store", "store", "--reports", "rep"])
    assert r.returncode == 0 and "4 cached, 0 to train" in r.stderr
    assert "starting Ray" not in r.stderr  # nothing to train: Ray is not even started


@pytest.fixture(scope="module")
def cluster(netns, tmp_path_factory):
    """A head and a worker node, 1 CPU each, started with `ray start` on 127.0.0.1."""
    tmp = tmp_path_factory.mktemp("cluster")
    port = 6390 + os.getpid() % 50
    pr = Procs(netns, tmp)
    common = ["--num-cpus", "1", "--node-ip-address", "127.0.0.1", "--block"]
    head = pr.popen(
        [
            RAY,
            "start",
            "--head",
            "--port",
            str(port),
            "--include-dashboard",
            "false",
            "--temp-dir",
            str(tmp / "ray"),
            *common,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    addr = f"127.0.0.1:{port}"
    probe = f"import ray; ray.init(address={addr!r}, logging_level='ERROR'); print(sum(n['Alive'] for n in ray.nodes()))"
    started_worker = False
    deadline = time.time() + 90
    while time.time() < deadline:
        assert head.poll() is None, "ray head exited"
        out = subprocess.run(
            netns.prefix + [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            env=netns.env(tmp),
            timeout=60,
        )
        alive = int(out.stdout.strip() or 0) if out.returncode == 0 else 0
        if alive >= 1 and not started_worker:
            pr.popen(
                [RAY, "start", "--address", addr, *common],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            started_worker = True
        if alive >= 2:
            break
        time.sleep(1)
    else:
        pr.close()
        pytest.fail("the two-node cluster did not come up in 90 s")
    yield addr
    pr.close()


def test_verify_across_a_two_node_cluster(procs, cluster, tmp_path):
    spec = write(tmp_path)
    r = procs.faspec(["verify", spec, "--address", cluster, "--store", "store", "--reports", "rep"])
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert report(tmp_path, "s")["ok"]
    nodes = {
        json.loads(p.read_text())["provenance"]["ray_node"]
        for p in (tmp_path / "store").glob("*/result.json")
    }
    assert len(nodes) == 2, f"runs used {len(nodes)} node(s)"


def _worker_pids_running_faspec() -> list[int]:
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                cmd = Path(f"/proc/{d}/cmdline").read_bytes()
            except OSError:
                continue
            if b"faspec:" in cmd and b"ray::" in cmd:
                pids.append(int(d))
    return pids


def test_killed_worker_is_retried_and_verdicts_unchanged(procs, cluster, tmp_path):
    spec = write(tmp_path, name="k", epochs=12, n_train=4096)
    p = procs.popen(
        FASPEC + ["verify", spec, "--address", cluster, "--store", "store", "--reports", "rep"]
    )
    deadline, killed = time.time() + 120, None
    while time.time() < deadline and killed is None:
        pids = _worker_pids_running_faspec()
        if pids:
            time.sleep(1.0)  # let it get into training
            killed = pids[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.2)
    out, err = p.communicate(timeout=300)
    assert killed is not None, "never saw a worker training"
    assert p.returncode == 0, out + err[-3000:]
    disturbed = report(tmp_path, "k")
    assert all(
        json.loads(f.read_text())["status"] == "ok"
        for f in (tmp_path / "store").glob("*/result.json")
    )
    r = procs.faspec(
        ["verify", spec, "--executor", "local", "--store", "calm", "--reports", "calm-rep"]
    )
    assert r.returncode == 0
    calm = report(tmp_path, "k", "calm-rep")
    assert [c["verdict"] for c in disturbed["claims"]] == [c["verdict"] for c in calm["claims"]]
    for rid in (p.name for p in (tmp_path / "store").iterdir() if p.is_dir()):
        a = json.loads((tmp_path / "store" / rid / "result.json").read_text())["final"]["test_acc"]
        b = json.loads((tmp_path / "calm" / rid / "result.json").read_text())["final"]["test_acc"]
        assert abs(a - b) < 0.02  # same seed, same run; thread counts differ in the last bits


def test_driver_killed_mid_spec_resumes_with_only_the_missing_runs(procs, cluster, tmp_path):
    # one job per run: four jobs on the two 1-CPU nodes finish in two waves, so the kill after
    # the first stored result lands mid-spec (two packs may finish within one 0.1 s poll)
    spec = write(tmp_path, name="d", epochs=12, n_train=4096)
    text = (tmp_path / spec).read_text()
    (tmp_path / spec).write_text(
        text.replace(
            "epochs: 12, batch_size: 128", "epochs: 12, batch_size: 128, pack_seeds: false"
        )
    )
    p = procs.popen(
        FASPEC + ["verify", spec, "--address", cluster, "--store", "store", "--reports", "rep"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = tmp_path / "store"
    deadline = time.time() + 180
    while time.time() < deadline and not list(store.glob("*/result.json")):
        time.sleep(0.1)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    done = {f.parent.name for f in store.glob("*/result.json")}
    assert 1 <= len(done) < 4
    assert not list(store.rglob("*.tmp")), "a partial file was left in the store"
    for f in store.glob("*/result.json"):
        json.loads(f.read_text())
    r = procs.faspec(["verify", spec, "--address", cluster, "--store", "store", "--reports", "rep"])
    assert r.returncode == 0, r.stderr[-3000:]
    now = {f.parent.name for f in store.glob("*/result.json")}
    assert done <= now and len(now) == 4
    assert f"{len(done)} cached, {4 - len(done)} to train" in r.stderr


def test_two_concurrent_verifies_train_each_run_once(procs, tmp_path):
    spec = write(tmp_path, name="c", epochs=4, n_train=2048)
    args = ["verify", spec, "--executor", "local", "--store", "store"]
    a = procs.popen(FASPEC + args + ["--reports", "ra"])
    b = procs.popen(FASPEC + args + ["--reports", "rb"])
    for p in (a, b):
        p.communicate(timeout=300)
        assert p.returncode == 0
    trained = report(tmp_path, "c", "ra")["trained"] + report(tmp_path, "c", "rb")["trained"]
    assert trained == 4
    results = list((tmp_path / "store").glob("*/result.json"))
    assert len(results) == 4 and all(json.loads(f.read_text())["status"] == "ok" for f in results)
    assert not list((tmp_path / "store").rglob("*.tmp"))


def test_ctrl_c_cancels_cleanly_and_keeps_completed_runs(procs, tmp_path):
    spec = write(tmp_path, name="i", epochs=12, n_train=4096)
    (tmp_path / "i.yaml").write_text(
        (tmp_path / "i.yaml")
        .read_text()
        .replace("epochs: 12, batch_size: 128", "epochs: 12, batch_size: 128, pack_seeds: false")
    )
    # In-process executor: the Ray path takes the same exit (cli.verify), and Ray's own teardown
    # races are kept out of a test that must not flake.
    p = procs.popen(
        FASPEC + ["verify", spec, "--executor", "local", "--store", "store", "--reports", "rep"]
    )
    store = tmp_path / "store"
    deadline = time.time() + 180
    while time.time() < deadline and not list(store.glob("*/result.json")):
        time.sleep(0.1)
    os.kill(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, err[-2000:]
    assert "interrupted" in err and "Traceback" not in err
    done = list(store.glob("*/result.json"))
    assert done and all(json.loads(f.read_text())["status"] == "ok" for f in done)
    assert not list(store.rglob("*.tmp"))
