"""What a stored result must hold before it may decide anything: a check of result.json's fields.

Promise: `problems(result)` lists every field of a parsed result.json that no run of faspec could
have written, as `field: what is wrong` (`final.test_acc: 1.7 is not in [0, 1]`,
`log[3].g_norm: Infinity is not a finite number`, `protocol.fired.c: "false" is not a boolean`);
an empty list means the result may be used. It checks types and ranges only, never whether a
claim holds:

* status is one of ok / failed / diverged; error is text or null;
* every measurement (`final`, each `log` entry, per-layer lists) is null or a finite number, not a
  boolean or a string; accuracies and fractions lie in [0, 1]; norms, losses, standard
  deviations and counts are >= 0; epochs are integers >= 0;
* the protocol block holds booleans (or null) where a diagnostic fired or not, epochs where a
  first firing is recorded, finite thresholds;
* provenance, when present, is a mapping of text, numbers or null (wall_s a number >= 0;
  code a mapping of component to text).

Unknown keys are accepted (a newer faspec may record more); a known key with an impossible value
is not. `faspec.store.Store.get` runs this on every read and replaces a result with problems by
`{"status": "invalid", "error": "<file>: <field>: <problem>; ...", "final": {}, "log": []}`, so
that no measurement of it reaches a decision or a report and claims over it are `error`s naming
the file and the field.
"""

from __future__ import annotations

import math
from typing import Any

STATUSES = ("ok", "failed", "diverged")
MAX_PROBLEMS = 5  # a message names the first few; one is enough to refuse the result

_UNIT = ("acc", "sparsity", "fired_", "trustworthy", "ref_degenerate")  # in [0, 1]
_NONNEG = ("norm", "loss", "_std", "growth", "first_fire_", "null_draws", "wall_s")


def _range(name: str) -> tuple[float, float] | None:
    """The interval a measurement named `name` lies in, or None when any finite value is fine.
    `loss_decrease` and `loss_decrease_init` are differences (may be negative); per-layer names use their stem."""
    stem = name.removesuffix("_layers")
    if stem.startswith("loss_decrease"):  # loss_decrease, loss_decrease_init
        return None
    if any(k in stem for k in _UNIT):
        return (0.0, 1.0)
    if any(k in stem for k in _NONNEG):
        return (0.0, math.inf)
    return None


def _shown(x: Any) -> str:
    if isinstance(x, float) and not math.isfinite(x):
        return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
    text = repr(x) if isinstance(x, str) else str(x)
    return text if len(text) <= 40 else text[:40] + "…"


def _number(field: str, name: str, x: Any, out: list[str]) -> None:
    if x is None:
        return
    if isinstance(x, bool) or not isinstance(x, int | float):
        out.append(f"{field}: {_shown(x)} is not a number")
        return
    if not math.isfinite(x):
        out.append(f"{field}: {_shown(x)} is not a finite number")
        return
    bounds = _range(name)
    if bounds is not None and not bounds[0] <= x <= bounds[1]:
        hi = "" if math.isinf(bounds[1]) else f", {bounds[1]:g}]"
        where = f"in [{bounds[0]:g}{hi}" if hi else f">= {bounds[0]:g}"
        out.append(f"{field}: {_shown(x)} is not {where}")


def _measurements(field: str, entry: Any, out: list[str]) -> None:
    if not isinstance(entry, dict):
        out.append(f"{field}: must be a mapping of measurements, not {type(entry).__name__}")
        return
    for name, value in entry.items():
        f = f"{field}.{name}"
        if name == "epoch":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                out.append(f"{f}: {_shown(value)} is not an epoch (an integer >= 0)")
        elif isinstance(value, list):
            for i, x in enumerate(value):
                _number(f"{f}[{i}]", name, x, out)
        elif isinstance(value, dict):
            _measurements(f, value, out)
        else:
            _number(f, name, value, out)


def _mapping_of(field: str, block: Any, check: Any, out: list[str]) -> None:
    if block is None:
        return
    if not isinstance(block, dict):
        out.append(f"{field}: must be a mapping, not {type(block).__name__}")
        return
    for k, v in block.items():
        check(f"{field}.{k}", v)


def _protocol(block: Any, out: list[str]) -> None:
    if block is None:
        return
    if not isinstance(block, dict):
        out.append(f"protocol: must be a mapping, not {type(block).__name__}")
        return

    def boolean(f: str, v: Any) -> None:
        if v is not None and not isinstance(v, bool):
            out.append(f"{f}: {_shown(v)} is not a boolean (true, false or null)")

    def epoch(f: str, v: Any) -> None:
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            out.append(f"{f}: {_shown(v)} is not an epoch (an integer >= 0)")

    def threshold(f: str, v: Any) -> None:
        if not isinstance(v, str):  # `stability_at: final` is a word
            _number(f, f.rsplit(".", 1)[-1], v, out)

    _mapping_of("protocol.fired", block.get("fired"), boolean, out)
    _mapping_of("protocol.first_epoch", block.get("first_epoch"), epoch, out)
    _mapping_of("protocol.thresholds", block.get("thresholds"), threshold, out)
    _mapping_of("protocol.critical", block.get("critical"), threshold, out)
    boolean("protocol.needs_frozen_baseline", block.get("needs_frozen_baseline"))
    for key in ("diagnostics", "pending", "reported"):
        v = block.get(key)
        if v is not None and not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            out.append(f"protocol.{key}: must be a list of diagnostic names")


def problems(result: dict[str, Any]) -> list[str]:
    """Every impossible field of a parsed result.json (see the module docstring); [] if none."""
    out: list[str] = []
    status = result.get("status", "ok")
    if status not in STATUSES:
        out.append(f"status: {_shown(status)} is not one of {', '.join(STATUSES)}")
    err = result.get("error")
    if err is not None and not isinstance(err, str):
        out.append(f"error: must be text or null, not {type(err).__name__}")
    final = result.get("final")
    if final is not None:
        _measurements("final", final, out)
    log = result.get("log")
    if log is not None:
        if not isinstance(log, list):
            out.append(f"log: must be a list, not {type(log).__name__}")
        else:
            for i, entry in enumerate(log):
                _measurements(f"log[{i}]", entry, out)
    _protocol(result.get("protocol"), out)
    prov = result.get("provenance")
    if prov is not None and not isinstance(prov, dict):
        out.append(f"provenance: must be a mapping, not {type(prov).__name__}")
    elif prov:
        for k, v in prov.items():
            if k == "wall_s":
                _number("provenance.wall_s", k, v, out)
            elif k == "code":  # faspec.code_id: {"method ep": "<hex>", ...}
                if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
                    out.append("provenance.code: must be a mapping of component to text")
            elif v is not None and not isinstance(v, str | int | float):
                out.append(f"provenance.{k}: must be text, a number or null")
    return out
