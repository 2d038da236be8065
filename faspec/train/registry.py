"""The component registries under their old name: `faspec.registry`, re-exported.

Plug-ins written as the README shows (`from faspec.train.registry import METHODS, Option,
register`) keep working; new code imports `faspec.registry`, which needs no torch.
"""

from faspec.registry import (
    ARCHS,
    DATASETS,
    FINAL_ONLY,
    LAYER_METRICS,
    METHODS,
    SCALAR_METRICS,
    TRAITS,
    Component,
    ConfigError,
    LazyFactory,
    Option,
    arch_names,
    dataset_names,
    declare,
    load_plugins,
    method_names,
    metric_names,
    register,
)

__all__ = [
    "ARCHS",
    "DATASETS",
    "FINAL_ONLY",
    "LAYER_METRICS",
    "METHODS",
    "SCALAR_METRICS",
    "TRAITS",
    "Component",
    "ConfigError",
    "LazyFactory",
    "Option",
    "arch_names",
    "dataset_names",
    "declare",
    "load_plugins",
    "method_names",
    "metric_names",
    "register",
]
