"""Results as data: load_results and `faspec results` give exactly the stored runs and epochs."""

from __future__ import annotations

import io
import json
import math

import pandas as pd
from click.testing import CliRunner
from helpers import LAYERS, make_store

import faspec
from faspec.cli import main
from faspec.results import load_results


def stored(results):
    return {(rid, e["epoch"]) for rid, res in results.items() for e in res["log"]} | {
        (rid, None) for rid, res in results.items() if not res["log"]
    }


def keys(df):
    return {
        (r, None if pd.isna(e) else int(e)) for r, e in zip(df["run_id"], df["epoch"], strict=True)
    }


def test_load_results_round_trips(tmp_path):
    st, results, _ = make_store(tmp_path / "results")
    (tmp_path / "results" / "incomplete").mkdir()  # no result.json: not a run
    df = faspec.load_results(tmp_path / "results")
    assert len(df) == sum(max(1, len(r["log"])) for r in results.values())
    assert keys(df) == stored(results)
    assert set(df["run_id"]) == set(results)
    assert df["epoch"].dtype == "Int64"
    for col in (
        "run_id",
        "status",
        "epoch",
        "seed",
        "model.d",
        "model.blocks",
        "method.name",
        "train.lr",
        "test_acc",
        "g_norm",
        "deep_cos",
        "provenance.device",
        "provenance.wall_s",
    ):
        assert col in df.columns, col
    assert [c for c in df.columns if c.startswith("cos_layers.")] == [
        f"cos_layers.{i}" for i in range(LAYERS)
    ]
    assert list(df.columns[:4]) == ["run_id", "status", "epoch", "seed"]
    # every value as stored
    for rid, res in results.items():
        cfg = st.config(rid)
        rows = df[df["run_id"] == rid]
        assert set(rows["method.name"]) == {cfg["method"]["name"]}
        assert set(rows["seed"]) == {cfg["seed"]} and set(rows["status"]) == {res["status"]}
        for e in res["log"]:
            row = rows[rows["epoch"] == e["epoch"]].iloc[0]
            for m in ("test_acc", "g_norm", "deep_cos"):
                assert (row[m] == e[m]) or (e[m] is None and math.isnan(row[m])), (
                    rid,
                    e["epoch"],
                    m,
                )
            for i, v in enumerate(e["cos_layers"]):
                assert (row[f"cos_layers.{i}"] == v) or (
                    v is None and math.isnan(row[f"cos_layers.{i}"])
                )
    failed = df[df["status"] == "failed"]
    assert len(failed) == 1 and pd.isna(failed["epoch"].iloc[0])
    # a subset of runs; unknown ids are skipped
    some = sorted(results)[:2]
    assert set(load_results(st, some + ["f" * 16])["run_id"]) == set(some)
    assert load_results(tmp_path / "nowhere").empty


def test_results_command_formats(tmp_path):
    _, results, _ = make_store(tmp_path / "results")
    store = str(tmp_path / "results")
    runner = CliRunner()
    want = stored(results)

    r = runner.invoke(main, ["results", "--store", store, "--format", "csv"])
    assert r.exit_code == 0, r.output
    assert keys(pd.read_csv(io.StringIO(r.output))) == want

    r = runner.invoke(main, ["results", "--store", store, "--format", "json"])
    assert r.exit_code == 0, r.output
    recs = json.loads(r.output)
    assert {(x["run_id"], x["epoch"]) for x in recs} == want

    out = tmp_path / "runs.parquet"
    r = runner.invoke(main, ["results", "--store", store, "--format", "parquet", "-o", str(out)])
    assert r.exit_code == 0, r.output
    back = pd.read_parquet(out)
    assert keys(back) == want and "cos_layers.3" in back.columns

    r = runner.invoke(main, ["results", "--store", store, "--format", "parquet"])
    assert r.exit_code == 2 and "-o" in r.output
