"""Content-addressed store of run results: plain files, so CI and git can read them.

One folder per run, named by the hash of its normalized config. `result.json` is written last,
through a temporary file and `os.replace`, so a folder without it is not a result: a killed
`verify` leaves nothing half-written that a later one could mistake for a finished run. Only the
driver writes here; workers return their results over Ray, so no shared filesystem is needed.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

RESULT = "result.json"
CONFIG = "config.json"
CHECKPOINT = "checkpoint.pt"


class StoreError(Exception):
    """The store on disk is not what faspec wrote (a corrupt or foreign file)."""


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _dumps(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=True, allow_nan=False) + "\n").encode()


class Store:
    """A results folder. `has`/`get` read; `put` writes one run atomically."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, run_id: str) -> Path:
        return self.root / run_id

    def has(self, run_id: str) -> bool:
        return (self.path(run_id) / RESULT).is_file()

    def get(self, run_id: str) -> dict[str, Any] | None:
        """The stored result of a run, or None when the run is absent or incomplete."""
        p = self.path(run_id) / RESULT
        try:
            text = p.read_text()
        except FileNotFoundError:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise StoreError(f"{p}:{e.lineno}:{e.colno}: not valid JSON ({e.msg})") from e

    def config(self, run_id: str) -> dict[str, Any] | None:
        p = self.path(run_id) / CONFIG
        if not p.is_file():
            return None
        return json.loads(p.read_text())

    def checkpoint(self, run_id: str) -> bytes | None:
        p = self.path(run_id) / CHECKPOINT
        return p.read_bytes() if p.is_file() else None

    def put(
        self,
        run_id: str,
        config: dict[str, Any],
        result: dict[str, Any],
        checkpoint: bytes | None = None,
    ) -> None:
        """Write config, checkpoint, then result last: the result's presence marks completeness."""
        d = self.path(run_id)
        d.mkdir(parents=True, exist_ok=True)
        _atomic_write(d / CONFIG, _dumps(config))
        if checkpoint is not None:
            _atomic_write(d / CHECKPOINT, checkpoint)
        _atomic_write(d / RESULT, _dumps(result))

    def run_ids(self) -> Iterator[str]:
        """Complete runs in the store."""
        if not self.root.is_dir():
            return
        for d in sorted(self.root.iterdir()):
            if (d / RESULT).is_file():
                yield d.name

    def lock(self, run_id: str, timeout: float = 0) -> FileLock:
        """A per-run lock: two verify processes on one store train each run once.

        The lock lives beside the run folder (not inside it) so that a failed run's folder can be
        removed while its lock is held.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.root / f".{run_id}.lock"), timeout=timeout)


__all__ = ["Store", "StoreError", "Timeout"]
