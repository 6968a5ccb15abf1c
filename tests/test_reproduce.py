"""``ridership reproduce``: quick end to end, resumable, one record per experiment, the chapter's order."""

import json

import keras
import pandas as pd
import pytest

from ridership import RidershipError
from ridership.experiments import EXPERIMENTS, STEPS_PER_EXECUTION
from ridership.engine.reproduce import parse_only, reproduce
from ridership.engine.tables import BOOK_HORIZONS, ROW_ORDER

QUIET = {"progress": False}


def test_quick_run_writes_every_experiment_and_rerun_skips(tmp_path, data_path):
    out = tmp_path / "results"
    lines = []
    table = reproduce(out, quick=True, data_path=data_path, log=lines.append, **QUIET)
    assert list(table["experiment"]) == list(ROW_ORDER)
    csv = pd.read_csv(out / "results.csv")
    assert list(csv["experiment"]) == list(ROW_ORDER)
    assert {"experiment", "valid_mae", "last_step_mae", "test_mae", "book_mae", "ratio", "epochs", "seconds",
            "backend", "seeds", "mode"} <= set(csv.columns)
    assert csv["valid_mae"].gt(0).all() and csv["test_mae"].gt(0).all()
    assert csv.loc[csv.experiment == "naive", "valid_mae"].item() == pytest.approx(42_143.3, abs=0.1)
    sequence = [e.name for e in EXPERIMENTS.values() if "last_step" in e.extras]
    assert csv.set_index("experiment")["last_step_mae"].notna().to_dict() == {n: n in sequence for n in ROW_ORDER}
    assert len(json.loads((out / "results.json").read_text())) == len(ROW_ORDER)
    assert (out / "results.md").read_text().count("\n") == len(ROW_ORDER) + 2
    assert len(pd.read_csv(out / "horizons.csv")) == 14
    assert len(list((out / "models").glob("*.keras"))) == len(EXPERIMENTS)
    assert keras.saving.load_model(out / "models" / "univar-seed42.keras").steps_per_execution == STEPS_PER_EXECUTION
    sarima = json.loads((out / "runs" / "sarima.json").read_text())
    assert 0 < sarima["detail"]["valid_seconds"] < sarima["seconds"]  # the test backtest comes on top
    assert all("skipped" not in line for line in lines)

    again = []
    reproduce(out, quick=True, data_path=data_path, log=again.append, **QUIET)
    assert len(again) == len(ROW_ORDER) and all("skipped" in line for line in again)

    # the model figures come from the saved models and tables, without retraining
    from ridership.cli import main
    from ridership.plots import DATA_FIGURES
    from ridership.result_plots import RESULT_FIGURES

    figures = tmp_path / "figures"
    assert main(["figures", "--data", str(data_path), "--results", str(out), "--out", str(figures)]) == 0
    expected = {f"{n}.png" for n in [*DATA_FIGURES, *RESULT_FIGURES]}
    assert {p.name for p in figures.glob("*.png")} == expected and len(expected) >= 9


def test_seeds_give_spread_and_same_seed_same_result(tmp_path, data_path):
    out = tmp_path / "r"
    table = reproduce(out, quick=True, only="linear", seeds=2, data_path=data_path, log=lambda s: None, **QUIET)
    row = table.iloc[0]
    assert row["seeds"] == 2 and row["valid_min"] <= row["valid_mae"] <= row["valid_max"]
    first = json.loads((out / "runs" / "linear-seed42.json").read_text())
    again = reproduce(tmp_path / "r2", quick=True, only="linear", data_path=data_path, log=lambda s: None, **QUIET)
    assert again.iloc[0]["valid_mae"] == first["valid_mae"]  # the same seed gives the same MAE


def test_one_job_and_two_jobs_give_the_same_results(tmp_path, data_path):
    """Every run seeds itself and runs alone in its process: how many run at once changes nothing."""
    runs = {}
    for jobs in (1, 2):
        table = reproduce(tmp_path / str(jobs), quick=True, only="naive,linear,mulvar", jobs=jobs, data_path=data_path,
                          log=lambda s: None, **QUIET)
        runs[jobs] = table.set_index("experiment")["valid_mae"]
    pd.testing.assert_series_equal(runs[1], runs[2])


def test_unknown_experiment():
    with pytest.raises(RidershipError, match="Unknown experiment.*transformer"):
        parse_only("univar,transformer")


def test_the_chapters_wavenet_layers_are_another_kind_of_run(tmp_path, data_path):
    """The default trains the fused WaveNet; a run of the chapter's layers is another kind of run."""
    out, lines = tmp_path / "results", []
    reproduce(out, only="wavenet", quick=True, data_path=data_path, log=lines.append, **QUIET)
    run = json.loads((out / "runs" / "wavenet-seed42.json").read_text())
    assert run["model"] == run["kind"]["model"] == "fused_wavenet"
    reproduce(out, only="wavenet", quick=True, data_path=data_path, log=lines.append, **QUIET)
    assert "skipped" in lines[-1]
    with pytest.raises(RidershipError, match="another kind.*--force"):
        reproduce(out, only="wavenet", quick=True, data_path=data_path, chapter_layers=True, log=lines.append, **QUIET)
    reproduce(out, only="wavenet", quick=True, data_path=data_path, chapter_layers=True, force=True,
              log=lines.append, **QUIET)
    assert json.loads((out / "runs" / "wavenet-seed42.json").read_text())["model"] == "wavenet"


def test_cli_unknown_experiment_exits_cleanly(capsys):
    from ridership.cli import main

    assert main(["reproduce", "--only", "nope", "--quick"]) == 2
    assert "Unknown experiment" in capsys.readouterr().err


def test_versus_book_puts_the_books_figure_beside_ours():
    from ridership import versus_book

    table = versus_book({"univar": 30_000.4, "lstm": 50_000})
    assert table.loc["univar", "book"] == 27_703 and table.loc["univar", "ours"] == 30_000
    assert table.loc["univar", "ours / book"] == round(30_000.4 / 27_703, 3)
    assert table["book"].isna().tolist() == [False, True]  # the book prints no LSTM figure at convergence
    # only one after 5 epochs, which stands in a column of its own, never in a ratio
    assert table.loc["lstm", "book, 5 epochs"] == 135_186 and pd.isna(table.loc["univar", "book, 5 epochs"])
    assert pd.isna(table.loc["lstm", "ours / book"])
    assert "book, 5 epochs" not in versus_book({"univar": 30_000.4}).columns


def test_horizon_plot_from_a_results_folder_keeps_the_labels_and_the_books_points(tmp_path):
    from ridership.result_plots import horizon_mae_plot

    labels = [f"+{h}" for h in range(1, 15)]
    pd.DataFrame({"horizon": labels, "mae": range(20_000, 34_000, 1_000),
                  "book_mae": [BOOK_HORIZONS.get(h) for h in labels]}).to_csv(tmp_path / "horizons.csv", index=False)
    ax = horizon_mae_plot(None, tmp_path).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == labels  # read back as "+1", not the number 1
    ours, book = ax.lines
    assert list(book.get_ydata()) == [BOOK_HORIZONS["+1"], BOOK_HORIZONS["+14"]]
