"""Declaring third-party components: methods, architectures, datasets, metrics (no torch).

A plug-in package declares its components in a module that imports only this one (never
torch, never its own torch code), and names them in its entry points; faspec imports that
module in every process (the CLI, the planner, each Ray worker) to know the names, options
and versions, and imports the torch code only when a run is trained. docs/plugins.md gives the
contract of each kind and a complete example package (examples/plugin/).

    # faspec_signsym/components.py
    from faspec.plugin import Option, method
    SIGNSYM = method("signsym", "faspec_signsym.method:SignSym", version=1,
                     options={"scale": Option(float, 1.0, "feedback scale")})

    # pyproject.toml
    [project.entry-points."faspec.methods"]
    signsym = "faspec_signsym.components:SIGNSYM"

Each function returns the `Component` (a `Metric` for `metric`) that the entry point must
load to; `add` registers components in this process only (a notebook, a test): Ray workers
never see those.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faspec.components import COMMON_OPTIONS
from faspec.registry import (
    ARCHS,
    DATASETS,
    METHODS,
    METRICS,
    Component,
    ConfigError,
    LazyFactory,
    Metric,
    Option,
)

__all__ = [
    "COMMON_OPTIONS",
    "Component",
    "ConfigError",
    "Metric",
    "Option",
    "add",
    "arch",
    "dataset",
    "method",
    "metric",
]

Factory = str | Callable[..., Any]


def _factory(f: Factory) -> Callable[..., Any]:
    return LazyFactory(f) if isinstance(f, str) else f


def _component(name: str, factory: Factory, version: int, doc: str, **kw: Any) -> Component:
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{name!r}: version must be an integer >= 1, got {version!r}")
    for key in ("traits", "requires"):
        kw[key] = frozenset(kw.get(key) or ())
    kw["options"] = dict(kw.get("options") or {})
    return Component(name=name, version=version, factory=_factory(factory), doc=doc, **kw)


def method(
    name: str,
    factory: Factory,
    version: int,
    options: dict[str, Option] | None = None,
    doc: str = "",
    requires: tuple[str, ...] = (),
    check: Callable[[dict[str, Any]], None] | None = None,
) -> Component:
    """A learning rule: `factory(model, num_classes, generator, **options) -> Method` (a
    `faspec.train.methods.base.Method`). Spread `COMMON_OPTIONS` (`penalty`, `targets`, which
    `BlockLocalMethod` reads) into `options` for a block-local method."""
    return _component(name, factory, version, doc, options=options, requires=requires, check=check)


def arch(
    name: str,
    factory: Factory,
    version: int,
    options: dict[str, Option] | None = None,
    doc: str = "",
    traits: tuple[str, ...] = (),
    requires: tuple[str, ...] = (),
    check: Callable[[dict[str, Any]], None] | None = None,
) -> Component:
    """An architecture: `factory(in_dim, num_classes, **options) -> nn.Module` exposing
    `widths` and the hidden states h_0..h_L (`faspec.train.models.base`)."""
    return _component(
        name, factory, version, doc, options=options, traits=traits, requires=requires, check=check
    )


def dataset(
    name: str,
    factory: Factory,
    version: int,
    describe: Callable[..., dict[str, int]],
    options: dict[str, Option] | None = None,
    doc: str = "",
    traits: tuple[str, ...] = (),
    check: Callable[[dict[str, Any]], None] | None = None,
) -> Component:
    """A dataset: `factory(**options) -> faspec.train.data.Data` (CPU tensors, float32 x of
    shape (n, in_dim), int64 labels), and `describe(**options) -> {"in_dim", "num_classes"}`,
    torch-free and without reading data (the planner and the checks of architectures call it)."""
    return _component(
        name, factory, version, doc, options=options, describe=describe, traits=traits, check=check
    )


def metric(
    name: str,
    factory: Factory,
    version: int,
    doc: str = "",
    form: str = "scalar",
    scale: str = "linear",
    close: float | None = None,
    much: float | None = None,
    close_ratio: float | None = None,
    much_ratio: float | None = None,
    better: str = "",
) -> Metric:
    """A metric: `factory(probe) -> value`, called at every logged epoch of a run whose spec
    selects it (`measure: {metrics: [name]}`); see `Metric` and docs/plugins.md."""
    if form not in ("scalar", "layer"):
        raise ValueError(f"metric {name!r}: form must be 'scalar' or 'layer', got {form!r}")
    if (form == "layer") != name.endswith("_layers"):
        raise ValueError(f"metric {name!r}: a name ends in '_layers' exactly when form is 'layer'")
    if scale not in ("linear", "log"):
        raise ValueError(f"metric {name!r}: scale must be 'linear' or 'log', got {scale!r}")
    if better not in ("", "higher", "lower"):
        raise ValueError(f"metric {name!r}: better must be 'higher', 'lower' or ''")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{name!r}: version must be an integer >= 1, got {version!r}")
    return Metric(
        name=name,
        version=version,
        factory=_factory(factory),
        doc=doc,
        form=form,
        scale=scale,
        close=close,
        much=much,
        close_ratio=close_ratio,
        much_ratio=much_ratio,
        better=better,
    )


_REGISTRY = {"method": METHODS, "arch": ARCHS, "dataset": DATASETS}


def add(kind: str, *components: Component) -> None:
    """Register components in this process only (`kind`: method, arch, dataset, metric); for
    notebooks and tests. Ray workers never see them: install a package with entry points."""
    registry: dict[str, Any] = METRICS if kind == "metric" else _REGISTRY[kind]
    for comp in components:
        if comp.name in registry:
            raise ValueError(f"{kind} {comp.name!r} is already registered")
        registry[comp.name] = comp
