"""Stored results as a table: one row per run and logged epoch, ready for pandas.

`load_results(store)` reads every complete run of a store (`results/<run_id>/result.json` and its
`config.json`) into a DataFrame:

* `run_id`, `status`, `epoch` (nullable integer; a run that logged no epoch, such as one that failed
  before its first evaluation, still gets one row with `epoch` missing, so no stored run is lost);
* the run's config, flattened with dotted names: `seed`, `method.name`, `model.d`,
  `train.epochs`, ... (lists in a config, such as `measure.epochs`, become their JSON text);
* every scalar metric of the log entry as a column (`test_acc`, `g_norm`, ...; null → NaN);
* every per-layer metric split into one column per layer: `cos_layers.0`, `cos_layers.1`, ...;
* provenance, flattened: `provenance.device`, `provenance.wall_s`, `provenance.faspec`, ...

`write(df, fmt, path)` writes it as csv, parquet or json (records).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FORMATS = ("csv", "parquet", "json")
_FIRST = ["run_id", "status", "epoch", "seed"]


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config or metrics -> dotted keys (`model.d`); lists become JSON text, one cell."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, list | tuple):
            out[key] = json.dumps(v, sort_keys=True)
        else:
            out[key] = v
    return out


def _metrics(entry: dict[str, Any]) -> dict[str, Any]:
    """Scalar metrics as they are; a list metric `x` becomes columns `x.0`, `x.1`, ..."""
    out: dict[str, Any] = {}
    for k, v in entry.items():
        if k == "epoch":
            continue
        if isinstance(v, list | tuple):
            for i, x in enumerate(v):
                out[f"{k}.{i}"] = _num(x)
        elif isinstance(v, dict):
            out.update({f"{k}.{kk}": _num(x) for kk, x in flatten(v).items()})
        else:
            out[k] = _num(v)
    return out


def _num(x: Any) -> Any:
    return math.nan if x is None else x


def _layer_key(col: str) -> tuple[str, int]:
    head, _, tail = col.rpartition(".")
    return (head, int(tail)) if tail.isdigit() else (col, -1)


def rows_of(run_id: str, config: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of one run: its config and provenance repeated on each logged epoch."""
    base: dict[str, Any] = {"run_id": run_id, "status": result.get("status")}
    base.update(flatten(config or {}))
    base.update(flatten(result.get("provenance") or {}, "provenance."))
    log = result.get("log") or []
    if not log:
        return [{**base, "epoch": None}]
    return [{**base, "epoch": entry.get("epoch"), **_metrics(entry)} for entry in log]


def load_results(store: Any = "results", run_ids: Iterable[str] | None = None) -> Any:
    """A pandas DataFrame of the runs in `store` (a path or a `faspec.store.Store`).

    `run_ids` restricts it to those runs (the ones absent from the store are skipped). Columns are
    ordered run_id, status, epoch, seed, the config (sorted), the metrics, per-layer metrics by
    layer, then provenance; rows by run_id and epoch.
    """
    import pandas as pd

    from faspec.store import Store

    st = store if isinstance(store, Store) else Store(Path(os.fspath(store)))
    wanted = list(st.run_ids()) if run_ids is None else [r for r in run_ids if st.has(r)]
    rows: list[dict[str, Any]] = []
    config_cols: set[str] = set()
    for rid in sorted(set(wanted)):
        result = st.get(rid)
        if result is None:
            continue
        config = st.config(rid) or {}
        config_cols.update(flatten(config))
        rows += rows_of(rid, config, result)
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=["run_id", "status", "epoch", "seed"])
    first = [c for c in _FIRST if c in df.columns]
    prov = sorted(c for c in df.columns if c.startswith("provenance."))
    conf = sorted(c for c in config_cols if c not in first)
    rest = [c for c in df.columns if c not in set(first) | set(prov) | set(conf)]
    scalars = sorted(c for c in rest if _layer_key(c)[1] < 0)
    layers = sorted((c for c in rest if _layer_key(c)[1] >= 0), key=_layer_key)
    df = df[first + conf + scalars + layers + prov]
    df["epoch"] = df["epoch"].astype("Int64")
    return df.sort_values(["run_id", "epoch"], kind="stable").reset_index(drop=True)


def _uniform(df: Any) -> Any:
    """Columns that mix types (an option that is a bool for one method, a string for another)
    become text, which every format can hold."""
    df = df.copy()
    for col in df.columns:
        if df[col].dtype == object:
            kinds = {
                type(x)
                for x in df[col]
                if x is not None and not (isinstance(x, float) and math.isnan(x))
            }
            if len(kinds) > 1:
                df[col] = df[col].map(lambda x: None if x is None else str(x))
    return df


def write(df: Any, fmt: str, path: str | os.PathLike[str] | None = None) -> str | None:
    """Write `df` as csv, parquet or json records to `path`; with no path, return the text
    (csv and json only: parquet is binary and needs a file)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    df = _uniform(df)
    if fmt == "parquet":
        if path is None:
            raise ValueError("parquet is binary: give a file with -o")
        df.to_parquet(path, index=False)
        return None
    if fmt == "csv":
        text = df.to_csv(index=False)
    else:
        text = df.to_json(orient="records", indent=1) + "\n"
    if path is None:
        return text
    Path(path).write_text(text)
    return None
