"""Throwaway inputs for tests, from a few lines: a spec, a paper, a store of results, a report.

Tests import these (`from helpers import write_spec, make_store`); no test imports another test
module. Every builder writes real files (a spec YAML, a LaTeX file, a `Store` folder) or returns
what faspec itself builds (the JSON report goes through `json_report.render`), so a test reads
exactly what a user's run would give it.

* `spec_text` / `write_spec`: a valid `faspec: 1` spec on the embedded teacher task with tiny
  sizes; pass only what the test is about (experiments, claims, defaults to override).
* `write_paper`: a LaTeX file (and optionally more files beside it).
* `run_cli`: the faspec CLI in a subprocess, as a user runs it (inside a Ray test's network
  namespace when one is given).
* `make_store` / `make_report`: hand-built runs of an `audit` experiment and a `depth` sweep with
  one failed run, and the JSON report of `claims()` (one claim of every shape and verdict) on them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from faspec.check.claims import SeedRun, decide
from faspec.report import json_report
from faspec.spec.expr import parse
from faspec.spec.model import Claim, Reported, Spec, Stats
from faspec.store import Store

ROOT = Path(__file__).resolve().parents[1]
FASPEC = [sys.executable, "-m", "faspec.cli"]


def run_cli(
    args: list[str],
    cwd: Path,
    netns: Any = None,
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the faspec CLI as a user would, in a subprocess (inside `netns`, conftest's Ray
    namespace fixture, when given)."""
    prefix = netns.prefix if netns else []
    e = env or (netns.env(cwd) if netns else {**os.environ, "PYTHONPATH": str(ROOT)})
    return subprocess.run(
        prefix + FASPEC + args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=e
    )


# ---------------------------------------------------------------------------------------------
# Specs and papers

TINY_DEFAULTS: dict[str, Any] = {
    "data": {"name": "teacher", "seed": 0, "n_train": 512, "n_test": 256},
    "model": {"arch": "resmlp", "d": 16, "blocks": 2},
    "train": {"epochs": 2, "batch_size": 128},
    "measure": {"eval_batch": 256},
    "seeds": [1, 2, 3],
}


def spec_text(
    name: str = "t",
    *,
    experiments: dict[str, Any] | None = None,
    claims: list[dict[str, Any]] | str | None = None,
    title: str | None = None,
    base: dict[str, Any] | None = None,
    **defaults: Any,
) -> str:
    """A `faspec: 1` spec as YAML text. `defaults` override `base` (TINY_DEFAULTS unless given)
    section by section (`model={"blocks": 4}` keeps arch and d); `base={}` writes exactly the
    sections passed, for a test whose sizes must stay as they were (its run ids, its cost);
    `claims` is a list of claim dicts or raw YAML lines (to test positions or odd syntax);
    experiments default to one `main: [bp, frozen]`."""
    start = TINY_DEFAULTS if base is None else base
    merged: dict[str, Any] = {}
    for k in start.keys() | defaults.keys():
        base_k, new = start.get(k), defaults.get(k)
        if isinstance(base_k, dict) and isinstance(new, dict):
            merged[k] = {**base_k, **new}
        else:
            merged[k] = new if k in defaults else base_k
    doc: dict[str, Any] = {"faspec": 1, "name": name}
    if title:
        doc["title"] = title
    sections = {k: merged[k] for k in sorted(merged) if merged[k] is not None}
    if sections:  # `base={}` and no sections: a spec without defaults
        doc["defaults"] = sections
    doc["experiments"] = experiments or {"main": {"methods": ["bp", "frozen"]}}
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=100)
    if isinstance(claims, str):
        return text + "claims:\n" + claims
    return text + yaml.safe_dump({"claims": claims or []}, sort_keys=False, width=100)


def write_spec(folder: Path, name: str = "t", **kw: Any) -> Path:
    """Write `spec_text(name, **kw)` to `folder/<name>.yaml` (folder created) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(spec_text(name, **kw), encoding="utf-8")
    return path


def put_finals(plan: Any, store: Store, finals: dict[str, dict[str, list[float]]]) -> None:
    """Write a hand-made store: each run of method `label` holds `finals[label][metric]`, one
    value per seed in seed order (no training; the audit tests' stores)."""
    seeds = sorted({c.seed for c in plan.cells})
    for cell, rid in plan.cells.items():
        vals = finals.get(cell.label, {})
        final = {m: v[seeds.index(cell.seed)] for m, v in vals.items()}
        result = {"status": "ok", "error": None, "final": final, "log": [], "provenance": {}}
        store.put(rid, plan.runs[rid], result)


def write_paper(folder: Path, tex: str, name: str = "main.tex", **more: str) -> Path:
    """Write a LaTeX paper (`tex`) and any further files (`more`: relative path -> text) into
    `folder`; returns the main file's path."""
    for rel, text in {name: tex, **more}.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return folder / name


# ---------------------------------------------------------------------------------------------
# Stores and reports

EPOCHS = [0, 1, 2, 3, 5, 8]
LAYERS = 4  # L + 1 per-layer entries


def config(method: str, seed: int, blocks: int = 3, d: int = 64) -> dict[str, Any]:
    return {
        "seed": seed,
        "method": {"name": method, "version": 1, "penalty": 0.0, "targets": "true"},
        "model": {
            "arch": "resmlp",
            "version": 1,
            "d": d,
            "blocks": blocks,
            "terminal_ln": True,
            "skip": True,
            "act": "relu",
        },
        "data": {"name": "teacher", "version": 1, "seed": 0, "n_train": 1024, "n_test": 256},
        "train": {
            "epochs": EPOCHS[-1],
            "batch_size": 128,
            "optimizer": "adamw",
            "lr": 0.001,
            "weight_decay": 0.01,
            "schedule": "cosine",
            "grad_clip": None,
        },
        "measure": {"epochs": EPOCHS, "eval_batch": 256},
    }


def run_id(cfg: dict[str, Any]) -> str:
    canon = json.dumps(cfg, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def result(method: str, seed: int, blocks: int = 3, status: str = "ok") -> dict[str, Any]:
    """A plausible result.json: accuracy rising, DFA's gradient collapsing by decades."""
    base = {"bp": 0.45, "fa": 0.40, "dfa": 0.30, "frozen": 0.32}.get(method, 0.35) + 0.003 * (
        seed % 7
    )
    log = []
    for e in EPOCHS:
        g = 1e-3 * (10.0 ** (-e) if method == "dfa" else 1.0)
        cos = None if method == "frozen" else (0.5 / blocks if method == "fa" else -1e-4)
        log.append(
            {
                "epoch": e,
                "test_acc": 0.1 + (base - 0.1) * (1 - math.exp(-e / 2)),
                "train_loss": 2.3 * math.exp(-e / 4),
                "h_norm": 8.0 * (1 + e),
                "g_norm": g,
                "deep_cos": cos,
                "gamma": cos,
                "growth": 2.0 + (20.0 * e if method == "dfa" else 0.1 * e),
                "h_norm_layers": [1.0 + i for i in range(LAYERS)],
                "g_norm_layers": [g * (i + 1) for i in range(LAYERS)],
                "cos_layers": [None if cos is None else cos + 0.01 * i for i in range(LAYERS)],
            }
        )
    final = {k: v for k, v in log[-1].items() if k != "epoch" and not k.endswith("_layers")}
    return {
        "status": status,
        "error": None,
        "final": final,
        "log": log,
        "provenance": {
            "faspec": "0.1.0",
            "torch": "2.14.1",
            "device": "cpu",
            "wall_s": 1.5 + seed / 1000,
            "git": None,
            "host": "test",
        },
    }


def make_store(root: Path) -> tuple[Store, dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Runs of an `audit` experiment (bp, fa, dfa, frozen × 3 seeds) and a `depth` sweep
    (fa, dfa × blocks 2/4/8, seed 42), plus one failed run with no log.
    Returns the store, its results by run id, and the cells (as `html.cells_for` gives them)."""
    st = Store(root)
    results: dict[str, dict[str, Any]] = {}
    cells: list[dict[str, Any]] = []

    def add(
        exp: str, method: str, seed: int, blocks: int, point: dict[str, Any], res: dict[str, Any]
    ) -> None:
        cfg = config(method, seed, blocks)
        rid = run_id(cfg)
        st.put(rid, cfg, res)
        results[rid] = res
        cells.append({"experiment": exp, "label": method, "seed": seed, "point": point, "run": rid})

    for method in ("bp", "fa", "dfa", "frozen"):
        for seed in (42, 123, 456):
            add("audit", method, seed, 3, {}, result(method, seed))
    for method in ("fa", "dfa"):
        for blocks in (2, 4, 8):
            add("depth", method, 42, blocks, {"model.blocks": blocks}, result(method, 42, blocks))
    failed = {
        "status": "failed",
        "error": "Traceback: boom\x07",
        "final": {},
        "log": [],
        "provenance": {"faspec": "0.1.0", "device": "cpu", "wall_s": 0.1},
    }
    add("broken", "ep", 7, 3, {}, failed)
    return st, results, cells


MISSING = ("0123456789abcdef", "fedcba9876543210")  # runs a spec needs that the store lacks


def claims() -> list[Claim]:
    """One claim of every shape (ordering, by epoch, protocol, for_each) and every verdict."""

    def c(cid: str, expect: str, experiment: str, **kw: Any) -> Claim:
        return Claim(cid, expect, parse(expect), experiment, **kw)

    return [
        c(
            "fa-beats-dfa",
            "fa > dfa",
            "audit",
            where_paper="Table 1",
            reported={"fa": Reported(0.401, 0.009, 3, "0.401 ± 0.009", 3, 3)},
        ),
        c(
            "dfa-gradient-floor-early",
            "dfa.g_norm < 1e-7 by epoch 3",
            "audit",
            seeds="all",
            where_paper="Sec. 4",
        ),
        c("dfa-growth-fires", "dfa.growth > 50", "audit", seeds="all"),
        c(
            "fa-deep-credit-at-every-depth",
            "fa.deep_cos > 0",
            "depth",
            for_each="model.blocks",
            seeds="all",
        ),
        c(
            "bp-beats-frozen",
            "bp >> frozen",
            "audit",
            reported={"bp": Reported(0.52, 0.01, 3, "0.52 ± 0.01", 2, 2)},
        ),
        c("one-seed", "fa > dfa", "depth", at={"model.blocks": 2}),
        c("ep-runs", "ep > frozen", "broken"),
        c("sb-missing", "sb ~= cb", "bridges"),
    ]


def make_report(
    st: Store, results: dict[str, Any], cells: list[dict[str, Any]], spec: str = "fa_vs_dfa"
) -> dict[str, Any]:
    """The JSON report of `claims()` on the store, decided by faspec.check and built by
    json_report.build, exactly as `faspec verify` builds it (the cells stand in for the plan)."""
    cells = cells + [
        {"experiment": "bridges", "label": label, "seed": 1, "point": {}, "run": rid}
        for label, rid in zip(("sb", "cb"), MISSING, strict=True)
    ]
    data: dict[str, dict[Any, dict[str, list[SeedRun]]]] = {}
    for cell in cells:
        point = tuple(cell["point"].items())
        runs = (
            data.setdefault(cell["experiment"], {})
            .setdefault(point, {})
            .setdefault(cell["label"], [])
        )
        runs.append(SeedRun(cell["seed"], cell["run"], results.get(cell["run"])))
    cs = claims()
    stats = Stats()
    verdicts = [decide(c, data[c.experiment], stats) for c in cs]
    sp = Spec(
        spec, "FA has deep credit where DFA has none", Path(f"specs/{spec}.yaml"), {}, cs, stats
    )
    configs = {c["run"]: st.config(c["run"]) for c in cells if st.config(c["run"])}
    meta = {"faspec": "0.1.0", "store": str(st.root), "generated": "2025-01-01 12:00 UTC"}
    # through JSON, as the CLI does: the renderers read exactly what reports/<spec>.json holds
    return json.loads(
        json_report.render(sp, verdicts, {**results, **dict.fromkeys(MISSING)}, configs, meta)
    )
