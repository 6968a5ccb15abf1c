"""The results committed in ``docs/results/``, which notebook 10 reads on a fresh clone.

They are copied from the results folder of a real ``ridership reproduce --seeds 3`` run (the
README's): ``results.csv`` and ``horizons.csv`` as the command wrote them, and ``README.md``,
whose first line names the command and the machine. Until that run's files are committed the
tests skip, saying so; from then on they check that the files are that run's and complete.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ridership.engine.tables import ROW_ORDER

COMMITTED = Path(__file__).resolve().parent.parent / "docs" / "results"
needs_the_run = pytest.mark.skipif(
    not (COMMITTED / "results.csv").is_file(),
    reason="docs/results/results.csv is not committed yet: copy results.csv and horizons.csv from a "
           "`ridership reproduce --seeds 3` run, with a README.md naming the command and the machine")


@needs_the_run
def test_the_label_names_the_command_and_the_machine():
    label = (COMMITTED / "README.md").read_text(encoding="utf-8").splitlines()[0]
    assert "ridership reproduce --seeds 3" in label, label
    assert "core" in label, f"the first line names no machine (e.g. '2-core AMD EPYC'): {label}"


@needs_the_run
def test_the_table_is_a_full_run_of_every_experiment_over_three_seeds():
    table = pd.read_csv(COMMITTED / "results.csv").set_index("experiment")
    assert list(table.index) == list(ROW_ORDER), "one row per baseline and experiment, in the chapter's order"
    assert set(table["mode"]) == {"full"}, "the committed table must come from a full run, not --quick"
    networks = table.drop(index=["naive", "sarima"])
    assert (networks["seeds"] == 3).all(), networks["seeds"].to_dict()
    assert (table["valid_mae"] > 0).all() and table["valid_mae"].notna().all()


@needs_the_run
def test_the_horizons_table_has_the_14_horizons():
    horizons = pd.read_csv(COMMITTED / "horizons.csv", dtype={"horizon": str})
    assert list(horizons["horizon"]) == [f"+{h}" for h in range(1, 15)]
    assert (horizons["mae"] > 0).all()
