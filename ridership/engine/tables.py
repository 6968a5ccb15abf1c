"""The results tables of a ``ridership reproduce`` folder, made from its run records.

- ``results.csv``, ``results.json``, ``results.md``: one row per experiment, the median over
  its seeds with the minimum and maximum, beside the book's figure;
- ``horizons.csv``: the seq2seq model's validation MAE for each horizon (+1 to +14).

The sequence-to-sequence models are trained and scored on every time step of their windows
(``valid_mae``); ``last_step_mae`` scores only the last step, the forecast a user would use,
which is what compares with the ``ahead`` model (its 14 days at once).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..baselines import BASELINES
from ..experiments import BOOK_MAE, EXPERIMENTS
from .storage import atomic_path, write_json, write_text

#: Every row of the table, in the chapter's order.
ROW_ORDER = (*BASELINES, *EXPERIMENTS)
#: The book's per-horizon validation MAE of its seq2seq model (it publishes the first and the last).
BOOK_HORIZONS = {"+1": 25_519, "+14": 34_322}
COLUMNS = ["experiment", "valid_mae", "valid_min", "valid_max", "last_step_mae", "test_mae", "book_mae", "ratio",
           "epochs", "seconds", "backend", "seeds", "mode"]


def summarise(runs: list[dict]) -> pd.DataFrame:
    """One row per experiment: the median over seeds with min and max, beside the book.

    ``runs`` are run records (``ridership.engine.runs``); experiments this version does not know are
    left out.
    """
    by_name: dict[str, list[dict]] = {}
    for run in runs:
        by_name.setdefault(run["experiment"], []).append(run)
    rows = []
    for name in ROW_ORDER:
        group = by_name.get(name)
        if not group:
            continue
        valid = [r["valid_mae"] for r in group]
        last = [r["detail"]["valid_last_step_mae"] for r in group if "valid_last_step_mae" in r["detail"]]
        epochs = [r["epochs"] for r in group if r.get("epochs") is not None]
        book = BOOK_MAE.get(name)
        median = float(np.median(valid))
        rows.append({
            "experiment": name, "valid_mae": median, "valid_min": min(valid), "valid_max": max(valid),
            "last_step_mae": float(np.median(last)) if last else None,
            "test_mae": float(np.median([r["test_mae"] for r in group])), "book_mae": book,
            "ratio": median / book if book else None,
            "epochs": int(np.median(epochs)) if epochs else None,
            "seconds": float(sum(r["seconds"] for r in group)),
            "backend": group[0]["kind"].get("backend") or "-", "seeds": len(group), "mode": group[0]["kind"]["mode"],
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def _fmt(value, spec="{:,.0f}") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return spec.format(value)


def markdown_table(table: pd.DataFrame) -> str:
    """The table as Markdown, MAEs in riders with thousands separators."""
    lines = ["| experiment | valid MAE (median) | min | max | last step | test MAE | book | ratio | epochs | seconds | seeds |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in table.to_dict("records"):
        lines.append(f"| {row['experiment']} | {_fmt(row['valid_mae'])} | {_fmt(row['valid_min'])} | "
                     f"{_fmt(row['valid_max'])} | {_fmt(row['last_step_mae'])} | {_fmt(row['test_mae'])} | "
                     f"{_fmt(row['book_mae'])} | {_fmt(row['ratio'], '{:.2f}')} | {_fmt(row['epochs'], '{:.0f}')} | "
                     f"{_fmt(row['seconds'], '{:.0f}')} | {row['seeds']} |")
    return "\n".join(lines) + "\n"


def horizon_table(runs: list[dict]) -> pd.DataFrame:
    """The seq2seq per-horizon validation MAE: median over seeds, beside the book's published ends."""
    rows = [r["detail"]["horizons"] for r in runs if r["experiment"] == "seq2seq" and "horizons" in r["detail"]]
    if not rows:
        return pd.DataFrame(columns=["horizon", "mae", "book_mae"])
    frame = pd.DataFrame(rows)
    return pd.DataFrame({"horizon": frame.columns, "mae": frame.median().to_numpy(),
                         "book_mae": [BOOK_HORIZONS.get(h) for h in frame.columns]})


def write_tables(out, runs: list[dict]) -> pd.DataFrame:
    """Write every table of ``out`` (atomically) from ``runs``; return the results table."""
    table = summarise(runs)
    with atomic_path(out / "results.csv") as tmp:
        table.to_csv(tmp, index=False)
    write_json(out / "results.json", table.replace({np.nan: None}).to_dict("records"))
    write_text(out / "results.md", markdown_table(table))
    with atomic_path(out / "horizons.csv") as tmp:
        horizon_table(runs).to_csv(tmp, index=False)
    return table
