"""The paper audit: every number a LaTeX paper prints, and whether something backs it.

* `latex`: every printed number (`NumberHit`) and results-macro use (`MacroUse`), located
  (the reader: `scanner`, `inputs`, `defs`, `numbers`, `numparts`, `siunitx`, `textscan`,
  `texnames`, `grid`, `hits`);
* `context`, `vocab`: which metric and which setting a number's context names;
* `operand`: which method, quantity and experiment point it names (BACKED needs all three);
* `allow`: allowance files (audit.yaml, [tool.faspec.audit]);
* `values`: each claim's operands measured from the store (`ClaimValue`);
* `macros`: the generated `\\fsv` values file (`faspec macros`);
* `locate`: floats, sections, captions and sentences, for `where:` and stated seed counts;
* `source`: the statuses BACKED / MISMATCH / CONFIG / ALLOWED / UNSOURCED (`audit`), with
  `macro_use` for ``\\fsv`` uses and `findings` for the result types;
* `report`: table, JSON, GitHub annotations, JUnit; `run`: what the CLI commands call.

See docs/audit.md for the rules and the macro names.
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
from faspec.audit.source import STATUSES, AuditResult, Finding, audit
from faspec.audit.values import ClaimValue, claim_values

__all__ = [
    "STATUSES",
    "Allowance",
    "Allowances",
    "AuditInputError",
    "AuditResult",
    "ClaimValue",
    "Extraction",
    "Finding",
    "MacroUse",
    "NumberHit",
    "Source",
    "audit",
    "claim_values",
    "discover",
    "extract",
    "extract_numbers",
    "extract_string",
    "load_allowances",
    "read_tex",
]
