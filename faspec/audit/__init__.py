"""The paper audit: every number a LaTeX paper prints, and whether something backs it.

Phase 1 provides the extractor (`latex`) and the allowance files (`allow`); sourcing numbers
against claims, configs and the store comes on top of these.
"""

from faspec.audit.allow import Allowance, Allowances, discover, load_allowances
from faspec.audit.errors import AuditInputError
from faspec.audit.latex import (
    Extraction,
    MacroUse,
    NumberHit,
    Source,
    extract,
    extract_numbers,
    extract_string,
    read_tex,
)

__all__ = [
    "Allowance",
    "Allowances",
    "AuditInputError",
    "Extraction",
    "MacroUse",
    "NumberHit",
    "Source",
    "discover",
    "extract",
    "extract_numbers",
    "extract_string",
    "load_allowances",
    "read_tex",
]
