"""Property tests: hostile specs, claim strings and store files meet the input contract
(tests/fuzz_inputs.py): faspec's own located error or acceptance, never another exception,
bounded time per input. CI runs a few hundred examples; benchmarks/fuzz.py runs tens of
thousands and prints the counts and the slowest input.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fuzz_inputs import (
    check_result,
    check_spec,
    claim_texts,
    result_texts,
    spec_texts,
    spec_with_claim,
)
from hypothesis import HealthCheck, given, settings

FAST = settings(
    max_examples=150,
    deadline=None,  # the time bound is the contract's own (TIME_LIMIT_S), checked per input
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def setup_module() -> None:
    check_spec("faspec: 1\n")  # imports the registry (torch) once, outside the timed inputs


@FAST
@given(spec_texts())
def test_hostile_specs_meet_the_contract(text):
    check_spec(text)


@FAST
@given(claim_texts())
def test_hostile_claims_meet_the_contract(expr):
    check_spec(spec_with_claim(expr))


@FAST
@given(result_texts())
def test_damaged_result_files_meet_the_contract(data):
    with tempfile.TemporaryDirectory() as d:
        check_result(Path(d), data)


def test_the_generators_reach_every_outcome():
    """The generators are not vacuous: over a fixed sample, specs are both accepted and refused,
    and results come back valid, invalid and as store errors."""
    from hypothesis import find

    find(
        spec_texts(),
        lambda t: check_spec(t) == "spec error",
        settings=settings(database=None, deadline=None),
    )
    find(
        spec_texts(),
        lambda t: check_spec(t) == "accepted",
        settings=settings(database=None, deadline=None),
    )
    with tempfile.TemporaryDirectory() as d:
        for outcome in ("valid", "invalid", "store error"):
            find(
                result_texts(),
                lambda b, o=outcome: check_result(Path(d), b) == o,
                settings=settings(database=None, deadline=None, max_examples=2000),
            )


@settings(FAST, max_examples=60)
@given(spec_texts())
def test_hostile_specs_through_the_cli_exit_0_or_2_located(text):
    """`faspec plan` on a hostile spec file: 0 (accepted) or 2 with `file:line:col:` or
    `file:` errors and no traceback; never 1 or 3. Lone surrogates become invalid UTF-8 bytes."""
    import re

    from click.testing import CliRunner

    from faspec.cli import main

    with tempfile.TemporaryDirectory() as d:
        spec = Path(d) / "f.yaml"
        spec.write_bytes(text.encode("utf-8", "surrogatepass"))
        r = CliRunner().invoke(main, ["plan", str(spec), "--store", str(Path(d) / "results")])
    assert r.exit_code in (0, 2), (r.exit_code, r.output)
    assert "Traceback" not in r.output
    if r.exit_code == 2:
        first = r.stderr.splitlines()[0]
        assert re.match(rf"error: {re.escape(str(spec))}(:\d+:\d+)?: ", first), first
