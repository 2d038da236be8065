"""The per-run side of the measurements: the log entries of one run with their protocol flags,
then its final block (faspec.train.measure computes one epoch's metrics; this module keeps what
spans epochs: the loss references of `loss_decrease`, which diagnostics have fired so far, and
the final block; the null calibration at the end is the trainer's, faspec.train.loop). See
docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from faspec import protocol as P
from faspec.train.measure import MeasureOptions, clean_float, epoch_entry
from faspec.train.methods.base import Method


def probe_seed(run_seed: int, epoch: int) -> int:
    """The seed of ρ's directions at one logged epoch of one run (independent of the run's
    training streams, different at every epoch)."""
    state = np.random.SeedSequence([int(run_seed), 0x6D656173, int(epoch)]).generate_state(2)
    return int((int(state[0]) << 31) ^ int(state[1]))


# Final-only fields (result["final"]), always present: null when not computed.
NULL_FIELDS = (
    "null_cos_layers",
    "null_cos_std_layers",
    "null_deep_cos",
    "null_deep_cos_std",
    "null_deep_cos_draw_std",
    "null_gamma",
    "null_gamma_std",
    "null_draws",
)


class Tracker:
    """Measures one run: the log entries with their protocol flags, then the final block.

    Keeps the state that spans epochs: the reference training loss (epoch 0) and which
    diagnostics have fired so far. In each entry `fired_a`/`fired_b` mean "has fired at a logged
    epoch <= this one", `fired_c` (judged at the final epoch by default, protocol.stability_at)
    means "fires at this epoch", and `trustworthy` is 0 once a run-decided diagnostic of the
    verdict set fired, null while one of the set is pending ((d) always is: the check side
    decides it), never 1 then; so the last entry agrees with the run's protocol block.
    """

    def __init__(self, cfg: dict[str, Any]) -> None:
        ms = cfg["measure"]
        self.seed = int(cfg["seed"])
        self.method_cfg = cfg["method"]
        self.opts = MeasureOptions.from_config(ms)
        self.protocol = {**P.defaults(), **ms.get("protocol", {})}
        self.protocol["eval_batch"] = int(self.opts.eval_batch)  # (b)'s floor follows it
        self.init_loss: float | None = None  # epoch 0's training loss (at initialisation)
        self.first_loss: Any = None  # the first training epoch's mean loss (C23's reference)
        self.fired: dict[str, bool | None] = dict.fromkeys(P.RUN_DECIDED)

    def entry(
        self,
        model: nn.Module,
        method: Method,
        x_test: Tensor,
        y_test: Tensor,
        epoch: int,
        train_loss: Tensor | float | None,
    ) -> dict[str, Any]:
        """The log entry of one logged epoch (metrics + protocol flags)."""
        self.protocol["eval_batch"] = min(int(self.opts.eval_batch), len(x_test))
        e = epoch_entry(
            model,
            method,
            x_test,
            y_test,
            self.opts.eval_batch,
            epoch,
            train_loss,
            self.opts,
            probe_seed(self.seed, epoch),
        )
        e.update(self.update(e))
        return e

    def update(self, e: dict[str, Any]) -> dict[str, Any]:
        """loss_decrease, ref_degenerate, fired_a/b/c (cumulative), trustworthy, from one
        entry of plain floats (entries must come in epoch order)."""
        out: dict[str, Any] = {}
        loss = e.get("train_loss")
        if e.get("epoch") == 0:
            self.init_loss = loss
        elif self.first_loss is None:
            self.first_loss = loss  # epoch 1 not noted (or not logged): the first logged one
        first = self.first_loss
        if isinstance(first, torch.Tensor):
            first = clean_float(float(first))
        out["loss_decrease"] = (
            None if loss is None or first is None or e.get("epoch") == 0 else first - loss
        )
        out["loss_decrease_init"] = (
            None if loss is None or self.init_loss is None else self.init_loss - loss
        )
        now = {d: P.fires(d, e.get(P.RULES[d][0]), self.protocol) for d in P.RUN_DECIDED}
        out["ref_degenerate"] = None if now["b"] is None else int(now["b"])
        for d in P.RUN_DECIDED:
            if P.window(d, self.protocol) == "final":  # judged where training stops: now
                self.fired[d] = now[d]
            elif now[d] is not None:
                self.fired[d] = bool(self.fired[d]) or now[d]
            out[f"fired_{d}"] = None if self.fired[d] is None else int(self.fired[d])
        diags = P.verdict_set(self.protocol)
        decided = [d for d in diags if d in P.RUN_DECIDED]
        if any(self.fired[d] for d in decided):
            out["trustworthy"] = 0
        else:  # an undecided diagnostic (a null value so far, or (d)) is not "did not fire"
            undecided = len(decided) < len(diags) or any(self.fired[d] is None for d in decided)
            out["trustworthy"] = None if undecided else 1
        return out

    def note_train_loss(self, epoch: int, loss: Any) -> None:
        """The trainer's mean training loss of every epoch (logged or not): keeps epoch 1's,
        the reference of `loss_decrease`. A device tensor is kept as is (read when needed)."""
        if epoch == 1:
            self.first_loss = loss.detach() if isinstance(loss, torch.Tensor) else loss

    def finish(self, log: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(result["final"], result["protocol"]): the last entry's scalars plus the run-level
        fields (critical values, first firing epochs); the null_* fields are None here, the
        trainer fills them (`faspec.train.null.null_cosines`) when measure.null_draws asks."""
        final: dict[str, Any] = {}
        if log:
            final = {k: v for k, v in log[-1].items() if k != "epoch" and not k.endswith("_layers")}
        block = P.evaluate(log, self.protocol)
        final.update(P.extremes(log))
        for d in P.RUN_DECIDED:
            final[f"fired_{d}"] = None if block["fired"][d] is None else int(block["fired"][d])
            final[f"first_fire_{d}"] = block["first_epoch"][d]
        verdict = block["verdict"]
        final["trustworthy"] = None if verdict == "undecided" else int(verdict == "trustworthy")
        final.update(dict.fromkeys(NULL_FIELDS))
        return final, block
