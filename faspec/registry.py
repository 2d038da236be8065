"""Registries of methods, architectures, datasets and metrics (no torch).

The spec validator and `faspec methods` read these to name what exists (and suggest the closest
name on a typo); the trainer reads them to build a run. Each component carries a version that
goes into the run hash, so changing what a component computes invalidates cached results.
Third-party packages add components through the `faspec.methods` / `faspec.archs` /
`faspec.datasets` / `faspec.metrics` entry-point groups (see `load_plugins`; the declarations
they use are `faspec.plugin`, the contract per kind is docs/plugins.md).

This module imports nothing but the standard library, so the check path (spec, plan, check,
report, audit, results) reads names, versions, options, traits and support checks without torch.
The built-in components are *declared* in `faspec.components` with a lazy factory, a
"module:attribute" string that is imported on first call (`LazyFactory`), so only training pays
for torch. `faspec.train.registry` is the same module under its old name (plug-ins written against
it keep working); `register(METHODS, name, ...)(Class)` takes a class or function as before.

Factory signatures (what a plug-in must provide):

* method:  ``factory(model, num_classes, generator, **options) -> faspec.train.methods.Method``
* arch:    ``factory(in_dim, num_classes, **options) -> nn.Module`` honouring the arch contract
  (see ``faspec.train.models``)
* dataset: ``factory(**options) -> faspec.train.data.Data`` (CPU tensors), plus
  ``describe(**options) -> {"in_dim": int, "num_classes": int}`` that needs no data on disk
  (used to rebuild a model from a checkpoint).

Compatibility (the support matrix, checked by `normalize_config`): a component lists the
`traits` it provides and the traits it `requires` of the next one — a method of the
architecture, an architecture of the dataset (see `TRAITS`). A `check(config)` callable may
validate option combinations that traits cannot express (a ViT patch that must divide the
image side); it raises `ConfigError` (defined here, beside the registries whose checks raise it).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class ConfigError(Exception):
    """An invalid RunConfig. `path` is a dotted key ("model.blocks"), `message` says what is
    wrong in words, `hint` says how to fix it (e.g. "did you mean 'dfa'?")."""

    def __init__(self, path: str, message: str, hint: str = "") -> None:
        self.path = path
        self.message = message
        self.hint = hint
        super().__init__(f"{path}: {message}" + (f" ({hint})" if hint else ""))


_UNSET = object()


class LazyFactory:
    """A factory named by "module:attribute", imported on first use.

    Calling it calls the target; any other attribute is the target's (`METHODS["fa"].factory.loss`
    is `FA.loss`). Declaring built-ins this way keeps torch out of every process that only
    validates or plans."""

    def __init__(self, target: str) -> None:
        if ":" not in target:
            raise ValueError(f"a lazy factory is 'module:attribute', got {target!r}")
        self.target = target
        self._obj: Any = None

    def resolve(self) -> Any:
        if self._obj is None:
            module, _, attr = self.target.partition(":")
            self._obj = getattr(importlib.import_module(module), attr)
        return self._obj

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("target", "_obj", "_saved"):
            raise AttributeError(name)
        return getattr(self.resolve(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("target", "_obj", "_saved"):
            object.__setattr__(self, name, value)
            return
        # e.g. a test patching a method of the class: patch the class itself, remembering what
        # the class itself held, so that deleting the attribute here restores exactly that
        obj = self.resolve()
        saved = self.__dict__.setdefault("_saved", {})
        if name not in saved:
            saved[name] = vars(obj).get(name, _UNSET) if isinstance(obj, type) else _UNSET
        setattr(obj, name, value)

    def __delattr__(self, name: str) -> None:
        obj = self.resolve()
        original = self.__dict__.get("_saved", {}).pop(name, _UNSET)
        if original is _UNSET:
            delattr(obj, name)
        else:
            setattr(obj, name, original)

    def __repr__(self) -> str:
        return f"LazyFactory({self.target!r})"


@dataclass
class Option:
    """One typed option of a component: `type` is one of bool, int, float, str; `choices` optional.

    `minimum` bounds numeric values from below (inclusive). `in_hash=False` marks options that say
    *where* something is, not *what* is computed (a data directory, whether to download): a
    plan may leave them out of the run hash so that the same run on two machines hashes alike.
    """

    type: type
    default: Any
    doc: str = ""
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    minimum: float | None = None
    in_hash: bool = True


@dataclass
class Component:
    name: str
    version: int
    factory: Callable[..., Any]
    options: dict[str, Option] = field(default_factory=dict)
    doc: str = ""
    # datasets only: options -> {"in_dim", "num_classes"} without loading any data
    describe: Callable[..., dict[str, int]] | None = None
    # the support matrix: traits this component provides / requires of the next one (TRAITS)
    traits: frozenset[str] = frozenset()
    requires: frozenset[str] = frozenset()
    # normalized config -> None, raising ConfigError for an unsupported option combination
    check: Callable[[dict[str, Any]], None] | None = None
    # methods and architectures: whether runs of it may be trained as one batched model (vmap
    # over a leading member dimension; faspec.train.pack). A plug-in is not, unless it says so.
    packable: bool = False


# What a component may provide or require (methods require of architectures, architectures
# of datasets). The words are printed in errors and by `faspec methods`.
TRAITS: dict[str, str] = {
    "equal_width": "every hidden state h_0..h_L has one width (FA's d×d feedback B_l)",
    "image": "inputs are 3×H×W images, flattened (conv and patch architectures)",
}


@dataclass
class Metric(Component):
    """A metric component (docs/plugins.md, "Metrics"): its factory receives the epoch's
    `faspec.train.measure.Probe` and returns one value: a float (or 0-d tensor, or None) when
    `form` is "scalar", a list of L+1 per-layer values when `form` is "layer" (the name then
    ends in `_layers`). `scale` ("linear" or "log") and the margins `close`/`much` (linear) or
    `close_ratio`/`much_ratio` (log) are what claims on it use unless a spec's `stats:` says
    otherwise; `better` ("higher", "lower" or "" for neither) is documentation for readers."""

    form: str = "scalar"
    scale: str = "linear"
    close: float | None = None
    much: float | None = None
    close_ratio: float | None = None
    much_ratio: float | None = None
    better: str = ""


METHODS: dict[str, Component] = {}
ARCHS: dict[str, Component] = {}
DATASETS: dict[str, Component] = {}
# Metrics a run computes only when its spec selects them (`measure.metrics`): plug-ins. The
# built-in diagnostics (SCALAR_METRICS / LAYER_METRICS) are always computed.
METRICS: dict[str, Metric] = {}

# Scalar metrics a run logs each logged epoch (claims use them as `method.metric`), and the
# per-layer lists (claims index them: `method.cos_layers[0]`). `None` values mean "not defined
# for this method" (e.g. cosine for a method without a credit).
SCALAR_METRICS: dict[str, str] = {
    "test_acc": "accuracy on the test set",
    "train_loss": "mean training cross-entropy over the epoch's minibatches (epoch 0: at init)",
    "h_norm": "median per-sample ||h_L|| on the evaluation batch",
    "g_norm": "median per-sample ||dCE/dh_L|| (batch-mean CE, fp32) on the evaluation batch",
    "deep_cos": "mean over layers 1..L of the per-sample cosine of the credit to the BP gradient",
    "gamma": "mean over layers 0..L of the same cosine",
    "growth": "max over l of median ||h_{l+1}|| / median ||h_l||",
    # credit quality and the protocol (faspec.train.measure / protocol; docs/metrics.md)
    "rho": "mean over layers 1..L of rho_layers (perturbation correlation; BP ~ 1)",
    "nudge": "mean over layers 1..L of nudge_layers (< 0: stepping against the credit helps)",
    "loss_decrease": "first epoch's train_loss minus train_loss now (> 0: it went down; C23)",
    "loss_decrease_init": "train_loss at epoch 0 (init) minus train_loss now",
    "sparsity": "fraction of evaluation samples with ||g_L(x)|| > measure.sparsity_tau (1e-6 "
    "at measure.sparsity_batch = 1024 samples, scaled by 1024/eval_batch like (b)'s floor)",
    "stability": "cross-batch direction stability of g at layer L//2 (protocol (c))",
    "ep_residual": "EP only: ||dE/ds|| / ||kappa s|| at the end of the free phase (0: converged)",
    "ep_converged": "EP only: fraction of samples whose free phase reached method.tol within "
    "method.free_steps (< 1: cut short or stalled)",
    "ref_degenerate": "1 when g_norm < (b)'s floor at this epoch (protocol.g_floor scaled by "
    "g_floor_batch/eval_batch): the BP reference has vanished, cosines are kept but suspect",
    "fired_a": "1 once (a) growth > protocol.growth has fired at a logged epoch <= this one",
    "fired_b": "1 once (b) g_norm < protocol.g_floor (scaled by g_floor_batch/eval_batch) has "
    "fired at a logged epoch <= this one",
    "fired_c": "1 when (c) stability > protocol.stability fires at this epoch (stability_at: "
    "final, the default); with stability_at: any, 1 once it has fired at an epoch <= this one",
    "trustworthy": "0 once a run-decided diagnostic of the verdict set has fired; null while "
    "one is pending ((d), decided by the check side, always is in the paper and public sets); "
    "1 only when every diagnostic of the verdict set is decided and none fired",
    # final only (result["final"])
    "growth_max": "max of growth over the logged epochs ((a)'s flip threshold)",
    "g_norm_min": "min of g_norm over the logged epochs ((b)'s flip threshold)",
    "stability_max": "max of stability over the logged epochs ((c)'s flip threshold)",
    "first_fire_a": "first logged epoch at which (a) fired, null if never",
    "first_fire_b": "first logged epoch at which (b) fired, null if never",
    "first_fire_c": "stability_at final: first logged epoch from which (c) fires at every later "
    "one, null unless it fires at the end; stability_at any: first epoch it fired",
    "null_deep_cos": "deep_cos with fresh feedback draws: mean over measure.null_draws draws",
    "null_deep_cos_std": "per-layer std (ddof=1) over draws of the fresh-feedback cos_l, "
    "averaged over layers 1..L (C18's +-)",
    "null_deep_cos_draw_std": "std (ddof=1) over draws of the per-draw fresh-feedback deep_cos",
    "null_gamma": "gamma with fresh feedback draws: mean over draws",
    "null_gamma_std": "std (ddof=1) over draws of the fresh-feedback gamma",
    "null_draws": "number of fresh feedback draws behind the null_* fields (null: off)",
}
LAYER_METRICS: dict[str, str] = {
    "h_norm_layers": "median per-sample ||h_l||, l = 0..L",
    "g_norm_layers": "median per-sample ||g_l||, l = 0..L",
    "cos_layers": "per-sample-mean cosine of credit a_l to g_l, l = 0..L",
    "rho_layers": "Pearson r of eps<a_l,u> vs CE(h_l+eps u)-CE(h_l), over samples x directions",
    "nudge_layers": "batch-mean CE change after h_l -= eta a_l/(RMS(a_l)+1e-6) (measure."
    "nudge_norm: rms; 'unit': a_l/||a_l||), l = 0..L",
    "stability_layers": "cross-batch direction stability of g_l, l = 0..L",
    # final only
    "null_cos_layers": "cos_layers with fresh feedback draws: mean over draws",
    "null_cos_std_layers": "std (ddof=1) over fresh feedback draws of cos_l",
}
# Names only in result["final"] (run-level), never in a log entry: `by epoch N` cannot use them.
FINAL_ONLY: frozenset[str] = frozenset(
    {
        "growth_max",
        "g_norm_min",
        "stability_max",
        "first_fire_a",
        "first_fire_b",
        "first_fire_c",
        "null_deep_cos",
        "null_deep_cos_std",
        "null_deep_cos_draw_std",
        "null_gamma",
        "null_gamma_std",
        "null_draws",
        "null_cos_layers",
        "null_cos_std_layers",
    }
)


def metric_names() -> list[str]:
    """Every name a claim may use: the built-in diagnostics and the installed plug-in metrics
    (a claim on a plug-in metric also needs its experiment to select it: `measure.metrics`)."""
    return [*SCALAR_METRICS, *LAYER_METRICS, *sorted(METRICS)]


def method_names() -> list[str]:
    return sorted(METHODS)


def arch_names() -> list[str]:
    return sorted(ARCHS)


def dataset_names() -> list[str]:
    return sorted(DATASETS)


def register(
    registry: dict[str, Component],
    name: str,
    version: int,
    options: dict[str, Option] | None = None,
    doc: str = "",
    describe: Callable[..., dict[str, int]] | None = None,
    traits: tuple[str, ...] = (),
    requires: tuple[str, ...] = (),
    check: Callable[[dict[str, Any]], None] | None = None,
    packable: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register `factory` under `name`. Re-registering a name is an error, because
    two components answering to one name would make a cached result ambiguous."""

    def deco(factory: Callable[..., Any]) -> Callable[..., Any]:
        if name in registry:
            raise ValueError(f"component {name!r} is already registered")
        registry[name] = Component(
            name=name,
            version=version,
            factory=factory,
            options=dict(options or {}),
            doc=doc or (factory.__doc__ or "").strip().split("\n")[0],
            describe=describe,
            traits=frozenset(traits),
            requires=frozenset(requires),
            check=check,
            packable=packable,
        )
        return factory

    return deco


def declare(registry: dict[str, Component], name: str, factory: str, **kwargs: Any) -> None:
    """Register a component whose factory is imported only when first called: `factory` is
    "module:attribute" (see `LazyFactory`); keywords as for `register`."""
    register(registry, name, **kwargs)(LazyFactory(factory))


ENTRY_POINT_GROUPS: dict[str, dict[str, Any]] = {
    "faspec.methods": METHODS,
    "faspec.archs": ARCHS,
    "faspec.datasets": DATASETS,
    "faspec.metrics": METRICS,
}
_KIND = {
    "faspec.methods": "method",
    "faspec.archs": "architecture",
    "faspec.datasets": "dataset",
    "faspec.metrics": "metric",
}
_plugins_loaded = False


@dataclass(frozen=True)
class PluginError:
    """A plug-in that could not be loaded: which entry point, of which package, and why."""

    group: str
    name: str
    value: str
    package: str
    error: str

    def __str__(self) -> str:
        return (
            f"plug-in {self.name!r} ({self.group} = {self.value!r}) of package "
            f"{self.package!r} failed to load: {self.error}"
        )


# Filled by `load_plugins`: the CLI refuses to plan while one is here (exit 2), and the
# unknown-name error names them (the component the user asked for is probably one of them).
PLUGIN_ERRORS: list[PluginError] = []


def load_plugins() -> None:
    """Register third-party components from entry points, once per process.

    An entry point must load to a `Component` (a `Metric` in `faspec.metrics`), or a list of
    them. A plug-in that fails is recorded in `PLUGIN_ERRORS` (package and exception), not
    raised here: importing faspec must work so that the CLI can say what failed, and it then
    refuses to plan (`plugin_problem`).
    """
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for group, registry in ENTRY_POINT_GROUPS.items():
        for ep in entry_points(group=group):
            dist = getattr(ep, "dist", None)
            package = getattr(dist, "name", None) or ep.value.partition(":")[0].split(".")[0]
            try:
                obj = ep.load()
                comps = obj if isinstance(obj, list | tuple) else [obj]
                for comp in comps:
                    want = Metric if group == "faspec.metrics" else Component
                    if not isinstance(comp, want):
                        raise TypeError(
                            f"{ep.value} is {type(comp).__name__}, not a faspec {want.__name__} "
                            f"(declare it with faspec.plugin.{_KIND[group].replace('architecture', 'arch')})"
                        )
                    if comp.name in registry:
                        raise ValueError(f"{_KIND[group]} {comp.name!r} is already registered")
                    registry[comp.name] = comp
            except Exception as exc:  # recorded; the CLI refuses to plan (exit 2)
                PLUGIN_ERRORS.append(
                    PluginError(group, ep.name, ep.value, package, f"{type(exc).__name__}: {exc}")
                )


def plugin_problem() -> str | None:
    """One message naming every plug-in that failed to load, or None when all loaded."""
    load_plugins()
    if not PLUGIN_ERRORS:
        return None
    return "; ".join(str(e) for e in PLUGIN_ERRORS) + (
        " (fix or uninstall the package; `pip show <package>` says where it is)"
    )


def require_registered(cfg: dict[str, Any]) -> None:
    """Raise a LookupError that says what to do when a run's components are not registered in
    this process: a component added by hand in the driver (`faspec.plugin.add`) never reaches
    a Ray worker, which imports faspec afresh and sees only installed entry points."""
    load_plugins()
    wanted = [
        ("method", cfg["method"]["name"], METHODS),
        ("architecture", cfg["model"]["arch"], ARCHS),
    ]
    wanted.append(("dataset", cfg["data"]["name"], DATASETS))
    wanted += [("metric", m, METRICS) for m in (cfg.get("measure") or {}).get("metrics") or {}]
    for kind, name, registry in wanted:
        if name not in registry:
            failed = "; ".join(str(e) for e in PLUGIN_ERRORS)
            raise LookupError(
                f"{kind} {name!r} is not registered in this process"
                + (f" ({failed})" if failed else "")
                + ": a component added by hand in the driver (faspec.plugin.add, register) does"
                " not reach Ray workers; install its package, with its entry point, where the"
                " workers run (docs/plugins.md, 'On a Ray cluster')"
            )
