"""The identity of the code behind a run, so that results follow the code (no torch).

A run's hash names *what* was asked (its normalized config); this module names *which code*
answered: for every component a run uses (its method, architecture, dataset and metric
plug-ins) and for the trainer, the sha256 of the AST of its module's source (`ast.dump`, with
docstrings removed). Reformatting, comments and docstrings therefore leave the identity as it
is; any change to what the code does (a statement, a constant, a default) changes it.

What it covers, precisely:

* a component: the one module that holds its factory (`LazyFactory` "module:attr" target, or
  the module of a factory registered as an object). Helpers it imports from *other* modules
  are not covered, except faspec's own trainer modules below.
* ``trainer``: every module of `faspec/train/` (recursively) that is not a built-in component's
  factory module (loop, measure, stack, build, run, pack, null, tracker, rng, methods/base,
  models/base, ...), plus `faspec/protocol.py` (how the diagnostics fire; the thresholds and
  every default the trainer reads are in the normalized config, hence in the run hash).
* Not covered: torch and other libraries (their versions are in `provenance`), the Python
  version, and data files on disk.

The identity is recorded in `result["provenance"]["code"]` (a dict `{"method ep": sha, ...}`)
by the trainer, and compared here with the code now installed (`changes`). It is deliberately
*not* in the run hash: a code edit marks stored runs stale (retrained by default, kept and
marked with `verify --keep-stale`), instead of orphaning them under a new id. Version bumps
remain the way to invalidate on purpose.

Sources are located without importing them (`importlib.machinery.PathFinder` walks the
packages' folders), so the check path never imports torch to compare identities.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.machinery
import importlib.util
import inspect
import os
import sys
from pathlib import Path
from typing import Any

from faspec.registry import ARCHS, DATASETS, METHODS, METRICS, Component

CHARS = 12  # hex digits kept per identity: ample for telling two versions of a file apart
_ROOT = Path(__file__).resolve().parent  # the faspec package folder


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


@functools.lru_cache(maxsize=512)
def _file_digest(path: str, _stamp: tuple[int, int]) -> str:
    src = Path(path).read_bytes()
    try:
        tree = _strip_docstrings(ast.parse(src, filename=path))
        text = ast.dump(tree, annotate_fields=True, include_attributes=False)
    except SyntaxError:  # not Python we can parse: the bytes themselves identify it
        text = src.decode("utf-8", "replace")
    return hashlib.sha256(text.encode()).hexdigest()


def file_identity(path: str | os.PathLike[str]) -> str:
    """sha256 of the docstring-free AST dump of one source file (cached per file version)."""
    p = str(Path(path).resolve())
    st = os.stat(p)
    return _file_digest(p, (st.st_mtime_ns, st.st_size))


def module_file(module: str) -> str | None:
    """The source file of a dotted module, found without importing it or its parents (a parent
    package may import torch). None when it cannot be found (a compiled or missing module)."""
    mod = sys.modules.get(module)
    if mod is not None and getattr(mod, "__file__", None):
        return str(mod.__file__)
    return _find_file(module)


@functools.lru_cache(maxsize=256)
def _find_file(module: str) -> str | None:
    """`module_file` for a module not imported yet (cached: a plan asks once per run).

    The top-level package is located by `importlib.util.find_spec`, which asks every finder on
    `sys.meta_path` (an editable install's finder among them: the package need not be on
    `sys.path`) and imports nothing for a top-level name; an imported package's `__path__` is
    used as it is. Below it, `PathFinder` walks the package's folders, importing nothing."""
    path: list[str] | None = None
    spec = None
    parts = module.split(".")
    for i in range(len(parts)):
        name = ".".join(parts[: i + 1])
        pkg = sys.modules.get(name)
        if i < len(parts) - 1 and getattr(pkg, "__path__", None) is not None:
            path = list(pkg.__path__)  # an imported package: its folders, as Python uses them
            continue
        if i == 0:
            spec = importlib.util.find_spec(name)
        else:
            spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None:
            return None
        path = list(spec.submodule_search_locations or [])
    origin = spec.origin if spec is not None else None
    return origin if origin and origin.endswith(".py") else None


def component_file(comp: Component) -> str | None:
    """The module file of a component's factory (see the module docstring)."""
    target = getattr(comp.factory, "target", None)  # LazyFactory: "module:attr"
    if isinstance(target, str):
        return module_file(target.partition(":")[0])
    try:
        return inspect.getsourcefile(comp.factory)
    except TypeError:
        name = getattr(comp.factory, "__module__", None)
        return module_file(name) if name else None


@functools.cache
def _builtin_component_files() -> frozenset[str]:
    out = set()
    for registry in (METHODS, ARCHS, DATASETS, METRICS):
        for comp in registry.values():
            f = component_file(comp)
            if f and Path(f).resolve().is_relative_to(_ROOT):
                out.add(str(Path(f).resolve()))
    return frozenset(out)


def trainer_files() -> list[str]:
    """The trainer's modules (see the module docstring), sorted."""
    skip = _builtin_component_files()
    files = [str(p.resolve()) for p in sorted((_ROOT / "train").rglob("*.py"))]
    files = [f for f in files if f not in skip]
    return [*files, str(_ROOT / "protocol.py")]


def trainer_identity() -> str:
    h = hashlib.sha256()
    for f in trainer_files():
        h.update(Path(f).relative_to(_ROOT).as_posix().encode() + b"\0")
        h.update(file_identity(f).encode())
    return h.hexdigest()[:CHARS]


def _comp_identity(comp: Component | None) -> str:
    if comp is None:
        return "unregistered"
    f = component_file(comp)
    return file_identity(f)[:CHARS] if f else "unknown-source"


def code_identity(cfg: dict[str, Any]) -> dict[str, str]:
    """`{"method ep": sha, "model resmlp": sha, "data teacher": sha, "metric x": sha, ...,
    "trainer": sha}` for a normalized config: the code that computes this run now."""
    out = {
        f"method {cfg['method']['name']}": _comp_identity(METHODS.get(cfg["method"]["name"])),
        f"model {cfg['model']['arch']}": _comp_identity(ARCHS.get(cfg["model"]["arch"])),
        f"data {cfg['data']['name']}": _comp_identity(DATASETS.get(cfg["data"]["name"])),
    }
    for name in (cfg.get("measure") or {}).get("metrics") or {}:
        out[f"metric {name}"] = _comp_identity(METRICS.get(name))
    out["trainer"] = trainer_identity()
    return out


def changes(cfg: dict[str, Any], result: dict[str, Any] | None) -> list[str] | None:
    """What code of a stored run differs from the code installed now: `[]` when none, the
    sorted keys that differ (`["method ep", "trainer"]`) otherwise, None when the result
    records no code identity (stored before faspec recorded it: provenance unknown)."""
    if not result:
        return []
    recorded = (result.get("provenance") or {}).get("code")
    if not isinstance(recorded, dict):
        return None
    now = code_identity(cfg)
    return sorted(k for k in set(now) | set(recorded) if now.get(k) != recorded.get(k))


def describe(changed: list[str] | None) -> str:
    """One line for plan, verify and reports: 'stale: code of method ep, trainer changed'."""
    if changed is None:
        return "code identity not recorded (stored before faspec recorded it)"
    return "stale: code of " + ", ".join(changed) + " changed"
