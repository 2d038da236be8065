"""The import graph of faspec: no circle, and a check path that never loads the trainer or torch.

Every import statement counts, also those deferred into function bodies: a deferred import is
for a heavy optional dependency, never to hide a circle. Only imports under `if TYPE_CHECKING:`
are left out: they never run. The graph is read from the source
(ast), so a circle in a branch that no test executes is found too. The second half runs the CLI
with torch, torchvision and ray made unimportable: planning and `verify --no-run` must work.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "faspec"
HEAVY = ("torch", "torchvision", "ray")
# the check path: spec, plan, check, report, audit, results (and what they stand on)
CHECK_PATH = (
    "faspec.spec",
    "faspec.plan",
    "faspec.plan_cost",
    "faspec.check",
    "faspec.report",
    "faspec.audit",
    "faspec.results",
    "faspec.store",
    "faspec.verify",
    "faspec.config",
    "faspec.registry",
    "faspec.components",
    "faspec.protocol",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PKG.rglob("*.py")}


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module named by an import statement anywhere in the file (faspec modules resolved
    to the deepest module that exists; others by their top-level name)."""
    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    type_only = {  # `if TYPE_CHECKING:` blocks never run: annotations only, not an import
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for stmt in block.body
        for n in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in modules else base)
    return out


def graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {
        name: {m for m in imports_of(name, path, modules) if m != name}
        for name, path in modules.items()
    }


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), among faspec modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in g:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def loaded_by(g: dict[str, set[str]], start: str) -> set[str]:
    """What importing `start` loads: its imports, transitively, and every package above each
    faspec module (importing faspec.train.x runs faspec/train/__init__ first)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        parts = m.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        todo.extend(g.get(m, ()))
    return seen


def test_no_circle_inside_faspec() -> None:
    found = cycles(graph())
    assert not found, f"import circles (deferred imports count): {found}"


def test_cycle_finder_finds_a_planted_circle() -> None:
    g = graph()
    g["faspec.registry"] = g["faspec.registry"] | {"faspec.config"}  # config imports registry
    assert any({"faspec.config", "faspec.registry"} <= set(c) for c in cycles(g))


def test_check_path_never_loads_the_trainer_or_torch() -> None:
    g = graph()
    bad = {}
    for start in [m for m in g if m.startswith(CHECK_PATH)]:
        hit = sorted(
            m
            for m in loaded_by(g, start)
            if m.split(".")[0] in HEAVY or m == "faspec.train" or m.startswith("faspec.train.")
        )
        if hit:
            bad[start] = hit
    assert not bad, f"check-path modules that load the trainer or torch: {bad}"


def test_the_planted_trainer_import_is_caught() -> None:
    g = graph()
    g["faspec.plan_cost"] = g["faspec.plan_cost"] | {"faspec.train.run"}
    assert "faspec.train" in loaded_by(g, "faspec.verify")


BLOCKER = """
import sys
HEAVY = ("torch", "torchvision", "ray")
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY:
            raise ImportError(name + " is blocked by the test")
        return None
sys.meta_path.insert(0, _Block())
from faspec.cli import main
sys.argv = ["faspec", *sys.argv[1:]]
main()
"""


def faspec_without_torch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = BLOCKER
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def test_blocker_really_blocks_torch(tmp_path: Path) -> None:
    out = faspec_without_torch("methods", cwd=tmp_path)  # lists components: no torch needed
    assert out.returncode == 0, out.stderr
    assert "dfa (v1)" in out.stdout and "cifar_synth (v1)" in out.stdout
    code = BLOCKER.split("from faspec.cli")[0] + "import torch\n"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode != 0 and "blocked by the test" in res.stderr


def test_plan_and_verify_no_run_without_torch(tmp_path: Path) -> None:
    plan = faspec_without_torch("plan", str(ROOT / "specs"), cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr[-2000:]
    assert "unique runs" in plan.stdout and "estimated GPU time" in plan.stdout
    paper = ROOT / "examples" / "paper"
    verify = faspec_without_torch(
        "verify",
        str(paper / "specs"),
        "--no-run",
        "--store",
        str(paper / "results"),
        cwd=tmp_path,
    )
    assert verify.returncode in (0, 1), verify.stderr[-2000:]
    assert "blocked" not in verify.stderr and "Traceback" not in verify.stderr
    assert "bp-beats-dfa" in verify.stdout  # every claim decided (stored results or not)


@pytest.mark.parametrize("args", [("--help",), ("plan", "--help")])
def test_cli_start_is_quick_without_torch(args: tuple[str, ...], tmp_path: Path) -> None:
    """The CLI starts without importing torch (measured in the README's table); a generous
    bound, so a loaded machine does not fail it, but an import of torch (~2 s) would."""
    t0 = time.perf_counter()
    out = faspec_without_torch(*args, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert time.perf_counter() - t0 < 10
