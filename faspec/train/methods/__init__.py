"""Learning rules (a registry: name -> Component with options and version).

Each method is a `Method` (an `nn.Module` whose buffers hold its fixed random state); see
`faspec.train.methods.base` for the unit/credit conventions shared by all of them.
"""

from faspec.train.methods.base import (
    COMMON_OPTIONS,
    BlockLocalMethod,
    Method,
    UnitForward,
    block_local_loss,
    exact_gradients,
    head_gradient,
    output_error,
    preserve_batchnorm_stats,
    rms_normalize,
    unit_forward,
    widths,
)
from faspec.train.methods.bp import BP, Frozen
from faspec.train.methods.bridges import Bridge, CreditBridge, StateBridge
from faspec.train.methods.dfa import DFA
from faspec.train.methods.ep import EP
from faspec.train.methods.fa import FA
from faspec.train.methods.pc import PC

__all__ = [
    "BP",
    "Bridge",
    "CreditBridge",
    "COMMON_OPTIONS",
    "DFA",
    "EP",
    "FA",
    "BlockLocalMethod",
    "Frozen",
    "Method",
    "PC",
    "StateBridge",
    "UnitForward",
    "block_local_loss",
    "exact_gradients",
    "head_gradient",
    "output_error",
    "preserve_batchnorm_stats",
    "rms_normalize",
    "unit_forward",
    "widths",
]
