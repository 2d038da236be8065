"""RunConfig normalization: fill every default, check every name and type.

The plan hashes the *normalized* config, so normalization must be total (every option present,
every component's `version` present) and canonical (an int given for a float option becomes a
float; `measure.epochs` lists are sorted and de-duplicated): two configs that mean the same run
must normalize to the same dict, and a changed default or a version bump must change it.

Errors are `ConfigError(path, message, hint)` with a dotted `path` ("model.blocks") so the spec
loader can point at the YAML line; a typo gets the closest registered name as a hint.
"""

from __future__ import annotations

import copy
import difflib
import math
from typing import Any

from faspec.train.registry import ARCHS, DATASETS, METHODS, Component, Option

SECTIONS = ("seed", "method", "model", "data", "train", "measure")

TRAIN_OPTIONS: dict[str, Option] = {
    "epochs": Option(int, 8, "full passes over the training set", minimum=0),
    "batch_size": Option(int, 128, "minibatch size (the last partial batch is kept)", minimum=1),
    "optimizer": Option(str, "adamw", "optimizer", choices=("adamw",)),
    "lr": Option(float, 1e-3, "peak learning rate", minimum=0.0),
    "weight_decay": Option(float, 0.01, "decoupled weight decay (AdamW)", minimum=0.0),
    "schedule": Option(
        str, "cosine", "lr schedule, stepped per optimizer step", choices=("cosine", "constant")
    ),
    "grad_clip": Option(
        float, None, "clip the global gradient norm to this value", nullable=True, minimum=0.0
    ),
}
MEASURE_OPTIONS: dict[str, Option] = {
    # "epochs" is special-cased: "all" or a list of ints
    "epochs": Option(str, "all", "logged epochs: 'all' or a list of ints (0 and last always)"),
    "eval_batch": Option(
        int, 1024, "size of the fixed evaluation batch (first test samples)", minimum=1
    ),
}
DEFAULT_SEED = 0
DEFAULT_METHOD = "bp"
DEFAULT_ARCH = "resmlp"
DEFAULT_DATA = "teacher"


class ConfigError(Exception):
    """An invalid RunConfig. `path` is a dotted key ("model.blocks"), `message` says what is
    wrong in words, `hint` says how to fix it (e.g. "did you mean 'dfa'?")."""

    def __init__(self, path: str, message: str, hint: str = "") -> None:
        self.path = path
        self.message = message
        self.hint = hint
        super().__init__(f"{path}: {message}" + (f" ({hint})" if hint else ""))


def _suggest(name: str, candidates: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1, cutoff=0.5)
    if close:
        return f"did you mean {close[0]!r}?"
    return "expected one of: " + ", ".join(repr(c) for c in sorted(candidates, key=str))


def _type_name(t: type) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(
        t, t.__name__
    )


def check_option(path: str, opt: Option, value: Any) -> Any:
    """Validate one option value and return its canonical form (int -> float for floats)."""
    if value is None:
        if opt.nullable:
            return None
        raise ConfigError(path, f"must be {_type_name(opt.type)}, got null")
    t = opt.type
    if t is bool:
        ok = isinstance(value, bool)
    elif t is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif t is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif t is str:
        ok = isinstance(value, str)
    else:
        ok = isinstance(value, t)
    if not ok:
        hint = ""
        if t is float and isinstance(value, str):
            try:
                float(value)
                hint = (
                    f"YAML 1.1 reads {value} as a string; write it with a dot and a signed "
                    "exponent, e.g. 1.0e-3"
                )
            except ValueError:
                pass
        if t is str and isinstance(value, bool) and opt.choices:
            hint = f"YAML reads {str(value).lower()} as a boolean; quote it: '{str(value).lower()}'"
        raise ConfigError(
            path, f"must be {_type_name(t)}, got {type(value).__name__} {value!r}", hint
        )
    if t is float:
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(path, f"must be a finite number, got {value!r}")
    if opt.choices is not None and value not in opt.choices:
        raise ConfigError(path, f"{value!r} is not allowed", _suggest(value, opt.choices))
    if opt.minimum is not None and value < opt.minimum:
        raise ConfigError(path, f"must be >= {opt.minimum}, got {value!r}")
    return value


def _check_options(
    section: str,
    given: dict[str, Any],
    options: dict[str, Option],
    reserved: tuple[str, ...],
    what: str,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in given:
        if key not in options and key not in reserved:
            raise ConfigError(
                f"{section}.{key}",
                f"unknown option of {what}",
                _suggest(key, [*options, *reserved]),
            )
    for key, opt in options.items():
        out[key] = check_option(f"{section}.{key}", opt, given.get(key, opt.default))
    return out


def _component_section(
    section: str, raw: Any, key: str, registry: dict[str, Component], default: str, kind: str
) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if isinstance(raw, str):  # shorthand: method: dfa
        raw = {key: raw}
    if not isinstance(raw, dict):
        raise ConfigError(section, f"must be a mapping, got {type(raw).__name__}")
    name = raw.get(key, default)
    if not isinstance(name, str):
        raise ConfigError(f"{section}.{key}", f"must be a string, got {type(name).__name__}")
    if name not in registry:
        raise ConfigError(
            f"{section}.{key}", f"unknown {kind} {name!r}", _suggest(name, sorted(registry))
        )
    comp = registry[name]
    version = raw.get("version", comp.version)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ConfigError(f"{section}.version", f"must be an integer, got {version!r}")
    if version != comp.version:
        raise ConfigError(
            f"{section}.version",
            f"{kind} {name!r} is at version {comp.version}, the config asks for {version}",
            "results of another version cannot be produced by this faspec; drop the key",
        )
    opts = _check_options(section, raw, comp.options, (key, "version"), f"{kind} {name!r}")
    return {key: name, "version": comp.version, **opts}


def _plain_section(section: str, raw: Any, options: dict[str, Option]) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(section, f"must be a mapping, got {type(raw).__name__}")
    return _check_options(section, raw, options, (), f"section {section!r}")


def _measure_section(raw: Any, epochs: int) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("measure", f"must be a mapping, got {type(raw).__name__}")
    rest = {k: v for k, v in raw.items() if k != "epochs"}
    out = _plain_section(
        "measure", rest, {k: o for k, o in MEASURE_OPTIONS.items() if k != "epochs"}
    )
    ep = raw.get("epochs", "all")
    if ep == "all":
        out_ep: str | list[int] = "all"
    elif isinstance(ep, list):
        for i, e in enumerate(ep):
            if isinstance(e, bool) or not isinstance(e, int):
                raise ConfigError(f"measure.epochs[{i}]", f"must be an integer, got {e!r}")
            if not 0 <= e <= epochs:
                raise ConfigError(
                    f"measure.epochs[{i}]", f"epoch {e} is outside 0..{epochs} (train.epochs)"
                )
        out_ep = sorted(set(ep) | {0, epochs})
    else:
        raise ConfigError("measure.epochs", f"must be 'all' or a list of integers, got {ep!r}")
    return {"epochs": out_ep, **out}


def normalize_config(config: dict[str, Any]) -> dict[str, Any]:
    """Return the complete, canonical form of a RunConfig (see docs/internals.md).

    Idempotent: ``normalize_config(normalize_config(c)) == normalize_config(c)``. Missing
    sections get defaults (seed 0, method bp, arch resmlp, data teacher). Raises `ConfigError`.
    """
    if not isinstance(config, dict):
        raise ConfigError("<config>", f"must be a mapping, got {type(config).__name__}")
    config = copy.deepcopy(config)
    for key in config:
        if key not in SECTIONS:
            raise ConfigError(str(key), "unknown section", _suggest(key, SECTIONS))
    seed = config.get("seed", DEFAULT_SEED)
    seed = check_option("seed", Option(int, DEFAULT_SEED, minimum=0), seed)
    method = _component_section(
        "method", config.get("method"), "name", METHODS, DEFAULT_METHOD, "method"
    )
    model = _component_section(
        "model", config.get("model"), "arch", ARCHS, DEFAULT_ARCH, "architecture"
    )
    data = _component_section("data", config.get("data"), "name", DATASETS, DEFAULT_DATA, "dataset")
    train = _plain_section("train", config.get("train"), TRAIN_OPTIONS)
    measure = _measure_section(config.get("measure"), train["epochs"])
    return {
        "seed": seed,
        "method": method,
        "model": model,
        "data": data,
        "train": train,
        "measure": measure,
    }


def hash_view(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a normalized config that identifies a result: options marked `in_hash=False`
    (where a dataset lives, whether it may be downloaded) say how to get the inputs, not what is
    computed, so the same run hashes the same on every machine."""
    out = copy.deepcopy(config)
    for section, key, registry in (
        ("method", "name", METHODS),
        ("model", "arch", ARCHS),
        ("data", "name", DATASETS),
    ):
        comp = registry.get(out.get(section, {}).get(key))
        if comp is None:
            continue
        for name, opt in comp.options.items():
            if not opt.in_hash:
                out[section].pop(name, None)
    return out
