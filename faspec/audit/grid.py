r"""The cells of one table as the scanner reads it, so that a number knows its column's header.

The scanner calls `open_cell` / `close_cell` at each ``&`` and ``\\`` of a tabular and `rule`
at each ``\midrule`` / ``\hline``; a number then asks `header(row, col)` and
`row_header(row, col)`. Only what was read before the number is known, which suffices: headers
come first.

Which rows are the header: the rows above the first ``\midrule`` / ``\hline`` that follows a
row with content (booktabs' ``\toprule`` header ``\midrule`` body, or ``\hline`` header
``\hline`` body); a table without such a rule has row 0 as its header. A header cell spanning
several columns (``\multicolumn{2}{c}{Accuracy (\%)}``) heads each of them. A number in a
header row has no column header. The row header is the text of the row's cells left of the
number (its label, and a middle "Quantity"/"Metric" column if there is one); an empty cell
under a ``\multirow{k}`` label takes that label for the k rows it spans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Grid"]

_CELL_END = re.compile(r"&|\\\\|\\end\s*\{")
_MULTIROW = re.compile(r"\\multirow\s*(?:\[[^\]]*\])?\s*\{\s*(\d+)\s*\}")


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
        """The cells of the number's row left of it ('' in the first column), an empty one
        filled from a ``\\multirow`` above that spans it."""
        out = []
        for c, _, text in self.rows.get(row, []):
            if c >= col:
                break
            out.append(text if _bare(text) else self._multirow_above(row, c))
        return " ".join(t for t in out if _bare(t))

    def _multirow_above(self, row: int, col: int) -> str:
        for back in range(1, 64):
            r = row - back
            if r < 0 or r in self.header_rows():
                return ""
            text = next((t for c, _, t in self.rows.get(r, []) if c == col), "")
            if _bare(text):
                m = _MULTIROW.search(text)
                return text if m and back < int(m.group(1)) else ""
        return ""


def _bare(text: str) -> str:
    """A cell's text without comments and space ('' for an empty cell)."""
    return re.sub(r"(?<!\\)%[^\n]*", "", text).strip()
