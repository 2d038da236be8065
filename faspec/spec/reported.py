"""`reported:` as written in a spec: the key (`label[.metric][[layer]][ at epoch N]`) and the
printed forms (a mean ± std (n=k), a per-seed list, {min, max}, {below, count}), read into
`model.Reported`. Linear in the input (possessive patterns, fullmatch), and every bad value is a
ValueError with a readable message that the loader locates in the file.
"""

from __future__ import annotations

import math
import re
from typing import Any

from faspec.spec.model import Reported

# possessive quantifiers and fullmatch on the stripped text: linear, no backtracking
_NUM = r"[-+]?(?:\d++(?:\.\d*+)?|\.\d++)(?:[eE][-+]?\d++)?"
_REPORTED_RE = re.compile(
    rf"(?P<mean>{_NUM})(?:\s*+(?:±|\+-|\+/-)\s*+(?P<std>{_NUM}))?"
    r"(?:\s*+\(\s*+n\s*+=\s*+(?P<n>\d++)\s*+\))?"
)
MAX_REPORTED_N = 1_000_000  # seeds a paper reports over: below a million


def _decimals(text: str) -> int | None:
    """Decimal places a number was printed with (`0.401` -> 3, `4.0e-3` -> 4), None if unknown."""
    m = re.fullmatch(r"\s*[-+]?(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?\s*", text)
    if not m or not (m.group(1) or m.group(2)):
        return None
    places = len(m.group(2) or "")
    exponent = (m.group(3) or "0").lstrip("+-").lstrip("0")
    if len(exponent) > 6:  # beyond any float: no meaningful printed precision
        return None
    return places - int(m.group(3) or 0)


def parse_reported(value: Any, text: str | None = None, std_text: str | None = None) -> Reported:
    """A printed value -> Reported; raises ValueError with a readable message on bad syntax,
    a NaN or infinite number, or a seed count that is not a small positive integer."""
    try:
        rep = _parse_reported(value, text, std_text)
    except (OverflowError, TypeError) as e:  # an integer beyond float, a list where a number goes
        raise ValueError(f"cannot read {str(value)[:60]!r} as a reported value ({e})") from None
    for what, x in (("mean", rep.mean), ("std", rep.std)):
        if x is not None and not math.isfinite(x):
            raise ValueError(f"the reported {what} is {x}, not a finite number")
    if rep.std is not None and rep.std < 0:
        raise ValueError(f"the reported std {rep.std} is negative")
    if rep.n is not None and (
        isinstance(rep.n, bool) or not isinstance(rep.n, int) or not 1 <= rep.n < MAX_REPORTED_N
    ):
        raise ValueError(
            f"n={rep.n!r} is not a seed count (an integer from 1 to {MAX_REPORTED_N - 1:,})"
        )
    return rep


def _parse_reported(value: Any, text: str | None, std_text: str | None) -> Reported:
    if isinstance(value, bool):
        raise ValueError("a reported value must be a number, not a boolean")
    if isinstance(value, int | float):
        src = text if text is not None else repr(value)
        return Reported(float(value), text=src, decimals=_decimals(src))
    if isinstance(value, dict):
        mean = value["mean"]
        std = value.get("std")
        n = value.get("n")
        src = text if text is not None else str(mean)
        std_src = std_text if std_text is not None else str(std)
        shown = (
            src
            + (f" ± {std_src}" if std is not None else "")
            + (f" (n={n})" if n is not None else "")
        )
        return Reported(
            float(mean),
            None if std is None else float(std),
            n,
            text=shown,
            decimals=_decimals(src),
            std_decimals=None if std_text is None else _decimals(std_text),
        )
    if isinstance(value, str):
        m = _REPORTED_RE.fullmatch(value.strip())
        if not m:
            shown = value if len(value) <= 60 else value[:57] + "..."
            raise ValueError(f"cannot read {shown!r} as a reported value")
        n = m.group("n")
        if n is not None and len(n.lstrip("0")) > 6:
            raise ValueError(f"n={n[:20]}... is not a seed count (below {MAX_REPORTED_N:,})")
        std = m.group("std")
        n = m.group("n")
        return Reported(
            float(m.group("mean")),
            None if std is None else float(std),
            None if n is None else int(n),
            text=value.strip(),
            decimals=_decimals(m.group("mean")),
            std_decimals=None if std is None else _decimals(std),
        )
    raise ValueError(f"cannot read {value!r} as a reported value")


_KEY_RE = re.compile(
    r"(?P<label>[A-Za-z_][A-Za-z0-9_-]*+)(?:\.(?P<metric>[A-Za-z_][A-Za-z0-9_]*+))?"
    r"(?:\[(?P<index>\d{1,6}|\*|\d{0,6}:\d{0,6})\])?(?:\s++at\s++epoch\s++(?P<epoch>\d{1,6}))?"
)


def parse_key(key: str) -> tuple[str, str, Any, int | None]:
    """`fa`, `dfa.g_norm at epoch 4`, `fa.cos_layers[0]` -> (label, metric or "", index, epoch);
    `[*]` / `[a:b]` (layers pooled with seeds) give the index as a (start, stop) pair."""
    m = _KEY_RE.fullmatch(key)
    if m is None:
        shown = key if len(key) <= 60 else key[:57] + "..."
        raise ValueError(
            f"cannot read the key {shown!r}: write label, label.metric, label.metric[layer], "
            "optionally followed by ' at epoch N'"
        )
    index = m.group("index")
    epoch = m.group("epoch")
    if index == "*":
        layer: Any = (None, None)
    elif index is not None and ":" in index:
        lo, hi = index.split(":")
        layer = (int(lo) if lo else None, int(hi) if hi else None)
    else:
        layer = None if index is None else int(index)
    return (
        m.group("label"),
        m.group("metric") or "",
        layer,
        None if epoch is None else int(epoch),
    )


def read_reported(
    key: str, value: Any, text: str | None = None, std_text: str | None = None
) -> Reported:
    """A `reported:` entry (key and value) -> Reported; ValueError on anything unreadable."""
    _, _, index, epoch = parse_key(key)
    if isinstance(value, list):
        xs = [_finite_number(x, "a per-seed value") for x in value]
        rep = Reported(sum(xs) / len(xs), text="[" + ", ".join(map(str, value)) + "]")
        rep.per_seed = xs
        rep.decimals = min(
            (d for d in (_decimals(str(x)) for x in value) if d is not None), default=None
        )
    elif isinstance(value, dict) and "min" in value:
        lo = _finite_number(value["min"], "min")
        hi = _finite_number(value["max"], "max")
        if lo > hi:
            raise ValueError(f"min {lo} is above max {hi}")
        rep = Reported((lo + hi) / 2, text=f"min {value['min']}, max {value['max']}")
        rep.minimum, rep.maximum = lo, hi
        rep.decimals = min(
            (
                d
                for d in (_decimals(str(value["min"])), _decimals(str(value["max"])))
                if d is not None
            ),
            default=None,
        )
    elif isinstance(value, dict) and "below" in value:
        n, _, total = str(value["count"]).partition("/")
        k, of = int(n), int(total)
        if k > of:
            raise ValueError(f"count {value['count']}: more seeds below than seeds")
        rep = Reported(float(k), text=f"{k}/{of} below {value['below']}")
        rep.below, rep.count = str(value["below"]), (k, of)
    else:
        rep = parse_reported(value, text, std_text)
    rep.index, rep.epoch = index, epoch
    return rep


def _finite_number(x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise ValueError(f"{what} must be a number, not {x!r}")
    try:
        f = float(x)
    except OverflowError:
        raise ValueError(f"{what} {str(x)[:30]}... is beyond a float") from None
    if not math.isfinite(f):
        raise ValueError(f"{what} is {f}, not a finite number")
    return f
