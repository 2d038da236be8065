"""What `faspec audit` and `faspec macros` do between parsing arguments and printing.

Defaults, so that `faspec audit main.tex` works in a paper's folder: specs from `specs/` in the
working directory, else `specs/` beside the paper; the store `results/` likewise; allowance
files from `allow.discover` (audit.yaml beside the paper, [tool.faspec.audit] of the nearest
pyproject.toml).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from faspec.audit.allow import discover, load_allowances
from faspec.audit.source import AuditResult, audit
from faspec.audit.values import claim_values
from faspec.store import Store

__all__ = ["default_specs", "default_store", "run"]


def _here_or_beside(paper: str | os.PathLike[str], name: str) -> Path | None:
    for base in (Path.cwd(), Path(paper).parent):
        if (base / name).exists():
            return base / name if base != Path.cwd() else Path(name)
    return None


def default_specs(paper: str | os.PathLike[str]) -> list[str]:
    found = _here_or_beside(paper, "specs")
    return [str(found)] if found is not None else []


def default_store(paper: str | os.PathLike[str]) -> str:
    found = _here_or_beside(paper, "results")
    return str(found) if found is not None else "results"


def run(
    paper: str | os.PathLike[str],
    specs: list[Any],
    plan: Any,
    store: str | os.PathLike[str],
    allow_files: list[str] | None = None,
    values_file: str | os.PathLike[str] | None = None,
    allow_outside: bool = False,
    strict: bool = False,
) -> AuditResult:
    """Measure every claim's values from `store`, then audit the paper against them
    (`strict`: a typed number is never BACKED, only a generated macro use is)."""
    values = claim_values(specs, plan, Store(store))
    files = list(allow_files) if allow_files else discover(paper)
    allowances = load_allowances(files)
    return audit(paper, specs, plan, values, allowances, values_file, allow_outside, strict)
