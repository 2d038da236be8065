"""How the `faspec` command ends: exit codes, and which exception means which.

Promise: a command raises; `Main` (the command group) turns it into an exit code CI can trust:
2 for invalid input (SpecError, PlanError, StoreError, AuditInputError, ClusterError, a file
that cannot be written), printed as located one-line errors; 3 for anything else, which is a bug: one line naming
it and a log file holding the traceback (`--debug` or FASPEC_DEBUG=1 print it too). Click's own
usage errors keep click's exit code 2. Part of the CLI: only the CLI modules print.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import traceback
from typing import Any

import click

import faspec

EXIT_OK, EXIT_CLAIMS, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


def input_error(e: Exception) -> None:
    """Print an input error (all of a spec's errors, in file order) and exit 2."""
    errors = getattr(e, "errors", None) or [e]
    for err in errors:
        msg = str(err)
        hint = getattr(err, "hint", "")
        if hint and "hint:" not in msg:
            msg += f"\n  hint: {hint}"
        click.echo(f"error: {msg}", err=True)
    sys.exit(EXIT_INPUT)


def _input_error_types() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "your input is wrong" (exit 2), whichever command raised them."""
    from faspec.audit.errors import AuditInputError
    from faspec.spec.errors import SpecError
    from faspec.store import StoreError

    types: list[type[BaseException]] = [SpecError, StoreError, AuditInputError]
    if "faspec.plan" in sys.modules:  # imported only by commands that plan (it needs the trainer)
        types.append(sys.modules["faspec.plan"].PlanError)
    if "faspec.execute.worker" in sys.modules:  # a cluster that cannot be used as asked
        types.append(sys.modules["faspec.execute.worker"].ClusterError)
    return tuple(types)


def _internal_error(e: BaseException, debug: bool) -> None:
    """One line naming the bug and where its traceback is; the traceback itself with --debug."""
    tb = "".join(traceback.format_exception(e))
    where = ""
    try:
        fd, log = tempfile.mkstemp(prefix="faspec-crash-", suffix=".log")
        with os.fdopen(fd, "w") as f:
            f.write(f"faspec {faspec.__version__}: {' '.join(sys.argv)}\n{tb}")
        where = f"; traceback in {log}"
    except OSError:
        pass
    if debug:
        click.echo(tb, err=True, nl=False)
    text = str(e).splitlines()[0][:200] if str(e) else ""
    click.echo(
        f"faspec: internal error (a bug in faspec, please report it): {type(e).__name__}"
        f"{': ' + text if text else ''}{where}" + ("" if debug else "; --debug prints it"),
        err=True,
    )
    sys.exit(EXIT_INTERNAL)


class Main(click.Group):
    """The command group: turns what a command raises into exit 2 (input) or 3 (bug)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as e:
            if isinstance(e, _input_error_types()):
                input_error(e)
            if isinstance(e, OSError) and e.filename is not None:  # -o into a missing folder, ...
                click.echo(f"error: {e.filename}: {e.strerror or e}", err=True)
                sys.exit(EXIT_INPUT)
            debug = bool(ctx.params.get("debug")) or bool(os.environ.get("FASPEC_DEBUG"))
            _internal_error(e, debug)


class Finite(click.ParamType):
    """A finite number >= 0 (click's float accepts 'nan', 'inf' and 1e999)."""

    name = "number"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        try:
            x = float(value)
        except (TypeError, ValueError, OverflowError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(x) or x < 0:
            self.fail(f"{value!r} is not a finite number >= 0", param, ctx)
        return x
