"""Spec loading: YAML -> validated, merged, expanded `Spec` dataclasses.

Every error a user can make in a spec is reported as `SpecError` with `file:line:col` and, where
we can guess the intent, a hint ("did you mean 'dfa'?"); the CLI prints it and exits 2, never a
traceback. All errors of a spec are collected (`SpecError.errors`); the exception itself is the
first one by position.

Validation runs in layers, each only when the previous one is clean (later layers rely on the
shape the earlier ones guarantee): bytes and YAML (`yamlpos`: forbidden characters, nesting,
non-JSON types, numbers out of range, all located) -> JSON Schema (`validate`, schema.json) ->
names and semantics (`build`: registered methods and metrics, experiments, sweeps, run options;
`build_claims`: claim expressions, margins, reported numbers).

This module is the public entry: `load_text`, `load`, `load_many` (files and folders, spec
names unique), `schema`, `SpecError`; it reads files (size, UTF-8) and picks the component
registry and the trainer's option check that the builder uses.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from faspec.spec.build import Builder
from faspec.spec.errors import SpecError
from faspec.spec.errors import raise_all as _raise
from faspec.spec.model import DEFAULT_METRIC_STATS, Spec, Where
from faspec.spec.reported import parse_reported  # noqa: F401  (re-exported)
from faspec.spec.validate import schema, schema_errors
from faspec.spec.yamlpos import MAX_BYTES, MAX_NODES, PROFILE_KEYS
from faspec.spec.yamlpos import Doc as _Doc

__all__ = [
    "DEFAULT_METRIC_STATS",
    "MAX_BYTES",
    "MAX_NODES",
    "PROFILE_KEYS",
    "SpecError",
    "load",
    "load_many",
    "load_text",
    "schema",
]

# ------------------------------------------------------------------------------------ registry


def _registry() -> Any:
    """The component registry, read at call time: plug-ins and tests register into it.

    `faspec.components` declares the built-in components (and loads entry-point plug-ins)
    without torch.
    """
    import faspec.components  # noqa: F401  (declares the built-ins)
    from faspec import registry

    return registry


def _validate_run_options(
    config: dict[str, Any], where: Callable[[str], Where]
) -> tuple[dict[str, Any] | None, list[SpecError]]:
    """Normalize one run's config with the trainer's own rules: (normalized, []) or (None, errors).

    `config` is a RunConfig as in docs/internals.md (seed, method, data, model, train, measure)
    before normalisation; `where(dotted_path)` locates a dotted key such as "model.blocks" in
    the spec. The trainer is the authority on its options, so its `ConfigError(path, message,
    hint)` is turned into a located SpecError instead of duplicating its rules here. The
    normalized config is kept on the Spec, so the plan does not normalize the run again.
    """
    from faspec.config import ConfigError, normalize_config

    try:
        return normalize_config(copy.deepcopy(config)), []
    except ConfigError as e:
        path = str(e.path or "")
        return None, [SpecError(where(path), f"{path}: {e.message}" if path else e.message, e.hint)]


# --------------------------------------------------------------------------------------- public


def load_text(text: str, filename: str = "<spec>", profile: str | None = None) -> Spec:
    """Load a spec from YAML text; `filename` is used in error positions and as Spec.path.

    `profile` names an entry of the spec's `profiles:` to apply first (e.g. a cheap `smoke`
    variant with fewer epochs and seeds); a spec without that profile is an error, so that a
    smoke run never silently becomes a full one.
    """
    doc = _Doc(filename, text)
    _raise(doc.errors)
    if profile is not None:
        _raise(doc.apply_profile(profile))
    _raise(schema_errors(doc))
    builder = Builder(doc, Path(filename), _registry(), _validate_run_options)
    spec = builder.build()
    _raise(builder.errors)
    spec.profile = profile
    return spec


def read_text(p: Path) -> str:
    """A spec file's text, or SpecError: missing, a folder, unreadable, too large, not UTF-8
    (located at the first bad byte)."""
    try:
        size = p.stat().st_size
        if p.is_dir():
            raise SpecError(
                Where(str(p), 0, 0), "is a folder", "give spec files or folders of them"
            )
        if size > MAX_BYTES:
            raise SpecError(
                Where(str(p), 0, 0),
                f"is {size} bytes; a spec is read only up to {MAX_BYTES} bytes",
                "a spec is a few kB; split it into several files",
            )
        data = p.read_bytes()
    except FileNotFoundError:
        raise SpecError(Where(str(p), 0, 0), "no such file") from None
    except PermissionError:
        raise SpecError(Where(str(p), 0, 0), "permission denied (cannot read it)") from None
    except OSError as e:
        raise SpecError(Where(str(p), 0, 0), f"cannot read it: {e.strerror or e}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start)
        col = len(data[data.rfind(b"\n", 0, e.start) + 1 : e.start].decode("utf-8", "replace"))
        raise SpecError(
            Where(str(p), line + 1, col + 1),
            f"not UTF-8 text: byte 0x{data[e.start]:02x} ({e.reason})",
            "save the file as UTF-8",
        ) from None


def load(path: str | Path, profile: str | None = None) -> Spec:
    """Load one spec file (see load_text for `profile`)."""
    p = Path(path)
    return load_text(read_text(p), str(p), profile)


def load_many(paths: Iterable[str | Path] | str | Path, profile: str | None = None) -> list[Spec]:
    """Load files and directories (a directory: its *.yaml / *.yml, sorted, not recursive).

    Spec names must be unique across everything loaded together, since plans and the store
    key cells by spec name.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.suffix in (".yaml", ".yml") and f.is_file())
        else:
            files.append(p)
    specs: list[Spec] = []
    names: dict[str, Spec] = {}
    for f in files:
        spec = load(f, profile)
        if spec.name in names:
            raise SpecError(
                Where(str(f), *_name_pos(spec)),
                f"spec name '{spec.name}' is already used by {names[spec.name].path}",
                "spec names must be unique; rename one of them",
            )
        names[spec.name] = spec
        specs.append(spec)
    return specs


def _name_pos(spec: Spec) -> tuple[int, int]:
    try:
        doc = _Doc(str(spec.path), read_text(spec.path))
        w = doc.where("/name")
        return w.line, w.col
    except (OSError, SpecError):
        return 0, 0
