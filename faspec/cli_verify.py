"""`faspec verify` after its options are parsed: train what is missing, then decide and report.

Promise: `train_missing_runs` trains the plan's missing runs on the chosen executor with live
progress on stderr, and on Ctrl-C leaves at once with exit 130 (completed runs are stored; a
second verify resumes); `decide_and_report` decides every claim from the store, prints the
verdicts, writes the per-spec reports (Markdown, JSON, HTML; HTML and JUnit show exactly what the
JSON holds) and the index, and exits 0 when every claim passes, 1 otherwise, 2 on a broken store.
Part of the CLI: it prints.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

import faspec
from faspec.cli_exits import EXIT_CLAIMS, EXIT_OK, input_error
from faspec.cli_progress import Progress


def profile_banner(profile: str) -> str:
    """The warning printed with every result of a profiled (e.g. smoke) run: not the paper's."""
    return (
        f"*** PROFILE {profile.upper()}: the specs' `{profile}` profile is applied (tiny sizes, few "
        "epochs, synthetic data): NOT the paper's setting; verdicts say the pipeline runs, not "
        "that the claims hold ***"
    )


def train_missing_runs(
    plan: Any,
    st: Any,
    executor: str,
    address: str | None,
    device: str,
    cpus: float,
    gpus: float,
    retry_failed: bool,
    quiet: bool,
    keep_stale: bool = False,
    runtime_env: dict[str, Any] | None = None,
) -> Any:
    """Train the runs of `plan` that `st` lacks (or holds as failed, with `retry_failed`) and
    return the training summary; Ctrl-C exits 130 at once."""
    from faspec.verify import runs_to_train, train_missing

    def make_executor() -> Any:
        if executor == "local":
            from faspec.execute.local import LocalExecutor

            return LocalExecutor(device, threads=max(1, round(cpus)))  # as a Ray task gets
        from faspec.execute.ray_exec import RayExecutor, resolve_address

        where = resolve_address(address)
        if not quiet:
            click.echo("starting Ray…" if not where else f"attaching to Ray at {where}…", err=True)
        return RayExecutor(
            address=address, device=device, cpus=cpus, gpus=gpus, runtime_env=runtime_env
        )

    missing, _ = runs_to_train(plan, st, retry_failed, keep_stale)
    if not quiet:
        click.echo(
            f"{len(plan.runs)} runs needed: {len(plan.runs) - len(missing)} cached, {len(missing)} to train",
            err=True,
        )
    prog = Progress(plan, len(missing), not quiet)
    try:
        return train_missing(
            plan, st, make_executor, prog.event, retry_failed, prog.finished, keep_stale
        )
    except KeyboardInterrupt:
        click.echo("\ninterrupted: completed runs are stored; run verify again to resume", err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        # Leave at once: tearing Ray down while replies of cancelled tasks arrive can abort
        # inside Ray's core worker. The store is already consistent (atomic writes), the run
        # locks are released with the process, and a Ray that this verify started shares
        # its fate.
        os._exit(130)


def decide_and_report(
    loaded: list[Any],
    plan: Any,
    st: Any,
    reports_dir: str,
    summary: Any,
    junit_file: str | None = None,
    profile: str | None = None,
    keep_stale: bool = False,
) -> None:
    """Decide every claim from the store, print the verdicts, write the reports (Markdown, JSON,
    HTML, index, JUnit when asked), and exit 0 when every claim passes, else 1."""
    from faspec import code_id
    from faspec.report import html, json_report, junit, markdown, terminal
    from faspec.store import StoreError
    from faspec.verify import code_marks, decide_all

    try:
        marks = code_marks(plan, st)
        outcomes = decide_all(loaded, plan, st, keep_stale)
    except StoreError as e:
        input_error(e)
    stale = {r: c for r, c in marks.items() if c}
    if stale:
        what = sorted({k for c in stale.values() for k in c})
        click.echo(
            f"{len(stale)} stored runs are {code_id.describe(what)}: "
            + (
                "kept (--keep-stale); their verdicts are marked stale"
                if keep_stale
                else "not used (verify trains them again; --keep-stale uses them, marked)"
            ),
            err=True,
        )
    results = {rid: st.get(rid) for rid in plan.runs}
    meta = {
        "faspec": faspec.__version__,
        "store": str(st.root),
        "generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    if summary is not None:
        meta["trained"] = len(summary.trained)
        meta["train_wall_s"] = round(summary.wall_s, 2)
    if profile:
        meta["profile"] = profile
    colour = sys.stdout.isatty()
    out_dir = Path(reports_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    reports: list[dict[str, Any]] = []
    for oc in outcomes:
        for line in terminal.lines(oc.spec, oc.verdicts, colour, profile=profile):
            click.echo(line)
        args = (oc.spec, oc.verdicts, results, plan.runs, meta)
        (out_dir / f"{oc.spec.name}.md").write_text(markdown.render(*args))
        report_text = json_report.render(*args)
        (out_dir / f"{oc.spec.name}.json").write_text(report_text)
        report = json.loads(report_text)  # HTML and JUnit show exactly what the JSON report holds
        reports.append(report)
        cells = html.cells_for(plan, oc.spec.name)
        (out_dir / f"{oc.spec.name}.html").write_text(html.render(report, results, cells))
    (out_dir / "index.html").write_text(html.render_index(out_dir))
    if junit_file:
        Path(junit_file).parent.mkdir(parents=True, exist_ok=True)
        Path(junit_file).write_text(junit.render(reports))
    if profile:
        click.echo(profile_banner(profile))
    click.echo(f"reports in {out_dir}/", err=True)
    on_stale = [c for r in reports for c in r.get("stale_claims") or []]
    if on_stale:
        # --keep-stale is an explicit request to decide on old runs: their verdicts count for
        # the exit code, but no one should read a 0 here as "passes on the installed code"
        click.echo(
            f"warning: {len(on_stale)} claim{'s' if len(on_stale) != 1 else ''} "
            f"({', '.join(on_stale)}) decided on stale runs, kept by --keep-stale: the exit code "
            "does not say they hold for the code now installed (verify without --keep-stale)",
            err=True,
        )
    sys.exit(EXIT_OK if all(oc.ok for oc in outcomes) else EXIT_CLAIMS)
