"""Content-addressed store of run results: plain files, so CI and git can read them.

One folder per run, named by the hash of its normalized config. `result.json` is written last,
through a temporary file and `os.replace`, so a folder without it is not a result: a killed
`verify` leaves nothing half-written that a later one could mistake for a finished run. Only the
driver writes here; workers return their results over Ray, so no shared filesystem is needed.

The store is data on a disk that people, scripts and disks can damage, so every read is checked
(as git checks its objects) before a result may decide anything:

* the folder's name must be the hash of its `config.json` (`faspec.plan.run_hash`), and the
  `run_id` stamped into `result.json` when it was written must be that name: a renamed or swapped
  folder, or a result copied from another run, is a `StoreError` naming the folder;
* files that cannot be read as a JSON object (missing config, `null`, a list, binary, a folder
  where a file belongs, no permission, a store root that is a file) are `StoreError`s naming the
  file;
* a result whose fields are impossible (`faspec.store_check`: a non-finite number, an accuracy
  outside [0, 1], a negative norm, "false" where a boolean belongs) is returned as status
  `invalid` with an `error` naming the file and the fields and no measurements, so that every
  claim over it is an `error`, never a verdict.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from faspec import store_check
from faspec.config import run_hash

RESULT = "result.json"
CONFIG = "config.json"
CHECKPOINT = "checkpoint.pt"
_MISSING = object()  # a file that does not exist (JSON `null` is a damaged file, not a missing one)


class StoreError(Exception):
    """The store on disk is not what faspec wrote: `str()` is `path: what is wrong`, naming the
    file or folder (`results/ab12…/result.json:1:9: not valid JSON (…)`). The CLI exits 2."""


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
    """A results folder. `has`/`get` read (and verify); `put` writes one run atomically.

    `verify_hash=False` skips the folder-name check, for stores whose folders are not named by
    `faspec.plan.run_hash` (hand-made fixtures); everything else is checked regardless.
    """

    def __init__(self, root: str | os.PathLike[str], verify_hash: bool = True) -> None:
        self.root = Path(root)
        self.verify_hash = verify_hash
        self._hash_ok: dict[str, tuple[int, int, int]] = {}
        self._valid: dict[str, tuple[tuple[int, int, int], list[str]]] = {}

    def path(self, run_id: str) -> Path:
        return self.root / run_id

    def _check_root(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(
                f"{self.root}: the store is a file, not a folder (give --store a folder)"
            )

    def _read_json(self, p: Path) -> Any:
        """The parsed JSON of `p`, _MISSING when it does not exist; StoreError for anything else."""
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            return _MISSING
        except IsADirectoryError:
            raise StoreError(f"{p}: is a folder, not a file") from None
        except NotADirectoryError:
            raise StoreError(f"{p.parent}: is a file, not a run folder") from None
        except PermissionError:
            raise StoreError(f"{p}: permission denied (cannot read it)") from None
        except OSError as e:
            raise StoreError(f"{p}: cannot read it ({e.strerror or e})") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise StoreError(
                f"{p}: not UTF-8 text (bad byte at offset {e.start}); binary?"
            ) from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise StoreError(f"{p}:{e.lineno}:{e.colno}: not valid JSON ({e.msg})") from None
        except (ValueError, RecursionError) as e:  # a 5,000-digit number; nesting too deep
            what = "nested too deeply" if isinstance(e, RecursionError) else str(e).split(";")[0]
            raise StoreError(f"{p}: not valid JSON for faspec ({what})") from None

    def has(self, run_id: str) -> bool:
        """Whether the run's result.json exists (`get` then says whether it is usable)."""
        self._check_root()
        return (self.path(run_id) / RESULT).exists()

    def get(self, run_id: str) -> dict[str, Any] | None:
        """The stored result of a run, or None when the run is absent or incomplete.

        StoreError when the folder is not this run's (see the module docstring) or a file is not
        a JSON object; a result with impossible fields comes back with status `invalid`.
        """
        self._check_root()
        d = self.path(run_id)
        p = d / RESULT
        result = self._read_json(p)
        if result is _MISSING:
            return None
        if not isinstance(result, dict):
            raise StoreError(f"{p}: holds {_kind(result)}, not a result (a JSON object)")
        if self.verify_hash:
            self._check_hash(run_id, d)
        stamped = result.pop("run_id", None)
        if stamped is not None and stamped != run_id:
            raise StoreError(
                f"{p}: is the result of run {str(stamped)[:40]}, not of {run_id} (copied from "
                "another run?); remove the folder to train it again"
            )
        bad = self._problems(run_id, p, result)
        if bad:
            cut = store_check.MAX_PROBLEMS
            more = f" (and {len(bad) - cut} more)" if len(bad) > cut else ""
            shown = "; ".join(bad[:cut])
            # nothing of it may decide or be shown: only what says why it is refused
            return {
                "status": "invalid",
                "error": f"{p}: {shown}{more}",
                "final": {},
                "log": [],
                "provenance": {},
            }
        return result

    def _problems(self, run_id: str, p: Path, result: dict[str, Any]) -> list[str]:
        """store_check.problems, computed once per version of the file (verify reads each
        result several times: to plan, to decide, to report)."""
        key = _stat_key(p)
        cached = self._valid.get(run_id)
        if key is not None and cached is not None and cached[0] == key:
            return cached[1]
        bad = store_check.problems(result)
        if key is not None:
            self._valid[run_id] = (key, bad)
        return bad

    def _check_hash(self, run_id: str, d: Path) -> None:
        """The folder's name is the hash of its config.json (checked once per file version)."""
        cp = d / CONFIG
        key = _stat_key(cp)
        if key is not None and self._hash_ok.get(run_id) == key:
            return
        config = self._read_json(cp)
        if config is _MISSING:
            raise StoreError(
                f"{d}: has result.json but no config.json (faspec writes the config first); "
                "remove the folder to train the run again"
            )
        if not isinstance(config, dict):
            raise StoreError(f"{cp}: holds {_kind(config)}, not a run config (a JSON object)")
        try:
            h = run_hash(config)
        except (TypeError, ValueError, AttributeError) as e:
            raise StoreError(f"{cp}: cannot be hashed as a run config ({e})") from None
        if h != run_id:
            raise StoreError(
                f"{d}: the folder's name is not the hash of its config.json ({h}): renamed, "
                "swapped or edited by hand? remove the folder and run verify again"
            )
        if key is not None:
            self._hash_ok[run_id] = key

    def config(self, run_id: str) -> dict[str, Any] | None:
        self._check_root()
        p = self.path(run_id) / CONFIG
        config = self._read_json(p)
        if config is _MISSING:
            return None
        if not isinstance(config, dict):
            raise StoreError(f"{p}: holds {_kind(config)}, not a run config (a JSON object)")
        return config

    def checkpoint(self, run_id: str) -> bytes | None:
        p = self.path(run_id) / CHECKPOINT
        try:
            return p.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise StoreError(f"{p}: cannot read it ({e.strerror or e})") from None

    def put(
        self,
        run_id: str,
        config: dict[str, Any],
        result: dict[str, Any],
        checkpoint: bytes | None = None,
    ) -> None:
        """Write config, checkpoint, then result last: the result's presence marks completeness.
        The result is stamped with `run_id`, so a copy in another run's folder is detected."""
        self._check_root()
        d = self.path(run_id)
        d.mkdir(parents=True, exist_ok=True)
        _atomic_write(d / CONFIG, _dumps(config))
        if checkpoint is not None:
            _atomic_write(d / CHECKPOINT, checkpoint)
        else:  # a run trained again (stale, retried) must not keep its old checkpoint
            (d / CHECKPOINT).unlink(missing_ok=True)
        _atomic_write(d / RESULT, _dumps({**result, "run_id": run_id}))

    def run_ids(self) -> Iterator[str]:
        """Runs in the store: folders holding a result.json (`get` says whether it is usable)."""
        self._check_root()
        if not self.root.is_dir():
            return
        try:
            entries = sorted(self.root.iterdir())
        except OSError as e:
            raise StoreError(f"{self.root}: cannot list the store ({e.strerror or e})") from None
        for d in entries:
            if d.is_dir() and (d / RESULT).exists():
                yield d.name

    def lock(self, run_id: str, timeout: float = 0) -> FileLock:
        """A per-run lock: two verify processes on one store train each run once.

        The lock lives beside the run folder (not inside it) so that a failed run's folder can be
        removed while its lock is held.
        """
        self._check_root()
        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.root / f".{run_id}.lock"), timeout=timeout)


def _stat_key(p: Path) -> tuple[int, int, int] | None:
    """What identifies a version of a file cheaply (rewrites go through os.replace: new inode)."""
    try:
        st = p.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _kind(x: Any) -> str:
    return {type(None): "null", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(x), "a number"
    )


__all__ = ["Store", "StoreError", "Timeout"]
