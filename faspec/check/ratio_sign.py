"""The sign of a ratio of two seed samples, decided before it is tested on log10.

A ratio `a / b` is tested on log10 of its operands, which needs each operand of one sign on every
seed. This module says what to do otherwise, so that data never makes a ratio claim `error`:

* both operands of one sign on every seed: the ratio is positive; two negative operands are
  compared by their magnitudes (the paper's nudging ratios, loss changes, are negative);
* the operands' means of opposite signs, each sign shown by a two-sided one-sample t-test at
  alpha: the ratio is negative. Against a positive constant (the usual `~= 4.5`) the claim is
  decided by that sign alone: `~=`/`>`/`>>` fail, `<`/`<<` hold. Against a negative constant
  (`a / b ~= -4.5`) the magnitudes are tested when every seed keeps its operand's sign;
* an operand whose seeds straddle zero (or are zero) with its sign not shown: `inconclusive`,
  "the sign of X is not established" (more seeds may show it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faspec.check import stats as S
from faspec.spec import expr as E


@dataclass
class Decision:
    """What the sign says: `verdict` None means "test the magnitudes", negating `flip`'s keys."""

    verdict: str | None
    message: str = ""
    flip: tuple[str, ...] = ()
    p: float | None = None


def const_sign_of(cmp: E.Compare) -> tuple[int, str | None]:
    """(-1 when a ratio is compared with a negative constant, `a / b ~= -4.5`, else 1; the
    message refusing it, or None). Against a negative constant the magnitudes are tested with
    |c|, which keeps the meaning of `~=` only: an order flips under |.|."""
    neg = [t for t in cmp.operands if isinstance(t, E.Const) and t.value < 0]
    if not neg:
        return 1, None
    if any(op.lstrip("!") != "~=" for op in cmp.ops):
        return -1, (
            f"'{cmp}': a ratio against a negative constant ({neg[0]}) is compared with `~=` "
            "only (its magnitudes are tested, and an order would flip under |.|)"
        )
    return -1, None


def _all_sign(values: list[float]) -> int | None:
    if values and all(x > 0 for x in values):
        return 1
    if values and all(x < 0 for x in values):
        return -1
    return None


def _shown_sign(values: list[float], alpha: float) -> tuple[int | None, float | None]:
    """The sign of the mean when a two-sided one-sample t-test against 0 shows it."""
    res = S.one_sample(values, 0.0, "two-sided")
    mean = float(np.mean(values)) if values else 0.0
    if res.p is None or res.p >= alpha or mean == 0.0:
        return None, res.p
    return (1 if mean > 0 else -1), res.p


def _holds(op: str, ratio_sign: int) -> bool:
    """Whether `ratio op c` holds for a ratio of sign `ratio_sign` and a constant of the other."""
    neg = op.startswith("!")
    base = op.lstrip("!")
    if base in ("<", "<=", "<<"):
        out = ratio_sign < 0
    elif base in (">", ">=", ">>"):
        out = ratio_sign > 0
    else:  # ~=: a ratio on the other side of zero is never close to the constant
        out = False
    return out != neg


def decide_sign(
    left: tuple[str, list[float]],
    right: tuple[str, list[float]],
    const_sign: int,
    ops: tuple[str, ...],
    alpha: float,
) -> Decision:
    """Decide a ratio `left / right` by its sign, or say which operands to negate before the
    log10 test. `const_sign`: -1 when the claim compares the ratio with a negative constant."""
    (lk, lv), (rk, rv) = left, right
    sl, sr = _all_sign(lv), _all_sign(rv)

    def show(key: str, vals: list[float]) -> str:
        return f"{key} " + ", ".join(f"{x:.3g}" for x in vals)

    if sl is None or sr is None:
        shown: dict[str, tuple[int | None, float | None]] = {
            k: _shown_sign(v, alpha) for k, v in (left, right)
        }
        for k, v in (left, right):
            sign, p = shown[k]
            if sign is None:
                ptxt = "no test with one seed" if p is None else f"one-sample t-test p = {p:.3g}"
                return Decision(
                    "inconclusive",
                    f"the sign of {k} is not established ({show(k, v)}; {ptxt} against 0): "
                    "a ratio needs each operand's sign",
                )
        sl, sr = shown[lk][0], shown[rk][0]
        assert sl is not None and sr is not None
        if sl * sr == const_sign:  # the means' signs fit the claim, but some seed straddles
            k, v = (lk, lv) if _all_sign(lv) is None else (rk, rv)
            return Decision(
                "inconclusive",
                f"the sign of {k} is not established on every seed ({show(k, v)}): its "
                "log-ratio is undefined where a seed has the other sign",
            )
        p = max(shown[lk][1] or 0.0, shown[rk][1] or 0.0)
    else:
        p = 0.0
    ratio_sign = sl * sr
    if ratio_sign != const_sign:
        what = "negative" if ratio_sign < 0 else "positive"
        if len(ops) != 1:
            return Decision(
                "inconclusive",
                f"{lk} / {rk} is {what} ({show(lk, lv)}; {show(rk, rv)}), across zero from the "
                "chain's constant: write its links apart",
            )
        holds = _holds(ops[0], ratio_sign)
        return Decision(
            "pass" if holds else "fail",
            f"{lk} / {rk} is {what} (signs shown: {show(lk, lv)}; {show(rk, rv)}), so it "
            + ("is" if holds else "cannot be")
            + f" {ops[0]} a constant of the other sign",
            p=p,
        )
    return Decision(None, flip=tuple(k for k, s in ((lk, sl), (rk, sr)) if s < 0))
