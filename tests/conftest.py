"""Shared test fixtures: a loopback-only network namespace for anything that starts Ray
(`netns`), one torch thread for tiny tensors (`one_thread`), the v1 method names in the registry
(`v1_methods`). Builders of throwaway inputs live in tests/helpers.py.

Ray binds the machine's interface address unless it runs where only `lo` exists. Tests that start
Ray run their processes through `netns.prefix` (a namespace the fixture makes, or the one the test
run is already inside, from scripts/netns-run), and stop only the processes they started, by PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


class Netns:
    def __init__(self, name: str | None, own: bool) -> None:
        self.name, self.own = name, own

    @property
    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name] if self.own else []

    def env(self, tmp: Path) -> dict[str, str]:
        env = dict(os.environ)
        env["RAY_AUTH_MODE"] = "disabled"
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        if self.own:
            env["FASPEC_NETNS"] = self.name or ""
        return env

    def pids(self) -> list[int]:
        if not self.own:
            return []
        out = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]


@pytest.fixture(scope="session")
def netns():
    """A loopback-only namespace for Ray; skipped where namespaces cannot be made (not root)."""
    if os.environ.get("FASPEC_NETNS"):
        yield Netns(os.environ["FASPEC_NETNS"], own=False)
        return
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("Ray tests need a loopback-only network namespace (root and iproute2)")
    name = f"faspec-test-{uuid.uuid4().hex[:8]}"
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {r.stderr.strip()}")
    subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
    ns = Netns(name, own=True)
    try:
        yield ns
    finally:
        for pid in ns.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


# ---------------------------------------------------------------------------------------------
# Fixtures shared by several test files (a file opts in with `pytestmark =
# pytest.mark.usefixtures(...)`); torch and the trainer are imported only inside them, so test
# files of the torch-free check path never load torch through this conftest.


@pytest.fixture
def one_thread():
    """Tiny tensors: intra-op threads only add synchronisation (and stall on a busy machine)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def v1_methods(monkeypatch):
    """The method registry is read at call time; make sure the four v1 names (bp, fa, dfa,
    frozen, with their `penalty` and `targets` options) exist even while a method is mid-change."""
    import faspec.train  # noqa: F401  (registers the built-in methods)
    from faspec.train import registry
    from faspec.train.registry import Component, Option

    for name in ("bp", "fa", "dfa", "frozen"):
        if name not in registry.METHODS:
            opts = {"penalty": Option(float, 0.0), "targets": Option(str, "true")}
            monkeypatch.setitem(registry.METHODS, name, Component(name, 1, lambda **kw: None, opts))
