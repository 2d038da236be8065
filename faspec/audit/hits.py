r"""What the LaTeX reader yields: `Source` files, `NumberHit` numbers, `MacroUse` results-macro
uses, gathered in an `Extraction` (see `faspec.audit.latex` for what counts as a number).

Each carries the file, 1-based line and column, and source offsets, so that every finding of
the audit can point at the character that printed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Public data


@dataclass(frozen=True)
class Source:
    """One file of the paper: `file` is the name hits carry, `text` what offsets index into.

    `text` is the file's content with line ends normalised to ``\n`` and any BOM removed.
    `included_from` is ``(file, line, col)`` of the ``\\input`` that pulled it in (None for main).
    """

    file: str
    path: Path
    text: str
    included_from: tuple[str, int, int] | None = None


@dataclass(frozen=True)
class NumberHit:
    r"""A number the paper prints, as printed, with what is needed to compare it to a result.

    `value` is the signed value in the printed units (``61.5\%`` gives 61.5, ``unit="%"``;
    ``1.21\times10^7`` gives 1.21e7). The printed precision is kept: `mantissa`, `decimals`
    (digits after the point of the mantissa), `exponent` (power of ten applied to the mantissa,
    from ``\times 10^k``, ``e-4`` or a ``k``/``M`` suffix) and `resolution` (one unit of the
    last printed digit, in value units). `rounds_to(x)` then says whether a stored x prints as
    this number: 0.4013 backs 0.401 and 0.40 but not 0.41. `std` and `upper` (the second value
    of a range) carry their own decimals and resolution.

    `col` is the 1-based column of the first character of `text`: the sign or first digit, or
    the backslash of a siunitx command. `start`/`end` are offsets of `text` in the Source text.
    """

    file: str
    line: int
    col: int
    text: str
    value: float
    kind: str = "plain"
    std: float | None = None
    upper: float | None = None
    unit: str | None = None
    sign: str = ""
    mantissa: float = 0.0
    decimals: int = 0
    sig_digits: int = 1
    exponent: int = 0
    resolution: float = 1.0
    std_decimals: int | None = None
    std_resolution: float | None = None
    upper_decimals: int | None = None
    upper_resolution: float | None = None
    relation: str | None = None
    math: bool = False
    envs: tuple[str, ...] = ()
    cell: tuple[int, int] | None = None
    header: str = ""  # in a table: the raw text of the header cells above its column
    row_header: str = ""  # in a table: the raw text of its row's first cell
    cell_text: str = ""  # in a table: the raw text of its own cell around it (number cut out)
    context: str = ""
    start: int = 0
    end: int = 0

    def rounds_to(self, x: float, part: str = "value") -> bool:
        """True when `x`, rounded to the printed precision of `part`, is the printed number.

        `part` is "value", "std" or "upper". Percent and pp are compared as printed: pass
        100*x for a stored fraction. Ties count as backed (either rounding rule may print them).
        """
        printed = {"value": self.value, "std": self.std, "upper": self.upper}[part]
        res = {
            "value": self.resolution,
            "std": self.std_resolution,
            "upper": self.upper_resolution,
        }[part]
        if printed is None or res is None:
            return False
        slack = 1e-9 * max(abs(printed), res)
        return abs(x - printed) <= res / 2 + slack


@dataclass(frozen=True)
class MacroUse:
    r"""A use of a results macro such as ``\fsv{fa-beats-dfa}{fa}{mean}``: backed by design.

    `args` are the raw texts of its brace arguments, `options` the raw optional argument.
    """

    file: str
    line: int
    col: int
    name: str
    args: tuple[str, ...]
    options: str | None = None
    text: str = ""
    context: str = ""
    start: int = 0
    end: int = 0


@dataclass
class Extraction:
    """What one read of a paper yields: its files, its numbers and its results-macro uses."""

    sources: list[Source] = field(default_factory=list)
    numbers: list[NumberHit] = field(default_factory=list)
    macros: list[MacroUse] = field(default_factory=list)
