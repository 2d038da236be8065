"""The one error the audit raises for bad input (a paper or an allowance file).

It carries file, line and column so that the CLI can print `file:line:col: message` and exit 2,
as every other faspec input error does, instead of a traceback.
"""

from __future__ import annotations


class AuditInputError(Exception):
    """Input the audit cannot read: a missing `\\input` file, an `\\input` cycle, a bad allowance.

    `line` and `col` are 1-based; 0 means "the whole file" (e.g. a paper that does not exist).
    """

    def __init__(self, file: str, line: int, col: int, message: str, hint: str | None = None):
        self.file, self.line, self.col, self.message, self.hint = file, line, col, message, hint
        where = f"{file}:{line}:{col}" if line else file
        text = f"{where}: {message}"
        if hint:
            text += f" (hint: {hint})"
        super().__init__(text)
