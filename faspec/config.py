"""RunConfig normalization: fill every default, check every name and type (no torch).

The plan hashes the *normalized* config, so normalization must be total (every option present,
every component's `version` present) and canonical (an int given for a float option becomes a
float; `measure.epochs` lists are sorted and de-duplicated): two configs that mean the same run
must normalize to the same dict, and a changed default or a version bump must change it.

Errors are `ConfigError(path, message, hint)` with a dotted `path` ("model.blocks") so the spec
loader can point at the YAML line; a typo gets the closest registered name as a hint.

This module is also the one place that decides whether runs may be packed into one batched model
(`pack_refusal`, from the components' `packable` flags): the config check of `pack_seeds: true`,
the verify scheduler and the trainer all ask it. It imports no torch: planning and validating a
spec never load the trainer (the built-in components are declared in `faspec.components`).
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
from typing import Any

import faspec.components  # noqa: F401  (declares the built-in components)
from faspec.protocol import PROTOCOL_OPTIONS, schedule
from faspec.registry import (
    ARCHS,
    DATASETS,
    LAYER_METRICS,
    METHODS,
    METRICS,
    PLUGIN_ERRORS,
    SCALAR_METRICS,
    TRAITS,
    Component,
    ConfigError,
    Option,
    load_plugins,
)

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
    "precision": Option(
        str,
        "fp32",
        "training-step arithmetic: 'bf16' autocasts the training forward/backward on CUDA "
        "(fp32 elsewhere); diagnostics are always fp32",
        choices=("fp32", "bf16"),
    ),
    "compile": Option(
        str,
        "auto",
        "capture the training step (forward, method loss, backward, optimizer) with "
        "torch.compile: 'auto' on CUDA only (mode reduce-overhead: CUDA graphs), 'true' on any "
        "device, 'false' never (eager, as before)",
        choices=("auto", "true", "false"),
        in_hash=False,
    ),
    "pack_seeds": Option(
        str,
        "auto",
        "train this run with others that differ only in seed, penalty, lr, weight decay, "
        "schedule, clipping or measurement as one batched model (faspec.train.pack): 'auto' "
        "where the method and architecture support it, 'true' requires it, 'false' never",
        choices=("auto", "true", "false"),
        in_hash=False,
    ),
}
# Options of the `measure` section that the diagnostics read (faspec.train.measure reads them as
# `MeasureOptions`; `epochs`, `eval_batch` and the nested `protocol` are handled below).
MEASURE_DIAGNOSTIC_OPTIONS: dict[str, Option] = {
    "rho_dirs": Option(
        int, 32, "ρ: random unit directions per sample (M); 0 turns ρ off", minimum=0
    ),
    "rho_batch": Option(
        int,
        None,
        "ρ: samples perturbed in each direction, the first of the evaluation batch "
        "(null: all of it, the paper's n = 1024 with the default eval_batch)",
        nullable=True,
        minimum=1,
    ),
    "rho_eps": Option(float, 1e-3, "ρ: perturbation size ε (absolute, on h_l)", minimum=0.0),
    "nudge_eta": Option(
        float, 0.01, "nudging: step η along the per-sample normalized credit", minimum=0.0
    ),
    "nudge_norm": Option(
        str,
        "rms",
        "nudging: the credit normalization, 'rms' = a/(RMS over features of a + 1e-6) (the "
        "notes' â) or 'unit' = a/||a|| (√d times smaller)",
        choices=("rms", "unit"),
    ),
    "fd_dtype": Option(
        str,
        "float64",
        "dtype of the perturbed forward passes of ρ and nudging (float32 loses ε=1e-3 "
        "against ||h|| >~ 1e4)",
        choices=("float64", "float32"),
    ),
    "stability_batch": Option(
        int, 128, "stability: size of the disjoint batches (>= 2 must fit)", minimum=1
    ),
    "stability_layer": Option(
        int, None, "stability: the layer of the scalar (null: L // 2)", nullable=True, minimum=0
    ),
    "sparsity_tau": Option(
        float,
        1e-6,
        "sparsity: count samples with ||g_L(x)|| above this (stated for sparsity_batch samples)",
        minimum=0.0,
    ),
    "sparsity_batch": Option(
        int,
        1024,
        "sparsity: the evaluation batch N that sparsity_tau is stated for; per-sample g of the "
        "batch-mean CE scales as 1/N, so on N' samples the threshold is tau*N/N' (like (b))",
        minimum=1,
    ),
    "null_draws": Option(
        int, 0, "null calibration at the end: fresh feedback draws (0: off)", minimum=0
    ),
}
MEASURE_OPTIONS: dict[str, Option] = {
    # "epochs" is special-cased: "all" or a list of ints
    "epochs": Option(
        str,
        "all",
        "logged epochs: 'all', a list of ints, or {dense: n, every: k} (0..n, then every k-th); "
        "0 and the last are always logged",
    ),
    "eval_batch": Option(
        int, 1024, "size of the fixed evaluation batch (first test samples)", minimum=1
    ),
    # diagnostics of faspec.train.measure (docs/metrics.md); "protocol" is special-cased too
    **MEASURE_DIAGNOSTIC_OPTIONS,
}
DEFAULT_SEED = 0
DEFAULT_METHOD = "bp"
DEFAULT_ARCH = "resmlp"
DEFAULT_DATA = "teacher"


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
            f"{section}.{key}", f"unknown {kind} {name!r}", _unknown_hint(name, registry)
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


def _unknown_hint(name: str, registry: dict[str, Any]) -> str:
    """A plug-in that failed to load probably holds the unknown name: say so before guessing."""
    if PLUGIN_ERRORS:
        return "; ".join(str(e) for e in PLUGIN_ERRORS)
    return _suggest(name, sorted(registry))


def _metrics_option(raw: Any) -> dict[str, int]:
    """`measure.metrics`: the plug-in metrics a run computes, as {name: version} (sorted).

    The built-in diagnostics are always computed (the trainer's code identity covers them);
    a plug-in metric is computed only when selected, and its name and version enter the hash,
    so one run id never means two metric sets, whatever is installed where it is trained."""
    if raw is None:
        return {}
    if isinstance(raw, dict):  # a normalized config again: {name: version}
        names = list(raw)
        for name, version in raw.items():
            if name in METRICS and version != METRICS[name].version:
                raise ConfigError(
                    f"measure.metrics.{name}",
                    f"metric {name!r} is at version {METRICS[name].version}, the config asks "
                    f"for {version}",
                    "results of another version cannot be produced by this faspec",
                )
    elif isinstance(raw, list):
        names = raw
    else:
        raise ConfigError("measure.metrics", f"must be a list of metric names, got {raw!r}")
    out: dict[str, int] = {}
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise ConfigError(f"measure.metrics[{i}]", f"must be a metric name, got {name!r}")
        if name not in METRICS:
            hint = (
                "a built-in metric is always computed: do not list it"
                if name in SCALAR_METRICS or name in LAYER_METRICS
                else _unknown_hint(name, METRICS)
                if METRICS or PLUGIN_ERRORS
                else "no plug-in metric is installed (docs/plugins.md)"
            )
            raise ConfigError(f"measure.metrics[{i}]", f"unknown metric {name!r}", hint)
        out[name] = METRICS[name].version
    return dict(sorted(out.items()))


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
    rest = {k: v for k, v in raw.items() if k not in ("epochs", "protocol", "metrics")}
    out = _plain_section(
        "measure", rest, {k: o for k, o in MEASURE_OPTIONS.items() if k != "epochs"}
    )
    out["protocol"] = _plain_section("measure.protocol", raw.get("protocol"), PROTOCOL_OPTIONS)
    ep = raw.get("epochs", "all")
    if ep == "all":
        out_ep: str | list[int] = "all"
    elif isinstance(ep, dict):  # compact schedule {dense: n, every: k} -> the explicit list
        for key in ep:
            if key not in ("dense", "every"):
                raise ConfigError(
                    f"measure.epochs.{key}",
                    "unknown key of a schedule",
                    _suggest(key, ("dense", "every")),
                )
        for key, minimum in (("dense", 0), ("every", 1)):
            check_option(
                f"measure.epochs.{key}", Option(int, 0, minimum=minimum), ep.get(key, minimum)
            )
        out_ep = schedule(ep, epochs)
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
    return {"epochs": out_ep, **out, "metrics": _metrics_option(raw.get("metrics"))}


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
    raw_train = config.get("train")
    for key in ("pack_seeds", "compile"):
        if isinstance(raw_train, dict) and isinstance(raw_train.get(key), bool):
            raw_train[key] = str(raw_train[key]).lower()  # YAML's true/false
    train = _plain_section("train", raw_train, TRAIN_OPTIONS)
    measure = _measure_section(config.get("measure"), train["epochs"])
    out = {
        "seed": seed,
        "method": method,
        "model": model,
        "data": data,
        "train": train,
        "measure": measure,
    }
    check_support(out)
    if train["pack_seeds"] == "true":
        why = pack_refusal(out)
        if why is not None:
            raise ConfigError(
                "train.pack_seeds", why, "use 'auto' (falls back to one run per seed)"
            )
    return out


def seedless_key(config: dict[str, Any]) -> str:
    """The identity of a raw config apart from its seed: the seed is the one thing that
    normalization treats on its own, so one normalized config serves every seed of a
    (point, method) (see `reseed`)."""
    return canonical_json({k: v for k, v in config.items() if k != "seed"})


def reseed(normalized: dict[str, Any], seed: Any) -> dict[str, Any]:
    """A normalized config with another seed, checked as `normalize_config` checks it: the spec
    loader normalizes each (point, method) once and the plan stamps the seeds of its runs."""
    out = copy.deepcopy(normalized)
    out["seed"] = check_option("seed", Option(int, DEFAULT_SEED, minimum=0), seed)
    return out


def check_support(cfg: dict[str, Any]) -> None:
    """The support matrix: the method must find the traits it requires in the architecture,
    the architecture those it requires in the dataset; then each component's own `check`.
    Rejecting here (not mid-run) lets `faspec plan` point at the spec line."""
    method = METHODS[cfg["method"]["name"]]
    arch = ARCHS[cfg["model"]["arch"]]
    data = DATASETS[cfg["data"]["name"]]
    for user, kind, provider, pkind, registry, path in (
        (method, "method", arch, "architecture", ARCHS, "method.name"),
        (arch, "architecture", data, "dataset", DATASETS, "model.arch"),
    ):
        missing = sorted(user.requires - provider.traits)
        if missing:
            why = "; ".join(f"{t}: {TRAITS.get(t, t)}" for t in missing)
            ok = sorted(n for n, c in registry.items() if user.requires <= c.traits)
            raise ConfigError(
                path,
                f"{kind} {user.name!r} does not run on {pkind} {provider.name!r}, which lacks "
                f"what it requires ({why})",
                f"{pkind}s that support it: {', '.join(ok) or 'none registered'}",
            )
    for comp in (method, arch, data):
        if comp.check is not None:
            comp.check(cfg)


HASH_CHARS = 16


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def run_hash(config: dict[str, Any]) -> str:
    """The run id: sha256 of the canonical JSON of what identifies the result (see hash_view).
    Here, beside `hash_view`, so that the store and the plan both name runs without importing
    each other."""
    return hashlib.sha256(canonical_json(hash_view(config)).encode()).hexdigest()[:HASH_CHARS]


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
    train = out.get("train")
    if isinstance(train, dict):
        for name, opt in TRAIN_OPTIONS.items():
            if not opt.in_hash:  # pack_seeds: how runs are scheduled, not what they compute
                train.pop(name, None)
        if train.get("precision") == "fp32":  # the default leaves every fp32 run's hash as it
            train.pop("precision")  # was before the option existed
    measure = out.get("measure")
    if isinstance(measure, dict) and isinstance(measure.get("protocol"), dict):
        for name, opt in PROTOCOL_OPTIONS.items():
            if not opt.in_hash:  # baseline, stability_role: the check side's, not the run's
                measure["protocol"].pop(name, None)
    if isinstance(measure, dict) and not measure.get("metrics"):
        measure.pop("metrics", None)  # no plug-in metric: the hash a run had before the option
    return out


def pack_refusal(cfg: dict[str, Any]) -> str | None:
    """Why runs of this normalized config cannot be trained as members of one batched model, or
    None if they can: the method and the architecture must both be declared `packable` (their
    training step runs under vmap: no BatchNorm statistics, no autograd.grad inside)."""
    method, arch = METHODS.get(cfg["method"]["name"]), ARCHS.get(cfg["model"]["arch"])
    if method is None or arch is None:
        return "the method or architecture is not registered"
    if not method.packable:
        ok = ", ".join(n for n, c in sorted(METHODS.items()) if c.packable)
        return f"method {method.name!r} has no packed training step (packable: {ok})"
    if not arch.packable:
        ok = ", ".join(n for n, c in sorted(ARCHS.items()) if c.packable)
        return f"architecture {arch.name!r} is not packable (packable: {ok})"
    if (cfg.get("measure") or {}).get("metrics"):
        return "plug-in metrics (measure.metrics) are measured on unpacked runs only"
    return None


# What members of one pack may differ in: nothing here changes a tensor's shape or the loop's
# length, so K runs that agree on the rest are one batched model (faspec.train.stack).
PACK_FREE: dict[str, tuple[str, ...] | None] = {
    "seed": None,  # None: the whole section
    "method": ("penalty", "targets"),
    "train": ("lr", "weight_decay", "schedule", "grad_clip", "pack_seeds"),
    "measure": None,
}


def pack_key(cfg: dict[str, Any]) -> dict[str, Any]:
    """The part of a normalized config that members of one pack must share (see PACK_FREE)."""
    out: dict[str, Any] = {}
    for section, value in cfg.items():
        free = PACK_FREE.get(section, ())
        if free is None:
            continue
        if isinstance(value, dict) and free:
            value = {k: v for k, v in value.items() if k not in free}
        out[section] = value
    return out


# Entry-point plug-ins are loaded once this module is complete, so a plug-in's declaration
# module may import faspec.config (or faspec.components, faspec.plugin) without a circle.
load_plugins()
