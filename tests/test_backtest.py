"""The walk-forward backtest: no forecast sees past its origin, ``never`` is ``reproduce``'s test score,
statsforecast's forecasts are statsforecast's own, bad input is one line, and the command resumes."""

import json

import numpy as np
import pandas as pd
import pytest

import ridership
from ridership import RidershipError
from ridership.backtest import backtest_days, refit_origins, walk_forward
from ridership.engine.backtest import FIGURES, parse_models, run_backtest

QUIET = {"progress": False}


@pytest.fixture(scope="module")
def df(data_path):
    return ridership.load_ridership(data_path)


@pytest.fixture(scope="module")
def initial(df):
    """Each network's initial model, trained once (quick) for the tests that start from one."""
    from ridership.experiments import fit_experiment

    return {name: fit_experiment(name, df, quick=True).model for name in ("linear", "mulvar", "ahead")}


def _poisoned(df: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
    """``df`` with every count after ``origin`` replaced by an absurd one: using any of them shows."""
    bad = df.copy()
    bad.loc[bad.index > origin, ["bus", "rail"]] = 10**9
    return bad


# (model, schedule, the position of the day after the origin: 14 follows a weekly refit, 9 falls between)
POISONED = [("naive", None, 9), ("sarima", None, 9), ("linear", "weekly", 14), ("linear", "weekly", 9),
            ("mulvar", "monthly", 9), ("ahead", "weekly", 14), ("autoets", "weekly", 9), ("mstl", "weekly", 9),
            ("mstl", "weekly", 14), ("autoarima", "never", 9)]


@pytest.mark.slow
@pytest.mark.parametrize("name,schedule,at", POISONED, ids=[f"{n}-{s}-{i}" for n, s, i in POISONED])
def test_a_poisoned_future_gives_the_same_forecasts(df, initial, name, schedule, at):
    if name in ("autoets", "mstl", "autoarima"):
        pytest.importorskip("statsforecast")
    days = backtest_days(df, quick=True)
    origin = days[at] - pd.Timedelta(days=1)
    kwargs = {"quick": True, "model": initial.get(name)}
    clean = walk_forward(name, df, schedule, **kwargs)
    poisoned = walk_forward(name, _poisoned(df, origin), schedule, **kwargs)
    assert poisoned.truth.max() == 10**9  # the poison is there to be read
    for h in clean.forecasts.columns:
        known = clean.forecasts.index <= origin + pd.Timedelta(days=h)  # made at the origin or before
        assert known.sum() >= 1
        expected, got = clean.forecasts.loc[known, h].dropna(), poisoned.forecasts.loc[known, h].dropna()
        pd.testing.assert_series_equal(got, expected)
        assert len(expected) == known.sum() - (h - 1)


@pytest.mark.slow
def test_the_never_schedule_reproduces_reproduces_test_maes(tmp_path, df, data_path):
    from ridership.engine.reproduce import reproduce

    table = reproduce(tmp_path / "r", only="naive,linear,mulvar", quick=True, data_path=data_path, jobs=1,
                      log=lambda line: None, **QUIET).set_index("experiment")
    end = f"{df.index[-1]:%Y-%m-%d}"
    assert walk_forward("naive", df).mae() == pytest.approx(table.loc["naive", "test_mae"], rel=1e-12)
    for name in ("linear", "mulvar"):
        back = walk_forward(name, df, "never", end=end, quick=True)  # the whole test period, quick training
        assert back.refits == 0 and back.seconds == 0
        # reproduce scores the windows that lie inside the test period: forecasts from its 57th day
        first = pd.Timestamp("2019-06-01") + pd.Timedelta(days=56)
        assert back.mae(1, f"{first:%Y-%m-%d}") == pytest.approx(table.loc[name, "test_mae"], rel=1e-4)


def test_refit_origins_follow_the_schedule():
    days = pd.date_range("2019-06-01", "2019-07-31")
    assert refit_origins(days, "never") == []
    assert [f"{o:%m-%d}" for o in refit_origins(days, "weekly")][:3] == ["05-31", "06-07", "06-14"]
    assert [f"{o:%m-%d}" for o in refit_origins(days, "monthly")] == ["05-31", "06-30"]


@pytest.mark.slow
def test_statsforecasts_forecasts_are_a_direct_statsforecast_call(df):
    pytest.importorskip("statsforecast")
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoARIMA, AutoETS

    from ridership.settings import STAT_HISTORY

    rail = df["rail"].astype(float)
    origin = pd.Timestamp("2019-05-31")  # every schedule fits here first
    for name, model in [("autoets", AutoETS(season_length=7)), ("mstl", MSTL(season_length=[7, 365])),
                        ("autoarima", AutoARIMA(season_length=7, approximation=True))]:
        back = walk_forward(name, df, "never", quick=True)
        known = rail.loc[:origin].iloc[-STAT_HISTORY[name]:]
        frame = pd.DataFrame({"unique_id": "rail", "ds": known.index, "y": known.to_numpy()})
        direct = StatsForecast(models=[model], freq="D").forecast(df=frame, h=14)
        column = direct.columns[-1]
        assert back.forecasts.loc["2019-06-01", 1] == pytest.approx(direct[column].iloc[0], rel=1e-9)
        assert back.forecasts.loc["2019-06-14", 14] == pytest.approx(direct[column].iloc[13], rel=1e-9)
    # between refits, AutoETS reads the new days with its parameters held: statsforecast's forward
    back = walk_forward("autoets", df, "monthly", quick=True)
    fit_days = rail.loc[:origin].iloc[-STAT_HISTORY["autoets"]:]
    fitted = AutoETS(season_length=7).fit(fit_days.to_numpy())
    later = rail.loc[fit_days.index[0]:"2019-06-09"].to_numpy()
    assert back.forecasts.loc["2019-06-10", 1] == pytest.approx(fitted.forward(y=later, h=1)["mean"][0], rel=1e-9)


@pytest.mark.parametrize("call,message", [
    (lambda df: walk_forward("prophet", df), "Unknown model 'prophet'"),
    (lambda df: walk_forward("linear", df, "daily"), "Unknown schedule 'daily'"),
    (lambda df: walk_forward("sarima", df, "weekly"), "takes no schedule"),
    (lambda df: walk_forward("linear", df, epochs=0), "epochs must be a whole number"),
    (lambda df: walk_forward("linear", df, windows=2.5), "windows must be a whole number"),
    (lambda df: walk_forward("naive", df, start="2030-01"), "outside the data"),
    (lambda df: walk_forward("naive", df, start="2021-11-25"), "at least 14 days"),
    (lambda df: walk_forward("mstl", df, history=365), "two years"),
])
def test_bad_input_is_one_line(df, call, message):
    with pytest.raises(RidershipError, match=message) as info:
        call(df)
    assert "\n" not in str(info.value)


def test_without_statsforecast_its_models_are_left_out_or_named(monkeypatch):
    assert "autoets" not in parse_models(None, statsforecast=False)
    assert parse_models(None, statsforecast=True)[-3:] == ["autoarima", "autoets", "mstl"]
    with pytest.raises(RidershipError, match=r"pip install 'ridership\[forecasters\]'"):
        parse_models("naive,autoets", statsforecast=False)
    with pytest.raises(RidershipError, match="Unknown model"):
        parse_models("naive,lstm")
    with pytest.raises(RidershipError, match="names no model"):
        parse_models(" , ")


@pytest.mark.parametrize("argv,message", [
    (["--only", "nope"], "Unknown model(s) nope"),
    (["--seed", "-1"], "must be at least 0"),
    (["--jobs", "0"], "must be at least 1"),
    (["--out", ""], "expected a path"),
])
def test_the_command_refuses_bad_input_in_one_line(capsys, argv, message):
    from ridership.cli import main

    try:
        code = main(["backtest", *argv])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.slow
def test_the_command_writes_table_and_figures_and_resumes(tmp_path, data_path, capsys):
    from ridership.cli import main

    out = tmp_path / "bt"
    only = "naive,sarima,linear"
    assert main(["backtest", "--quick", "--only", only, "--out", str(out), "--data", str(data_path)]) == 0
    table = pd.read_csv(out / "results.csv")
    assert list(table["model"]) == ["naive", "sarima", "linear", "linear", "linear"]
    assert list(table["schedule"]) == ["none", "daily", "never", "monthly", "weekly"]
    assert table["test"].gt(0).all() and table["collapse"].isna().all()  # quick: the first weeks only
    assert {p.name for p in out.glob("*.png")} == set(FIGURES)
    record = out / "runs" / "linear.json"
    stamp = record.stat().st_mtime_ns

    lines = []
    again = run_backtest(out, only=only, quick=True, data_path=data_path, log=lines.append, **QUIET)
    assert len(again) == 5 and record.stat().st_mtime_ns == stamp
    assert sum("skipped" in line for line in lines) == 3

    (out / "forecasts" / "naive.csv").write_text("damaged")  # a damaged run is done again
    lines = []
    run_backtest(out, only="naive", quick=True, data_path=data_path, log=lines.append, **QUIET)
    assert any("damaged" in line for line in lines)
    assert json.loads((out / "runs" / "naive.json").read_text())["rows"][0]["test"] > 0

    with pytest.raises(RidershipError, match="another kind"):  # another seed is another kind of run
        run_backtest(out, only="linear", seed=7, quick=True, data_path=data_path, **QUIET)
    capsys.readouterr()


def test_the_command_never_writes_into_another_commands_folder(tmp_path, data_path):
    from ridership.engine.plan import record_result
    from ridership.engine.runs import write_run

    out = tmp_path / "results"
    write_run(out, "naive", {"mode": "quick"}, record_result("reproduce", {"experiment": "naive"}))
    with pytest.raises(RidershipError, match="holds the results of `ridership reproduce`"):
        run_backtest(out, only="naive", quick=True, data_path=data_path, **QUIET)
    assert not (out / "results.md").exists()


def test_walk_forward_scores_each_part_of_the_test_period(df):
    back = walk_forward("naive", df)
    parts = back.part_maes()
    assert set(parts) == {"test", "before", "collapse", "recovery"}
    errors = back.errors()
    assert parts["collapse"] == pytest.approx(errors.loc["2020-03":"2020-06"].mean())
    assert np.isfinite(list(parts.values())).all()
