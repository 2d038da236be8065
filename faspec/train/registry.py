"""The component registries under their old name: this module *is* `faspec.registry`.

Plug-ins written as the README shows (`from faspec.train.registry import METHODS, Option,
register`) keep working, and so does anything that reads or patches the module's own state
(`registry._plugins_loaded`): importing `faspec.train.registry` gives the `faspec.registry`
module object itself. New code imports `faspec.registry`, which needs no torch.
"""

import sys

from faspec import registry as _registry

sys.modules[__name__] = _registry
