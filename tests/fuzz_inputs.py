"""Hostile-input generators and the contract they are checked against (shared by
tests/test_fuzz.py, which runs a few hundred examples in CI, and benchmarks/fuzz.py, which runs
tens of thousands and prints the counts and the slowest input).

The contract, for every generated input: faspec either accepts it or raises its own located
error (`SpecError` with `file:line:col`, `PlanError`, `StoreError` naming a file); never another
exception; and within TIME_LIMIT_S. A store read may also return a result marked `invalid`, whose
error names the file and the field. `check_*` return the outcome's name for counting and raise
`ContractBroken` otherwise.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

TIME_LIMIT_S = 5.0  # per input, on a busy 2-core CI machine; real inputs take milliseconds

# Written as text on purpose (not tests/helpers.spec_text): the generators mutate its bytes
# and lines, and it uses YAML features (flow maps, labels) as a person writes them.
SPEC = """\
faspec: 1
name: tiny
title: a small spec
defaults:
  data: {name: teacher, seed: 0, n_train: 256, n_test: 128}
  model: {arch: resmlp, d: 8, blocks: 2}
  train: {epochs: 2, batch_size: 64, lr: 1.0e-3}
  seeds: [1, 2, 3]
  resources: {cpus: 1, gpus: 0}
experiments:
  main:
    methods: [bp, {method: fa, as: fa_pen, penalty: 0.1}]
  depth:
    methods: [bp]
    sweep: {model.blocks: [2, 4]}
claims:
  - id: c1
    in: main
    expect: bp.test_acc > fa_pen.test_acc
    seeds: all
  - id: c2
    in: depth
    for_each: model.blocks
    expect: bp.test_acc > 0.1
stats:
  alpha: 0.05
  metrics: {test_acc: {close: 0.01}}
"""

HOSTILE_SCALARS = [
    "9" * 5000,
    "-" + "9" * 25,
    str(2**63),
    "1e999",
    "-1e999",
    ".inf",
    "-.inf",
    ".nan",
    "2024-05-01",
    "2024-05-01 10:00:00",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!timestamp 2001-12-14",
    "!!int abc",
    "!!float x",
    "!!bool perhaps",
    "!foo bar",
    "&a [*a]",
    "*nowhere",
    '"x\\n"',
    '"\\0"',
    "\x00",
    "\x07",
    "\x1b[31m",
    "\t",
    "[" * 300 + "]" * 300,
    "{a: " * 200 + "1" + "}" * 200,
    "'" + "x" * 10_000 + "'",
    "0x" + "f" * 40,
    "0o777",
    "1:30:00",
    "~",
    "null",
    "[]",
    "{}",
    "-",
    "? [a]",
    "=",
    "<<: {a: 1}",
    "é" * 50,
    "\ufeff",
    "\ud800",
]

_SCALAR_RE = re.compile(r"(?<=: )[^\s{}\[\],][^\n,}\]]*|(?<=\[)[^\s\[\]{},]+|(?<=, )[^\s\[\]{},]+")
_CLAIM_TOKENS = [
    "bp",
    "fa_pen",
    "fa",
    "dfa",
    ".",
    "test_acc",
    "g_norm",
    "cos_layers",
    "[",
    "]",
    "0",
    "3",
    "-1",
    "99999999999999999999999",
    "1e999",
    "0.1",
    "nan",
    "inf",
    ">",
    "<",
    ">=",
    "<=",
    ">>",
    "<<",
    "~=",
    "and",
    "or",
    "not",
    "(",
    ")",
    "by",
    "epoch",
    "is",
    "trustworthy",
    "walked_back",
    "fires",
    "never",
    "a+b",
    "first",
    "at",
    " ",
    "\n",
    "\t",
    "$",
    "é",
]


@st.composite
def spec_texts(draw: Any) -> str:
    """The valid SPEC with one to three hostile edits: a scalar replaced, text inserted or
    deleted, or random characters spliced in."""
    text = SPEC
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["scalar", "scalar", "insert", "delete", "splice"]))
        if kind == "scalar":
            spots = list(_SCALAR_RE.finditer(text))
            m = draw(st.sampled_from(spots))
            value = draw(st.sampled_from(HOSTILE_SCALARS) | st.text(max_size=20))
            text = text[: m.start()] + value + text[m.end() :]
        elif kind == "insert":
            i = draw(st.integers(0, len(text)))
            piece = draw(st.sampled_from(HOSTILE_SCALARS))
            text = text[:i] + piece + text[i:]
        elif kind == "delete":
            i = draw(st.integers(0, len(text)))
            j = draw(st.integers(i, min(len(text), i + 40)))
            text = text[:i] + text[j:]
        else:
            i = draw(st.integers(0, len(text)))
            text = text[:i] + draw(st.text(max_size=8)) + text[i:]
    return text


_OPERAND = st.sampled_from(
    [
        "bp.test_acc",
        "fa_pen.test_acc",
        "bp.g_norm",
        "fa_pen.h_norm",
        "bp.cos_layers[0]",
        "bp",
        "fa_pen",
        "dfa.x",
    ]
)
_CONST = st.sampled_from(["0.1", "0", "-3", "1e-3", "99999999999999999999999", "1e999", "nan"])
_OP = st.sampled_from([">", "<", ">=", "<=", ">>", "<<", "~="])
_EPOCH = st.sampled_from(["", "", " by epoch 1", " by epoch 99999999999999999999", " by epoch -1"])
_COMPARISON = st.builds(
    lambda a, op, b, ep: f"{a} {op} {b}{ep}", _OPERAND, _OP, _OPERAND | _CONST, _EPOCH
)
_PREDICATE = st.builds(
    lambda m, p: f"{m} {p}",
    st.sampled_from(["bp", "fa_pen", "dfa"]),
    st.sampled_from(
        ["is trustworthy", "is walked_back", "fires a+b", "never fires", "fires d by epoch 2"]
    ),
)
_GRAMMAR = st.recursive(
    _COMPARISON | _PREDICATE,
    lambda e: (
        st.builds(lambda x: f"({x})", e)
        | st.builds(lambda x: f"not {x}", e)
        | st.builds(lambda x, y: f"{x} and {y}", e, e)
        | st.builds(lambda x, y: f"{x} or {y}", e, e)
    ),
    max_leaves=12,
)


@st.composite
def claim_texts(draw: Any, max_tokens: int = 30) -> str:
    """A claim expression: half from the grammar (valid or nearly: unknown methods, absent
    margins, huge epochs), half the grammar's tokens in any order (mostly invalid)."""
    if draw(st.booleans()):
        return draw(_GRAMMAR)
    toks = draw(st.lists(st.sampled_from(_CLAIM_TOKENS), min_size=0, max_size=max_tokens))
    return " ".join(toks)


def spec_with_claim(expr: str) -> str:
    return SPEC.replace("expect: bp.test_acc > fa_pen.test_acc", "expect: " + json.dumps(expr))


_JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=10)
)
_JSON = st.recursive(
    _JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_METRIC = st.sampled_from(
    ["test_acc", "g_norm", "h_norm", "train_loss", "cos_layers", "gamma", "epoch", "x"]
)


@st.composite
def result_texts(draw: Any) -> bytes:
    """What a damaged result.json may hold: a result with hostile fields, any JSON, or bytes."""
    kind = draw(st.sampled_from(["result", "result", "json", "bytes", "text"]))
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "text":
        return draw(
            st.sampled_from(
                ["", "null", "[]", '"ok"', "3", "[" * 5000, '{"a": ' + "9" * 5000 + "}", "NaN"]
            )
        ).encode()
    if kind == "json":
        return json.dumps(draw(_JSON)).encode()
    entry = draw(st.dictionaries(_METRIC, _JSON, max_size=4))
    result = {
        "status": draw(st.sampled_from(["ok", "failed", "diverged", "passed", None, 1])),
        "error": draw(st.none() | st.text(max_size=5) | st.integers()),
        "final": draw(st.just(entry) | _JSON),
        "log": draw(st.lists(st.dictionaries(_METRIC, _JSON, max_size=3), max_size=3) | _JSON),
        "protocol": draw(
            st.none()
            | st.fixed_dictionaries(
                {"fired": st.dictionaries(st.sampled_from("abcd"), _JSON, max_size=3)}
            )
            | _JSON
        ),
        "provenance": draw(st.just({}) | _JSON),
    }
    return json.dumps(result).encode()  # json writes NaN/Infinity, as a careless tool would


class ContractBroken(AssertionError):
    """An input that made faspec raise something other than its own error, or take too long."""


_WARM = {}


def _timed(what: str, text: Any, t0: float) -> None:
    dt = time.perf_counter() - t0
    if dt > TIME_LIMIT_S:
        raise ContractBroken(f"{what} took {dt:.1f}s (limit {TIME_LIMIT_S}s) on {text!r:.200}")


def check_spec(text: str) -> str:
    """Load (and plan) a spec text: 'accepted', 'spec error' or 'plan error'."""
    from faspec.plan import PlanError, build
    from faspec.spec.load import SpecError, load_text

    t0 = time.perf_counter()
    try:
        spec = load_text(text, "f.yaml")
    except SpecError as e:
        _timed("load", text, t0)
        if not re.match(r"f\.yaml:\d+:\d+: ", str(e)):
            raise ContractBroken(f"unlocated error {e!s:.200} for {text!r:.200}") from e
        return "spec error"
    except Exception as e:
        raise ContractBroken(f"{type(e).__name__}: {e!s:.200} for {text!r:.300}") from e
    try:
        build([spec])
    except PlanError:
        return "plan error"
    except Exception as e:
        raise ContractBroken(f"plan: {type(e).__name__}: {e!s:.200} for {text!r:.300}") from e
    _timed("load and plan", text, t0)
    return "accepted"


def check_result(root: Path, data: bytes) -> str:
    """Write `data` as the result.json of a valid run and read it back: 'valid', 'invalid'
    (the error names the file) or 'store error' (naming the file)."""
    from faspec.plan import run_hash
    from faspec.store import Store, StoreError

    cfg = {"seed": 1, "method": {"name": "bp"}}
    rid = run_hash(cfg)
    st_ = Store(root)
    if not (root / rid).is_dir():
        st_.put(rid, cfg, {"status": "ok"})
    p = root / rid / "result.json"
    p.write_bytes(data)
    t0 = time.perf_counter()
    try:
        res = st_.get(rid)
    except StoreError as e:
        _timed("store read", data, t0)
        if str(p) not in str(e) and str(root / rid) not in str(e):
            raise ContractBroken(f"store error not naming the file: {e!s:.200}") from e
        return "store error"
    except Exception as e:
        raise ContractBroken(f"{type(e).__name__}: {e!s:.200} for {data!r:.300}") from e
    _timed("store read", data, t0)
    if not isinstance(res, dict):
        raise ContractBroken(f"get returned {type(res).__name__} for {data!r:.200}")
    if res.get("status") == "invalid":
        if not str(res.get("error", "")).startswith(f"{p}: "):
            raise ContractBroken(f"invalid result without the file: {res.get('error')!r:.200}")
        return "invalid"
    return "valid"
