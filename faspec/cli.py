"""The `faspec` command: the click surface (options, arguments, help); parse, call, print, exit
code. Only the CLI modules print (this one, cli_exits: how a command ends, cli_verify: verify's
training and its decide-and-report step, cli_progress: live progress of verify).

Exit codes, so that CI can tell a result from a bug:

* 0 every claim passes (audit: every number is backed);
* 1 a claim fails, is inconclusive, errored or is unsourced;
* 2 the input is invalid (spec, store, paper, option): `file:line:col: message (hint: ...)`,
  or `file: message` for a file as a whole (`nope.yaml: no such file`), never a traceback;
* 3 an internal error (a bug in faspec): one line on stderr naming the exception and a log file
  that holds the traceback; `--debug` prints the traceback too;
* 130 interrupted (Ctrl-C) during `verify`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

import faspec
from faspec.cli_exits import (
    EXIT_CLAIMS,
    EXIT_INPUT,
    EXIT_OK,
    Finite,
    Main,
    input_error,
)
from faspec.cli_verify import decide_and_report, profile_banner, train_missing_runs


def _load(paths: tuple[str, ...], profile: str | None = None) -> list[Any]:
    import faspec.config  # noqa: F401  (loads the entry-point plug-ins)
    from faspec.registry import plugin_problem
    from faspec.spec.load import SpecError, load_many

    broken = plugin_problem()  # a broken plug-in is an error, not a silently missing method
    if broken:
        click.echo(f"error: {broken}", err=True)
        sys.exit(EXIT_INPUT)

    try:
        if profile is not None:
            return load_many(list(paths), profile=profile)
        return load_many(list(paths))
    except SpecError as e:
        input_error(e)
    raise AssertionError  # unreachable


def _plan(specs: list[Any]) -> Any:
    from faspec.plan import PlanError, build

    try:
        return build(specs)
    except PlanError as e:
        input_error(e)


def _store(path: str) -> Any:
    from faspec.store import Store

    return Store(path)


@click.group(cls=Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(faspec.__version__, prog_name="faspec")
@click.option(
    "--debug",
    is_flag=True,
    help="On an internal error (exit 3), print the traceback too (also: FASPEC_DEBUG=1).",
)
def main(debug: bool = False) -> None:
    """Verify a paper's claims about credit-assignment methods from declarative YAML specs.

    Exit codes: 0 all claims pass; 1 a claim fails, is inconclusive, errored or is unsourced;
    2 invalid input (located file:line:col); 3 internal error (a bug; --debug for the traceback).
    """


SPECS = click.argument("specs", nargs=-1, required=True, type=click.Path())
STORE = click.option("--store", default="results", show_default=True, help="Results store folder.")
PROFILE = click.option(
    "--profile",
    default=None,
    help="Apply the specs' `profiles: NAME` entry (e.g. smoke: tiny sizes); every spec must define it.",
)


@main.command()
@SPECS
@STORE
@click.option(
    "--no-run",
    is_flag=True,
    help="Train nothing: decide from stored results; missing runs make claims unsourced.",
)
@click.option(
    "--executor",
    type=click.Choice(["ray", "local"]),
    default="ray",
    show_default=True,
    help="ray: one Ray task per run (local Ray unless --address); local: in-process, for debugging.",
)
@click.option(
    "--address",
    default=None,
    help="Existing Ray cluster: auto, HOST:PORT or ray://HOST:PORT (default: $RAY_ADDRESS, as "
    "`ray job submit` sets it, else a private local Ray).",
)
@click.option(
    "--runtime-env",
    default=None,
    help="Ray runtime environment for the workers: a JSON/YAML file or inline text, e.g. "
    "'{working_dir: ., pip: [my-plugin]}'; merged over the specs' `runtime_env:`.",
)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option(
    "--cpus",
    type=Finite(),
    default=1.0,
    show_default=True,
    help="CPUs per run (Ray); torch threads per run under --executor local.",
)
@click.option(
    "--gpus",
    type=Finite(),
    default=0.0,
    show_default=True,
    help="GPUs per run (Ray), fractional allowed.",
)
@click.option(
    "--reports",
    "reports_dir",
    default="reports",
    show_default=True,
    help="Where reports are written.",
)
@click.option("--retry-failed", is_flag=True, help="Train again runs stored as failed.")
@click.option(
    "--keep-stale",
    is_flag=True,
    help="Use stored runs whose code changed since (default: train them again); their "
    "verdicts are marked stale in every report.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
@click.option(
    "--junit",
    "junit_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also write JUnit XML here: one test case per claim, for CI.",
)
@PROFILE
def verify(
    specs: tuple[str, ...],
    store: str,
    no_run: bool,
    executor: str,
    address: str | None,
    runtime_env: str | None,
    device: str,
    cpus: float,
    gpus: float,
    reports_dir: str,
    retry_failed: bool,
    quiet: bool,
    junit_file: str | None = None,
    profile: str | None = None,
    keep_stale: bool = False,
) -> None:
    """Run what is missing, check every claim, write the reports."""
    loaded = _load(specs, profile)
    if profile and not quiet:
        click.echo(profile_banner(profile), err=True)
    plan = _plan(loaded)
    st = _store(store)
    summary = None
    if not no_run:
        from faspec import cli_cluster

        cli_cluster.check_device(plan, executor, device, gpus)
        env = cli_cluster.runtime_env(loaded, runtime_env)
        summary = train_missing_runs(
            plan,
            st,
            executor,
            address,
            device,
            cpus,
            gpus,
            retry_failed,
            quiet,
            keep_stale=keep_stale,
            runtime_env=env,
        )
        cli_cluster.report_faults(summary)
    decide_and_report(
        loaded,
        plan,
        st,
        reports_dir,
        summary,
        junit_file=junit_file,
        profile=profile,
        keep_stale=keep_stale,
    )


def _estimate(estimate: Any, *args: Any) -> Any:
    """The plan's cost estimate; sizes too large for its arithmetic are invalid input (exit 2)."""
    try:
        return estimate(*args)
    except (OverflowError, ValueError, ZeroDivisionError) as e:
        click.echo(
            f"error: the runs' sizes are too large to estimate their cost ({e}); "
            "check the sizes in the specs (n_train, d, blocks, epochs, ...)",
            err=True,
        )
        sys.exit(EXIT_INPUT)


@main.command()
@SPECS
@STORE
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@PROFILE
@click.option(
    "--no-power",
    is_flag=True,
    help="Skip the power of each claim (simulated perfect reproductions).",
)
def plan(
    specs: tuple[str, ...],
    store: str,
    as_json: bool,
    profile: str | None = None,
    no_power: bool = False,
) -> None:
    """The runs the specs need: cached or missing, and why; an estimate of their GPU time;
    how often a perfect reproduction would pass each claim that states the paper's numbers."""
    from faspec.check.power import spec_powers
    from faspec.plan import status
    from faspec.plan_cost import duration, estimate

    loaded = _load(specs, profile)
    p = _plan(loaded)
    powers = [] if no_power else spec_powers(loaded)
    st = _store(store)
    rows = status(p, st)
    per_run = p.claims_per_run()
    cells = {rid: c for c, rid in p.cells.items()}
    if as_json:
        click.echo(
            json.dumps(
                {
                    "runs": [
                        {
                            "run": r.run_id,
                            "state": r.state,
                            "reason": r.reason,
                            "claims": per_run[r.run_id],
                            "config": p.runs[r.run_id],
                        }
                        for r in rows
                    ],
                    "unique": len(p.runs),
                    "cells": p.cells_total,
                    "profile": profile,
                    "gpu_seconds_estimate": round(_estimate(estimate, p.runs).total_s, 1),
                    "power": powers,
                },
                indent=1,
            )
        )
        return
    for r in rows:
        c = cells[r.run_id]
        m = p.runs[r.run_id]["model"]
        click.echo(
            f"{r.run_id}  {r.state:<8} {c.spec}/{c.experiment} {c.label:<8} seed {c.seed:<5} "
            f"{m['arch']} claims {per_run[r.run_id]:<2} {r.reason}"
        )
    for row in powers:  # before the two summary lines, which stay last
        click.echo(f"power {row['spec']}/{row['claim']}: {row['text']}")
    n = {s: sum(1 for r in rows if r.state == s) for s in ("cached", "missing", "failed", "stale")}
    click.echo(
        f"{len(p.runs)} unique runs ({p.cells_total} before deduplication): "
        f"{n['cached']} cached, {n['missing']} missing, {n['failed']} failed"
        + (
            f", {n['stale']} stale (verify trains them again; --keep-stale keeps them)"
            if n["stale"]
            else ""
        )
    )
    est = _estimate(estimate, p.runs)
    missing = _estimate(estimate, p.runs, [r.run_id for r in rows if r.state != "cached"])
    click.echo(f"{est.text()}; still to train: {duration(missing.packed_s)}")
    if profile:
        click.echo(profile_banner(profile))


@main.command()
@click.argument("specs", nargs=-1, type=click.Path())
@STORE
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet", "json"]),
    default="csv",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write here (needed for parquet); csv and json go to stdout without it.",
)
def results(specs: tuple[str, ...], store: str, fmt: str, output: str | None) -> None:
    """Stored results as a table: one row per run and logged epoch (the runs SPECS need, or all)."""
    from faspec.results import load_results, write
    from faspec.store import StoreError

    if fmt == "parquet" and output is None:
        click.echo("error: parquet is binary: give a file with -o FILE", err=True)
        sys.exit(EXIT_INPUT)
    run_ids = list(_plan(_load(specs)).runs) if specs else None
    try:
        df = load_results(_store(store), run_ids)
    except StoreError as e:
        input_error(e)
    text = write(df, fmt, output)
    if text is not None:
        click.echo(text, nl=False)
    else:
        click.echo(f"{len(df)} rows ({df['run_id'].nunique()} runs) written to {output}", err=True)


@main.command()
@click.argument("paper", type=click.Path())
@click.option(
    "--specs",
    "spec_paths",
    multiple=True,
    type=click.Path(),
    help="Spec files or folders (repeatable; default: specs/ here, else beside the paper).",
)
@click.option(
    "--store", default=None, help="Results store (default: results/ here, else beside the paper)."
)
@click.option(
    "--allow",
    "allow_files",
    multiple=True,
    type=click.Path(),
    help="Allowance files (default: audit.yaml beside the paper, [tool.faspec.audit] in pyproject.toml).",
)
@click.option(
    "--values",
    "values_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="The file `faspec macros` wrote, if the audit cannot follow the paper's \\input of it.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "github", "junit"]),
    default="table",
    show_default=True,
    help="github: workflow annotations (::error file=…,line=…::); junit: XML for CI.",
)
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False), help="Write here.")
@click.option("--problems", is_flag=True, help="Table: only MISMATCH and UNSOURCED rows.")
@click.option("--report-only", is_flag=True, help="Exit 0 even when a number is not backed.")
@click.option(
    "--allow-outside-inputs",
    is_flag=True,
    help="Follow \\input of files outside the paper's folder.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="A typed number is never BACKED: only generated \\fsv macro uses are.",
)
def audit(
    paper: str,
    spec_paths: tuple[str, ...],
    store: str | None,
    allow_files: tuple[str, ...],
    values_file: str | None,
    fmt: str,
    output: str | None,
    problems: bool,
    report_only: bool,
    allow_outside_inputs: bool,
    strict: bool,
) -> None:
    """Every number PAPER.tex prints: BACKED, MISMATCH, CONFIG, ALLOWED or UNSOURCED."""
    import os

    from faspec.audit import run as audit_run
    from faspec.audit.errors import AuditInputError
    from faspec.audit.report import render, summary
    from faspec.store import StoreError

    paths = spec_paths or tuple(audit_run.default_specs(paper))
    loaded = _load(paths) if paths else []
    p = _plan(loaded)
    try:
        result = audit_run.run(
            paper,
            loaded,
            p,
            store or audit_run.default_store(paper),
            list(allow_files),
            values_file,
            allow_outside_inputs,
            strict,
        )
    except (AuditInputError, StoreError) as e:
        input_error(e)
    text = render(result, fmt, problems, os.environ.get("GITHUB_WORKSPACE"))
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text)
        click.echo(summary(result), err=True)
    else:
        click.echo(text, nl=False)
    sys.exit(EXIT_OK if result.ok or report_only else EXIT_CLAIMS)


@main.command()
@SPECS
@STORE
@click.option(
    "-o",
    "--output",
    default=None,
    type=click.Path(dir_okay=False),
    help="Write here (else stdout).",
)
@click.option(
    "--decimals",
    type=click.IntRange(0, 15),
    default=3,
    show_default=True,
    help="Places for values no `reported:` types (those keep the spec's digits).",
)
@click.option("--strict", is_flag=True, help="Exit 1 when a claimed value has no stored result.")
def macros(
    specs: tuple[str, ...], store: str, output: str | None, decimals: int, strict: bool
) -> None:
    """LaTeX macros for every claimed value: \\fsv{claim}{method}{mean|std|n|pm|pct|...}."""
    from faspec.audit.macros import render
    from faspec.audit.values import claim_values
    from faspec.store import StoreError

    loaded = _load(specs)
    p = _plan(loaded)
    try:
        values = claim_values(loaded, p, _store(store))
    except StoreError as e:
        input_error(e)
    text = render(values, decimals, source="from " + ", ".join(s.name for s in loaded))
    missing = [cv for cv in values if cv.status != "ok"]
    for cv in missing:
        click.echo(f"warning: {cv.ref} {cv.method}: {cv.status}: {cv.reason}", err=True)
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text)
        click.echo(
            f"{len(values) - len(missing)} of {len(values)} values written to {output}", err=True
        )
    else:
        click.echo(text, nl=False)
    sys.exit(EXIT_CLAIMS if strict and missing else EXIT_OK)


@main.command()
def schema() -> None:
    """Print the JSON Schema of the spec language."""
    from faspec.spec.load import schema as get_schema

    click.echo(json.dumps(get_schema(), indent=2))


@main.command()
def methods() -> None:
    """Every registered method, architecture, dataset and metric, with options and version."""
    import faspec.config  # noqa: F401  (declares the built-ins, loads the plug-ins)
    from faspec import registry

    if registry.plugin_problem():
        click.echo(f"error: {registry.plugin_problem()}", err=True)
        sys.exit(EXIT_INPUT)

    for title, reg in (
        ("methods", registry.METHODS),
        ("architectures", registry.ARCHS),
        ("datasets", registry.DATASETS),
    ):
        click.echo(f"{title}:")
        for name in sorted(reg):
            comp = reg[name]
            click.echo(
                f"  {name} (v{comp.version}){' — ' + comp.doc.splitlines()[0] if comp.doc else ''}"
            )
            for word, traits in (("requires", comp.requires), ("provides", comp.traits)):
                if traits:  # the support matrix (registry.TRAITS)
                    click.echo(f"      [{word} {', '.join(sorted(traits))}]")
            for oname, opt in comp.options.items():
                t = opt.type.__name__ if isinstance(opt.type, type) else str(opt.type)
                t += " or null" if opt.nullable else ""
                choices = f" {{{'|'.join(map(str, opt.choices))}}}" if opt.choices else ""
                default = "null" if opt.default is None else repr(opt.default)
                click.echo(f"      {oname}: {t}{choices} = {default}  {opt.doc}")
    click.echo("metrics:")
    for name, doc in {**registry.SCALAR_METRICS, **registry.LAYER_METRICS}.items():
        click.echo(f"  {name}: {doc}")
    if registry.METRICS:
        click.echo("plug-in metrics (computed where a spec selects them: measure.metrics):")
    for name, m in sorted(registry.METRICS.items()):
        click.echo(f"  {name} (v{m.version}, {m.form}, {m.scale}): {m.doc}")


if __name__ == "__main__":
    main()
