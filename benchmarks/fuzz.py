"""Fuzz faspec's input handling at scale: tens of thousands of hostile specs, claim strings and
damaged result files, checked against the input contract of tests/fuzz_inputs.py.

    .venv/bin/python benchmarks/fuzz.py [--specs 5000] [--claims 3000] [--results 3000] [--seed 0]

For every input: faspec's own located error or acceptance, never another exception, within
TIME_LIMIT_S. Prints, per generator, how many inputs ended in each outcome, every broken input
(at most 5 shown per generator), and the slowest input with its time; then the times of a few
known worst cases (long `and` chains, deep parentheses, a padded `reported:` value, deep YAML).
Exits 1 when any input broke the contract. The CI runs the same checks on a few hundred
examples (tests/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fuzz_inputs import (  # noqa: E402
    SPEC,
    ContractBroken,
    check_result,
    check_spec,
    claim_texts,
    result_texts,
    spec_texts,
    spec_with_claim,
)
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402


def shown(x: Any, n: int = 200) -> str:
    """An input for the report: for an edited SPEC, only the edited region (with its offset)."""
    if isinstance(x, str) and x.startswith("faspec") and x != SPEC and len(x) > 80:
        i = 0
        while i < min(len(x), len(SPEC)) and x[i] == SPEC[i]:
            i += 1
        j = 0
        while j < min(len(x), len(SPEC)) - i and x[-1 - j] == SPEC[-1 - j]:
            j += 1
        return f"SPEC edited at offset {i}: {x[i : len(x) - j]!r:.{n}} ({len(x)} characters)"
    return f"{x!r:.{n}}"


def run(name: str, strategy: Any, check: Any, n: int, rng_seed: int) -> tuple[Counter, list]:
    counts: Counter = Counter()
    broken: list[str] = []
    slowest: list[tuple[float, Any]] = [(0.0, None)]

    @seed(rng_seed)
    @settings(
        max_examples=n,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def body(x: Any) -> None:
        t0 = time.perf_counter()
        try:
            counts[check(x)] += 1
        except ContractBroken as e:
            counts["BROKEN"] += 1
            broken.append(str(e))
        dt = time.perf_counter() - t0
        if dt > slowest[0][0]:
            slowest[0] = (dt, x)

    t0 = time.perf_counter()
    body()
    wall = time.perf_counter() - t0
    total = sum(counts.values())
    parts = ", ".join(f"{k} {v}" for k, v in counts.most_common())
    print(f"{name}: {total} inputs in {wall:.0f}s ({parts})")
    for b in broken[:5]:
        print(f"  BROKEN: {b[:400]}")
    dt, x = slowest[0]
    print(f"  slowest: {dt * 1000:.0f} ms on {shown(x)}")
    return counts, broken


def worst_cases() -> list[str]:
    """Inputs known to be slow or deep in earlier versions (timed once each); the broken ones."""
    and_chain = " and ".join(f"bp.test_acc > {i / 10000}" for i in range(2000))
    cases = {
        "2,000 and-ed links": spec_with_claim(and_chain),
        "500 nested parentheses": spec_with_claim("(" * 500 + "bp.test_acc > 0.1" + ")" * 500),
        "500 nots": spec_with_claim("not " * 500 + "bp.test_acc > 0.1"),
        "reported: number + 4,000 spaces + letter": SPEC.replace(
            "    seeds: all", '    seeds: all\n    reported: {bp: "0.5' + " " * 4000 + 'x"}'
        ),
        "YAML nested 10,000 deep": SPEC + "x: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "10,000 aliases of aliases": SPEC
        + "a0: &a0 [1, 2]\n"
        + "".join(f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]\n" for i in range(1, 10_000)),
    }
    print("known worst cases (outcome, time):")
    broken = []
    for name, text in cases.items():
        t0 = time.perf_counter()
        try:
            outcome = check_spec(text)
        except ContractBroken as e:
            outcome = f"BROKEN ({str(e)[:120]})"
            broken.append(name)
        print(f"  {name}: {outcome} in {time.perf_counter() - t0:.2f}s")
    return broken


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--specs", type=int, default=5000)
    ap.add_argument("--claims", type=int, default=3000)
    ap.add_argument("--results", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    check_spec("faspec: 1\n")  # import the registry (torch) before anything is timed
    broken = []
    broken += run("specs", spec_texts(), check_spec, args.specs, args.seed)[1]
    claims = claim_texts(max_tokens=200)
    broken += run(
        "claims", claims, lambda e: check_spec(spec_with_claim(e)), args.claims, args.seed
    )[1]
    with tempfile.TemporaryDirectory() as d:
        broken += run(
            "results", result_texts(), lambda b: check_result(Path(d), b), args.results, args.seed
        )[1]
    broken += worst_cases()
    print(f"{len(broken)} inputs broke the contract")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
