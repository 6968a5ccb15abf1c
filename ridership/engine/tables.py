"""The results tables of a results folder, made from its run records, and the one writer of them.

Every command that trains runs writes its summary the same way (:func:`write_results`):
``results.json`` (the summary), ``results.md`` (a Markdown table, :func:`markdown_rows`) and,
when the summary is a table, ``results.csv``; each atomically, after every finished run.
For ``ridership reproduce``:

- ``results.csv``, ``results.json``, ``results.md``: one row per experiment, the median over
  its seeds with the minimum and maximum, beside the book's figure;
- ``horizons.csv``: the seq2seq model's validation MAE for each horizon (+1 to +14).

The sequence-to-sequence models are trained and scored on every time step of their windows
(``valid_mae``); ``last_step_mae`` scores only the last step, the forecast a user would use,
which is what compares with the ``ahead`` model (its 14 days at once).
"""

from __future__ import annotations

import math
from pathlib import Path

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


def number_cell(value, spec="{:,.0f}") -> str:
    """A number as a table cell (riders with thousands separators by default); nothing when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return spec.format(value)


def markdown_rows(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table of text cells: the first column (names) aligned left, the others (numbers) right.

    Example:
        >>> print(markdown_rows(["model", "MAE"], [["lstm", "36,000"]]), end="")
        | model | MAE |
        |---|---:|
        | lstm | 36,000 |
    """
    lines = ["| " + " | ".join(headers) + " |", "|---|" + "---:|" * (len(headers) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def markdown_table(table: pd.DataFrame) -> str:
    """The table as Markdown, MAEs in riders with thousands separators."""
    headers = ["experiment", "valid MAE (median)", "min", "max", "last step", "test MAE", "book", "ratio", "epochs",
               "seconds", "seeds"]
    cell = number_cell
    return markdown_rows(headers, [
        [row["experiment"], cell(row["valid_mae"]), cell(row["valid_min"]), cell(row["valid_max"]),
         cell(row["last_step_mae"]), cell(row["test_mae"]), cell(row["book_mae"]), cell(row["ratio"], "{:.2f}"),
         cell(row["epochs"], "{:.0f}"), cell(row["seconds"], "{:.0f}"), str(row["seeds"])]
        for row in table.to_dict("records")])


def horizon_table(runs: list[dict]) -> pd.DataFrame:
    """The seq2seq per-horizon validation MAE: median over seeds, beside the book's published ends."""
    rows = [r["detail"]["horizons"] for r in runs if r["experiment"] == "seq2seq" and "horizons" in r["detail"]]
    if not rows:
        return pd.DataFrame(columns=["horizon", "mae", "book_mae"])
    frame = pd.DataFrame(rows)
    return pd.DataFrame({"horizon": frame.columns, "mae": frame.median().to_numpy(),
                         "book_mae": [BOOK_HORIZONS.get(h) for h in frame.columns]})


def write_results(out, summary, markdown: str) -> None:
    """Write a command's summary to ``out``, each file atomically: ``results.json``, ``results.md`` (``markdown``)
    and, when ``summary`` is a ``DataFrame``, ``results.csv``.

    Args:
        out: the results folder.
        summary: a ``DataFrame`` (one row per result) or anything ``json`` writes.
        markdown: the summary as a Markdown table (:func:`markdown_rows`).
    """
    out = Path(out)
    if isinstance(summary, pd.DataFrame):
        with atomic_path(out / "results.csv") as tmp:
            summary.to_csv(tmp, index=False)
        summary = summary.replace({np.nan: None}).to_dict("records")
    write_json(out / "results.json", summary)
    write_text(out / "results.md", markdown)


def write_tables(out, runs: list[dict]) -> pd.DataFrame:
    """Write every table of ``out`` (atomically) from ``runs``; return the results table."""
    table = summarise(runs)
    write_results(out, table, markdown_table(table))
    with atomic_path(out / "horizons.csv") as tmp:
        horizon_table(runs).to_csv(tmp, index=False)
    return table
