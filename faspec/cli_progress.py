"""Live progress of `faspec verify` on stderr (part of the CLI: only the CLI modules print)."""

from __future__ import annotations

import sys
import time
from typing import Any

import click


class Progress:
    """Live progress on stderr: runs done / running / queued, the epoch each running run is at,
    and an ETA. One line per finished run; on a terminal also a status line redrawn in place."""

    def __init__(self, plan: Any, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.done, self.t0 = total, enabled, 0, time.perf_counter()
        self.label = {rid: (c.label, c.seed) for c, rid in plan.cells.items()}
        self.running: dict[str, int | None] = {}
        self.tty = sys.stderr.isatty()

    def _counts(self) -> str:
        queued = self.total - self.done - len(self.running)
        return (
            f"done {self.done}/{self.total}, running {len(self.running)}, queued {max(queued, 0)}"
        )

    def _eta(self) -> str:
        if not self.done:
            return ""
        el = time.perf_counter() - self.t0
        return f", eta {el / self.done * (self.total - self.done):.0f}s"

    def event(self, ev: Any) -> None:
        if ev.kind == "start":
            self.running[ev.run_id] = None
        elif ev.kind == "epoch":
            self.running[ev.run_id] = ev.epoch
        if self.enabled and self.tty and ev.kind in ("start", "epoch"):
            at = " ".join(
                f"{self.label.get(r, ('?',))[0]}/{self.label.get(r, ('?', '?'))[1]}@{e if e is not None else '-'}"
                for r, e in list(self.running.items())[:4]
            )
            click.echo(f"\r\033[K  {self._counts()}{self._eta()}  [{at}]", err=True, nl=False)

    def finished(self, rid: str, result: dict[str, Any]) -> None:
        self.done += 1
        self.running.pop(rid, None)
        if not self.enabled:
            return
        label, seed = self.label.get(rid, ("?", "?"))
        final = result.get("final") or {}
        acc = final.get("test_acc")
        what = result.get("status", "?") + (f" acc {acc:.3f}" if isinstance(acc, float) else "")
        wall = (result.get("provenance") or {}).get("wall_s") or 0.0
        cr = "\r\033[K" if self.tty else ""
        el = time.perf_counter() - self.t0
        click.echo(
            f"{cr}  [{self.done}/{self.total}] {label} seed {seed} ({rid[:8]}) {what} in {wall:.1f}s"
            f"   ({self._counts()}, elapsed {el:.0f}s{self._eta()})",
            err=True,
        )
