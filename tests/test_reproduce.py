"""``ridership reproduce``: quick end to end, resumable after a kill, nothing half-written read back."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import pandas as pd
import pytest

from ridership.reproduce import ORDER, STEPS_PER_EXECUTION, parse_only, reproduce
from ridership import RidershipError


def test_quick_run_writes_every_experiment_and_rerun_skips(tmp_path, data_path):
    out = tmp_path / "results"
    lines = []
    table = reproduce(out, quick=True, data_path=data_path, progress=False, log=lines.append)
    assert list(table["experiment"]) == list(ORDER)
    csv = pd.read_csv(out / "results.csv")
    assert list(csv["experiment"]) == list(ORDER)
    assert {"experiment", "valid_mae", "test_mae", "book_mae", "ratio", "epochs", "seconds", "backend",
            "seeds"} <= set(csv.columns)
    assert csv["valid_mae"].gt(0).all() and csv["test_mae"].gt(0).all()
    assert csv.loc[csv.experiment == "naive", "valid_mae"].item() == pytest.approx(42_143.3, abs=0.1)
    assert len(json.loads((out / "results.json").read_text())) == len(ORDER)
    assert (out / "results.md").read_text().count("\n") == len(ORDER) + 2
    assert len(pd.read_csv(out / "horizons.csv")) == 14
    assert len(list((out / "models").glob("*.keras"))) == len(ORDER) - 2
    assert keras.saving.load_model(out / "models" / "univar-seed42.keras").steps_per_execution == STEPS_PER_EXECUTION
    sarima = json.loads((out / "runs" / "sarima.json").read_text())
    assert 0 < sarima["detail"]["valid_seconds"] < sarima["seconds"]  # the test backtest comes on top
    assert all("skipped" not in line for line in lines)

    again = []
    reproduce(out, quick=True, data_path=data_path, progress=False, log=again.append)
    assert len(again) == len(ORDER) and all("skipped" in line for line in again)

    # the model figures come from the saved models and tables, without retraining
    from ridership.cli import main
    from ridership.plots import DATA_FIGURES
    from ridership.result_plots import RESULT_FIGURES

    figures = tmp_path / "figures"
    assert main(["figures", "--data", str(data_path), "--results", str(out), "--out", str(figures)]) == 0
    expected = {f"{n}.png" for n in [*DATA_FIGURES, *RESULT_FIGURES]}
    assert {p.name for p in figures.glob("*.png")} == expected and len(expected) >= 9


def test_killed_run_resumes_without_redoing_work(tmp_path, data_path):
    out = tmp_path / "results"
    only = "linear,univar,mulvar,seq2seq"
    # the command's defaults (two runs at once, in worker processes), on this process's backend
    cmd = [sys.executable, "-m", "ridership", "reproduce", "--quick", "--only", only, "--out", str(out),
           "--data", str(data_path), "--backend", keras.backend.backend()]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    runs = out / "runs"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not list(runs.glob("[!.]*.json")):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # as abrupt as a power cut
    proc.wait()
    finished = sorted(p.stem for p in runs.glob("[!.]*.json"))
    assert finished and len(finished) < 4, finished
    # a half-written file from the killed run would be a temporary: plant one, it must be ignored
    (runs / ".univar-seed42.json.abc.tmp.json").write_text('{"experiment": "univar", "valid')
    lines = []
    table = reproduce(out, quick=True, only=only, data_path=data_path, progress=False, log=lines.append)
    skipped = sorted(line.split()[0] for line in lines if "skipped" in line)
    assert skipped == finished
    assert list(table["experiment"]) == ["linear", "univar", "mulvar", "seq2seq"]


def test_seeds_give_spread_and_same_seed_same_result(tmp_path, data_path):
    out = tmp_path / "r"
    table = reproduce(out, quick=True, only="linear", seeds=2, data_path=data_path, progress=False, log=lambda s: None)
    row = table.iloc[0]
    assert row["seeds"] == 2 and row["valid_min"] <= row["valid_mae"] <= row["valid_max"]
    first = json.loads((out / "runs" / "linear-seed42.json").read_text())
    again = reproduce(tmp_path / "r2", quick=True, only="linear", data_path=data_path, progress=False,
                      log=lambda s: None)
    assert again.iloc[0]["valid_mae"] == first["valid_mae"]  # the same seed gives the same MAE


def test_unknown_experiment():
    with pytest.raises(RidershipError, match="Unknown experiment.*transformer"):
        parse_only("univar,transformer")


def test_wavenet_layers_choose_the_builder_and_a_rerun_keeps_them_apart(tmp_path, data_path):
    """The default trains the fused WaveNet; its run is not taken for a run of the chapter's layers."""
    from ridership.models import MODELS
    from ridership.reproduce import model_builder

    assert model_builder("wavenet")().layers[-1].__class__.__name__ == "CausalConvStack"
    assert model_builder("wavenet", "chapter") is MODELS["wavenet"]
    assert model_builder("full_wavenet") is MODELS["full_wavenet"]
    with pytest.raises(RidershipError, match="wavenet_layers.*fused, chapter"):
        model_builder("wavenet", "conv")
    with pytest.raises(RidershipError, match="--wavenet-layers"):
        reproduce(tmp_path, only="wavenet", wavenet_layers="conv")
    out, lines = tmp_path / "results", []
    reproduce(out, only="wavenet", quick=True, data_path=data_path, progress=False, log=lines.append)
    run = json.loads((out / "runs" / "wavenet-seed42.json").read_text())
    assert run["detail"]["wavenet_layers"] == "fused"
    reproduce(out, only="wavenet", quick=True, data_path=data_path, progress=False, log=lines.append)
    assert "skipped" in lines[-1]
    reproduce(out, only="wavenet", quick=True, data_path=data_path, progress=False, log=lines.append,
              wavenet_layers="chapter")
    assert "skipped" not in lines[-1]
    run = json.loads((out / "runs" / "wavenet-seed42.json").read_text())
    assert run["detail"]["wavenet_layers"] == "chapter"


def test_cli_unknown_experiment_exits_cleanly(capsys):
    from ridership.cli import main

    assert main(["reproduce", "--only", "nope", "--quick"]) == 2
    assert "Unknown experiment" in capsys.readouterr().err


def test_backend_option_restarts_on_that_backend(tmp_path, data_path):
    out = tmp_path / "jax"
    done = subprocess.run([sys.executable, "-m", "ridership", "reproduce", "--quick", "--only", "linear",
                           "--backend", "jax", "--out", str(out), "--data", str(data_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "backend: jax" in done.stdout
    assert pd.read_csv(out / "results.csv")["backend"].tolist() == ["jax"]


def test_versus_book_puts_the_books_figure_beside_ours():
    from ridership import versus_book

    table = versus_book({"univar": 30_000.4, "lstm": 50_000})
    assert table.loc["univar", "book"] == 27_703 and table.loc["univar", "ours"] == 30_000
    assert table.loc["univar", "ours / book"] == round(30_000.4 / 27_703, 3)
    assert table["book"].isna().tolist() == [False, True]  # the book prints no LSTM figure


def test_horizon_plot_from_a_results_folder_keeps_the_labels_and_the_books_points(tmp_path):
    from ridership.reproduce import BOOK_HORIZONS
    from ridership.result_plots import horizon_mae_plot

    labels = [f"+{h}" for h in range(1, 15)]
    pd.DataFrame({"horizon": labels, "mae": range(20_000, 34_000, 1_000),
                  "book_mae": [BOOK_HORIZONS.get(h) for h in labels]}).to_csv(tmp_path / "horizons.csv", index=False)
    ax = horizon_mae_plot(None, tmp_path).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == labels  # read back as "+1", not the number 1
    ours, book = ax.lines
    assert list(book.get_ydata()) == [BOOK_HORIZONS["+1"], BOOK_HORIZONS["+14"]]
