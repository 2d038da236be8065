"""`faspec verify` on a cluster: the options that only matter there, checked before Ray starts.

Promise: `runtime_env` returns the Ray runtime environment for the workers, from the specs'
top-level `runtime_env:` (validated by the spec schema when the spec loads) merged with
`--runtime-env` (a JSON/YAML file or inline text, validated by the same schema; its keys win);
specs that disagree on a key are invalid input naming both files. `check_device` refuses
`--device cuda` when Ray would give the runs no GPU. `report_faults` prints the runs that Ray or
the environment kept from training (never stored: the next verify trains them again). Every
refusal is a located message and exit 2. Part of the CLI: it prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from faspec.cli_exits import EXIT_INPUT


def _fail(message: str, hint: str = "") -> None:
    click.echo(f"error: {message}" + (f"\n  hint: {hint}" if hint else ""), err=True)
    raise SystemExit(EXIT_INPUT)


def _parse_cli_env(value: str) -> dict[str, Any]:
    """--runtime-env: a file (JSON or YAML) when such a file exists, else inline JSON/YAML."""
    import jsonschema
    import yaml

    from faspec.spec.validate import schema

    where = "--runtime-env"
    text = value
    path = Path(value)
    try:
        if path.is_file():
            where, text = f"--runtime-env {value}", path.read_text(encoding="utf-8")
    except OSError as e:
        _fail(f"--runtime-env {value}: cannot read it ({e.strerror or e})")
    try:
        env = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        _fail(f"{where}: not JSON or YAML{at}: {getattr(e, 'problem', e)}")
    if not isinstance(env, dict):
        _fail(
            f"{where}: a runtime environment is a mapping (got {type(env).__name__})",
            hint="e.g. --runtime-env '{working_dir: ., env_vars: {FASPEC_DATA_DIR: /data}}'",
        )
    sub = {"$defs": schema()["$defs"], "$ref": "#/$defs/runtime_env"}
    errors = sorted(jsonschema.Draft202012Validator(sub).iter_errors(env), key=lambda e: e.path)
    for e in errors[:1]:
        field = ".".join(str(p) for p in e.absolute_path)
        _fail(f"{where}: {field + ': ' if field else ''}{e.message}")
    return env


def runtime_env(loaded: list[Any], cli_value: str | None) -> dict[str, Any] | None:
    """The workers' runtime environment (None when neither the specs nor the CLI give one)."""
    merged: dict[str, Any] = {}
    source: dict[str, str] = {}
    for spec in loaded:
        for key, val in (spec.raw.get("runtime_env") or {}).items():
            if key in merged and merged[key] != val:
                _fail(
                    f"{spec.path}: runtime_env.{key} differs from the one in {source[key]}",
                    hint="specs verified together share one runtime environment; give it once "
                    "(or with --runtime-env, which wins)",
                )
            merged[key], source[key] = val, str(spec.path)
    if cli_value:
        merged.update(_parse_cli_env(cli_value))
    return merged or None


def check_device(plan: Any, executor: str, device: str, gpus: float) -> None:
    """--device cuda on Ray needs a GPU for every run: from --gpus or the spec's resources."""
    if executor != "ray" or device != "cuda":
        return
    bare = [rid for rid in plan.runs if not plan.resources.get(rid, {}).get("gpus", gpus)]
    if bare:
        _fail(
            f"--device cuda with --gpus {gpus:g}: Ray would give {len(bare)} run(s) no GPU "
            f"(e.g. {bare[0][:12]}), and they would fail on a node without one",
            hint="pass --gpus 1 (or a fraction such as 0.25), or `resources: {gpus: ...}` in the spec",
        )


def report_faults(summary: Any) -> None:
    """Print the runs a fault of Ray or the environment kept from training, grouped by error."""
    for w in dict.fromkeys(getattr(summary, "warnings", [])):
        click.echo(f"warning: {w}", err=True)
    faults = getattr(summary, "faults", [])
    if not faults:
        return
    by_error: dict[str, list[str]] = {}
    for rid, err in faults:
        lines = [ln for ln in err.strip().splitlines() if ln.strip()]
        by_error.setdefault(lines[-1] if lines else "?", []).append(rid)
    click.echo(
        f"{len(faults)} run(s) not trained because of the cluster or the environment, not the "
        "run (NOT stored; the next verify trains them again):",
        err=True,
    )
    for err, rids in by_error.items():
        click.echo(f"  {len(rids)} run(s), e.g. {rids[0][:12]}: {err[:300]}", err=True)
