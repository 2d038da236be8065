"""One interface for every executor: submit runs, get results back as they finish.

`execute/` never decides claims and never writes the store; the driver does both, so workers on
a cluster need no shared filesystem. Progress goes to an optional callback as it happens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Job:
    """One schedulable unit: a run, or a pack of runs of one config that differ only in seed
    (`members`, trained as one batched model; see faspec.train.pack)."""

    run_id: str
    config: dict[str, Any]
    resources: dict[str, Any] = field(default_factory=dict)  # {"cpus": 1, "gpus": 0.25}
    members: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def runs(self) -> list[tuple[str, dict[str, Any]]]:
        return self.members or [(self.run_id, self.config)]


@dataclass
class Done:
    run_id: str
    result: dict[str, Any]
    checkpoint: bytes | None


@dataclass
class Event:
    """Progress: `kind` is "start", "epoch" or "retry"."""

    kind: str
    run_id: str
    epoch: int | None = None
    info: dict[str, Any] = field(default_factory=dict)


Progress = Callable[[Event], None]


class Executor(Protocol):
    def run(self, jobs: list[Job], progress: Progress | None = None) -> Iterator[Done]: ...

    def close(self) -> None: ...
