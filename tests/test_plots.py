"""The chapter's data figures: each is a Figure with data drawn, and the CLI saves them all."""

import pytest
from matplotlib.figure import Figure

from ridership import plots
from ridership.baselines import sarima_backtest


@pytest.mark.parametrize("name", [n for n in plots.DATA_FIGURES if n != "sarima_backtest_plot"])
def test_data_figure_draws_lines(df, name):
    fig = plots.DATA_FIGURES[name](df)
    assert isinstance(fig, Figure)
    drawn = sum(len(ax.lines) + len(ax.collections) for ax in fig.axes)
    assert drawn >= 2


def test_cli_figures_writes_pngs(df, data_path, tmp_path, monkeypatch):
    from ridership.cli import main

    back = sarima_backtest(df["rail"], refit="never")
    monkeypatch.setattr(plots, "sarima_backtest", lambda series: back)  # keeps the test fast
    assert main(["figures", "--data", str(data_path), "--out", str(tmp_path)]) == 0
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == sorted(f"{n}.png" for n in plots.DATA_FIGURES)
    assert all((tmp_path / p).read_bytes()[:4] == b"\x89PNG" for p in pngs)
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary files left behind
