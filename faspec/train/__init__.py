"""faspec.train: training runs, from RunConfig dicts to RunOutputs (needs torch).

Knows nothing of specs, claims or plans (it never imports faspec.spec, faspec.check or
faspec.plan). The components it trains are declared, without torch, in `faspec.components`
(methods bp/fa/dfa/ep/sb/cb/frozen, archs resmlp/student/vit/cnn, datasets teacher/ladder/
cifar10/cifar100/cifar_synth, and entry-point plug-ins); their classes live in
`faspec.train.methods`, `faspec.train.models` and `faspec.train.data`. Config normalization is
`faspec.config`, re-exported here.
"""

from faspec.config import ConfigError, hash_view, normalize_config
from faspec.train import data as data
from faspec.train import methods as methods
from faspec.train import models as models
from faspec.train import registry as registry
from faspec.train.run import RunOutput, build, load_checkpoint, run

__all__ = [
    "ConfigError",
    "RunOutput",
    "build",
    "hash_view",
    "load_checkpoint",
    "normalize_config",
    "run",
]
