"""faspec.train: one training run, from a RunConfig dict to a RunOutput.

Knows nothing of specs, claims or plans (it never imports faspec.spec, faspec.check or
faspec.plan). Importing it registers the built-in components (methods bp/fa/dfa/ep/sb/cb/
frozen, archs resmlp/student/vit/cnn, datasets teacher/ladder/cifar10/cifar100/cifar_synth) and
any entry-point plug-ins.
"""

from faspec.train import data as data
from faspec.train import methods as methods
from faspec.train import models as models
from faspec.train.config import ConfigError, hash_view, normalize_config
from faspec.train.registry import load_plugins
from faspec.train.run import RunOutput, build, load_checkpoint, run

load_plugins()

__all__ = [
    "ConfigError",
    "RunOutput",
    "build",
    "hash_view",
    "load_checkpoint",
    "normalize_config",
    "run",
]
