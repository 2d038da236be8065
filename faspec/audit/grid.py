r"""The cells of one table as the scanner reads it, so that a number knows its column's header.

The scanner calls `open_cell` / `close_cell` at each ``&`` and ``\\`` of a tabular and `rule`
at each ``\midrule`` / ``\hline``; a number then asks `header(row, col)` and
`row_header(row, col)`. Only what was read before the number is known, which suffices: headers
come first.

Which rows are the header: the rows above the first ``\midrule`` / ``\hline`` that follows a
row with content (booktabs' ``\toprule`` header ``\midrule`` body, or ``\hline`` header
``\hline`` body); a table without such a rule has row 0 as its header. A header cell spanning
several columns (``\multicolumn{2}{c}{Accuracy (\%)}``) heads each of them. A number in a
header row has no column header. The row header is the row's first cell (for a number in a
later column).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Grid"]

_CELL_END = re.compile(r"&|\\\\|\\end\s*\{")


@dataclass
class Grid:
    """The cells of one tabular read so far: (row, col) -> (span, raw LaTeX text)."""

    file: str
    start: int
    rows: dict[int, list[tuple[int, int, str]]] = field(default_factory=dict)
    rules: list[int] = field(default_factory=list)

    def close_cell(self, file: str, text: str, end: int, row: int, col: int, span: int) -> None:
        """The cell that began at `self.start` ends at `end` of `text` (in `file`)."""
        cell = text[self.start : end] if file == self.file and 0 <= self.start <= end else ""
        self.rows.setdefault(row, []).append((col, span, cell))

    def open_cell(self, file: str, start: int) -> None:
        self.file, self.start = file, start

    def rule(self, row: int) -> None:
        """A full-width rule before row `row` (rows counted from 0)."""
        self.rules.append(row)

    def header_rows(self) -> range:
        for r in self.rules:
            if r >= 1 and any(c.strip() for _, _, c in self.rows.get(r - 1, [])):
                return range(r)
        return range(1)

    def header(self, row: int, col: int) -> str:
        """The text of the header cells above column `col` ('' for a number in the header)."""
        rows = self.header_rows()
        if row in rows:
            return ""
        out = []
        for r in rows:
            for c, span, text in self.rows.get(r, []):
                if c <= col < c + span:
                    out.append(text)
        return " ".join(out)

    def cell_text(self, file: str, text: str, start: int, end: int) -> str:
        """The number's own cell without the number: from the cell's start to the next ``&``
        or ``\\\\`` (at most 200 characters after it), e.g. "Depth" of a header "Depth 4"."""
        if file != self.file or not 0 <= self.start <= start:
            return ""
        m = _CELL_END.search(text, end, end + 200)
        return text[self.start : start] + " " + text[end : m.start() if m else end + 200]

    def row_header(self, row: int, col: int) -> str:
        """The first cell of the number's row, when the number is in a later column."""
        if col == 0:
            return ""
        return next((text for c, _, text in self.rows.get(row, []) if c == 0), "")
