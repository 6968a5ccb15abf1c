"""``ridership backtest``: the walk-forward backtest of every model, in worker processes, into one folder.

A backtest folder holds

- ``runs/<model>.json``: one model's backtest under each of its schedules (``ridership.engine.runs``),
  written last;
- ``forecasts/<model>.csv``: its forecasts by day, one column per schedule and horizon;
- ``results.csv``, ``results.json``, ``results.md``: the table, one row per model, schedule and
  horizon: the test MAE overall and over its three parts, and the refits' seconds;
- ``backtest_rail.png``, ``backtest_monthly_mae.png``: the best network, SARIMA and the best
  statistical forecaster over the test period, and their MAE by month.

It resumes as ``ridership reproduce`` does (``ridership.engine.plan``): a finished model of the
same kind (mode, backend, seed, refit settings, data) is skipped, a damaged one redone, one of
another kind refused without ``force``; a folder of another command is refused.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from ..backtest import (BACKTEST_MODELS, NETWORKS, STATISTICAL, has_statsforecast, horizons_for,
                        schedules_for, walk_forward)
from ..arguments import chosen
from ..errors import RidershipError
from ..forecasters import FORECASTERS_HINT, forecaster_spec
from ..settings import FINE_TUNE_EPOCHS, FINE_TUNE_WINDOWS, FIRST_SEED, STAT_HISTORY, quick_mode
from .plan import Wanted, claim, plan_runs, record_result
from .runs import RUNS_DIR, folder_lock, load_runs, remove_temporaries, write_run
from .storage import atomic_path, given_folder, output_error, save_figure, writable_folder
from .tables import markdown_rows, number_cell as cell, write_results

COMMAND = "backtest"
FORECASTS_DIR = "forecasts"
RUN_FIELDS = {"model": str, "rows": list}
FIGURES = ("backtest_rail.png", "backtest_monthly_mae.png")
#: Rough relative cost, so that the longest runs start first.
COST = {"naive": 0, "sarima": 2, "linear": 3, "univar": 4, "mulvar": 5, "deep": 8, "ahead": 7, "seq2seq": 9,
        "autoarima": 10, "autoets": 4, "mstl": 3}
PART_COLUMNS = ["test", "before", "collapse", "recovery"]
COLUMNS = ["model", "schedule", "horizon", *PART_COLUMNS, "refits", "refit_seconds"]


def parse_models(only: str | None, statsforecast: bool | None = None) -> list[str]:
    """The models to backtest, in the table's order; unknown names are an error.

    Without statsforecast the statistical forecasters are left out of the default, and asking for
    one by name is an error naming the extra.
    """
    statsforecast = has_statsforecast() if statsforecast is None else statsforecast
    if only is None:
        return [n for n in BACKTEST_MODELS if statsforecast or n not in STATISTICAL]
    names = chosen(only, BACKTEST_MODELS, "model", "univar,sarima")
    wanting = [n for n in names if n in STATISTICAL]
    if wanting and not statsforecast:
        raise RidershipError(f"{', '.join(wanting)} need(s) statsforecast, which is not installed: {FORECASTERS_HINT}")
    return names


def kind_of(name: str, mode: str, backend: str, data: str, seed: int) -> dict:
    """What makes a model's backtest of one kind: what changes its numbers."""
    kind = {"mode": mode, "data": data}
    if name in NETWORKS:
        kind.update(backend=backend, seed=seed, refit=f"{FINE_TUNE_EPOCHS} epochs on {FINE_TUNE_WINDOWS} windows")
    elif name in STATISTICAL:
        kind.update(history=STAT_HISTORY[name], model=forecaster_spec(name))
    return kind


def backtest_job(job: tuple, cpus: list[int]) -> dict:
    """Backtest one model under each of its schedules in this worker; write its forecasts and record.

    ``job`` is ``(name, settings)``, the data coming once per worker from the pool.
    """
    from .reproduce import prepare_process
    from .workers import shared

    name, settings = job
    df = shared()
    prepare_process(settings["backend"], cpus)
    return run_model(name, df, Path(settings["out"]), settings["kind"], settings["seed"], settings["quick"])


def run_model(name: str, df: pd.DataFrame, out: Path, kind: dict, seed: int, quick: bool) -> dict:
    """One model's backtest under each of its schedules, written to ``out``; returns its record."""
    record, frame = backtest_model(name, df, seed, quick)
    path = out / FORECASTS_DIR / f"{name}.csv"
    try:
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index_label="date")
    except OSError as exc:
        raise output_error(exc, path, "the forecasts") from None
    return write_run(out, name, kind, record_result(COMMAND, record), [path])


def remote_job(job: tuple, cpus=None):
    """For a Dask worker, in a process of its own: one model's backtest; its record's fields and forecasts' bytes.

    ``job`` is ``(name, settings, data_path)``; the data is read as the package finds it on the
    worker and checked to be the driver's. The driver writes what comes back
    (``ridership.engine.cluster.keep_returned``).
    """
    from .cluster import Returned, file_bytes
    from .reproduce import prepare_process, worker_data

    name, settings, data_path = job
    prepare_process(settings["backend"], None)
    df = worker_data(data_path, settings["kind"]["data"])
    record, frame = backtest_model(name, df, settings["seed"], settings["quick"])
    files = {f"{FORECASTS_DIR}/{name}.csv": file_bytes(lambda path: frame.to_csv(path, index_label="date"),
                                                       f"{name}.csv")}
    return Returned(name, record_result(COMMAND, record), files)


def backtest_model(name: str, df: pd.DataFrame, seed: int, quick: bool) -> tuple[dict, pd.DataFrame]:
    """One model's backtest under each of its schedules: its record's fields, and its forecasts by day."""
    tick = time.perf_counter()
    model, initial_seconds = None, 0.0
    if name in NETWORKS:
        from ..experiments import fit_experiment

        model = fit_experiment(name, df, seed, quick=quick).model
        initial_seconds = time.perf_counter() - tick
    columns, rows = {}, []
    truth = None
    for schedule in schedules_for(name):
        back = walk_forward(name, df, None if name in ("naive", "sarima") else schedule, seed=seed, quick=quick,
                            model=model)
        truth = back.truth
        for h in horizons_for(name):
            columns[f"{schedule}/day{h}"] = back.forecasts[h]
            rows.append({"model": name, "schedule": schedule, "horizon": h, **back.part_maes(h),
                         "refits": back.refits, "refit_seconds": back.seconds})
    record = {"model": name, "rows": _json_rows(rows), "initial_seconds": initial_seconds,
              "seconds": time.perf_counter() - tick}
    return record, pd.DataFrame({"truth": truth, **columns})


def _json_rows(rows: list[dict]) -> list[dict]:
    """NaN (a part the backtest does not reach) as null, for JSON."""
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()} for row in rows]


def _on_cluster(items: list[tuple], out: Path, kinds: dict, data_path, jobs: int | None, finished,
                scheduler: str) -> None:
    """The models ``items`` backtested on the Dask cluster at ``scheduler``; each written here as it comes back."""
    import os

    from .cluster import executor_for, keep_returned, remote
    from .workers import run_longest_first

    where = None if data_path is None else os.path.abspath(data_path)  # a path valid on the workers
    jobs_of = [(name, settings, where) for name, settings in items]

    def kept(job, returned):
        finished(job, keep_returned(out, returned, kinds[job[0]], RUN_FIELDS))

    backend = items[0][1]["backend"]
    run_longest_first(remote(f"{__name__}:remote_job", backend), jobs_of, min(jobs or len(jobs_of), len(jobs_of)),
                      lambda job: COST[job[0]], kept, executor=executor_for(scheduler))


def summarise(records: list[dict]) -> pd.DataFrame:
    """The table: one row per model, schedule and horizon, in ``BACKTEST_MODELS``' order."""
    order = {name: i for i, name in enumerate(BACKTEST_MODELS)}
    rows = [row for record in sorted(records, key=lambda r: order.get(r["model"], len(order)))
            for row in record["rows"]]
    return pd.DataFrame(rows, columns=COLUMNS).astype({c: float for c in PART_COLUMNS})


def markdown_table(table: pd.DataFrame) -> str:
    """The table as Markdown: MAEs in riders with thousands separators."""
    headers = ["model", "schedule", "day", "test MAE", "2019-06..2020-02", "2020-03..2020-06", "2020-07..end",
               "refits", "refit seconds"]
    return markdown_rows(headers, [[row["model"], row["schedule"], str(row["horizon"]),
                                    *(cell(row[c]) for c in PART_COLUMNS), str(row["refits"]),
                                    cell(row["refit_seconds"], "{:,.1f}")] for row in table.to_dict("records")])


def best_three(table: pd.DataFrame) -> list[tuple[str, str]]:
    """(model, schedule) of the best network, SARIMA and the best statistical forecaster, one day ahead."""
    day1 = table[table["horizon"] == 1]
    chosen = []
    for group in (NETWORKS, ("sarima",), STATISTICAL):
        rows = day1[day1["model"].isin(group)].dropna(subset=["test"])
        if len(rows):
            best = rows.loc[rows["test"].idxmin()]
            chosen.append((best["model"], best["schedule"]))
    return chosen


def draw_figures(out: Path, table: pd.DataFrame) -> list[Path]:
    """The two figures, from the forecasts of the best three (atomically); none without them."""
    from ..backtest_plots import monthly_mae_plot, rail_forecasts_plot

    chosen = best_three(table)
    if not chosen:
        return []
    forecasts, truth = {}, None
    for model, schedule in chosen:
        frame = pd.read_csv(out / FORECASTS_DIR / f"{model}.csv", index_col="date", parse_dates=["date"])
        truth = frame["truth"]
        forecasts[f"{model} ({schedule})"] = frame[f"{schedule}/day1"]
    paths = [save_figure(rail_forecasts_plot(truth, forecasts), out / FIGURES[0]),
             save_figure(monthly_mae_plot(truth, forecasts), out / FIGURES[1])]
    return paths


def run_backtest(out: str | Path = "backtest", only: str | None = None, seed: int = FIRST_SEED, quick: bool = False,
                 force: bool = False, data_path=None, jobs: int | None = None, backend: str | None = None,
                 progress: bool = True, log=None, scheduler: str | None = None) -> pd.DataFrame:
    """Backtest the models into ``out``; skip what is already done. Returns the table.

    Args:
        out: the backtest folder.
        only: comma-separated models (default: all; the statistical ones when statsforecast is installed).
        seed: the networks' seed (their initial training, as ``ridership reproduce`` trains it, and their refits).
        quick: a few epochs, the first weeks of the test period (also ``RIDERSHIP_QUICK=1``).
        force: backtest again models already done, also those of another kind.
        data_path: the data (default: ``RIDERSHIP_DATA``, the cache, a download).
        jobs: models backtested at once, one process each (default: one per core; with
            ``scheduler``, models in flight on the cluster, default all).
        backend: the networks' Keras backend (default: ``ridership.backend``'s choice).
        progress: a progress bar; ``log``: where lines go (default: above the bar).
        scheduler: a Dask scheduler's address (``tcp://HOST:PORT``): the models are backtested
            on its workers and written here (``ridership.engine.cluster``); None: local processes.
    """
    from tqdm.auto import tqdm

    from ..backend import checked_backend
    from ..data import load_ridership
    from .reproduce import Settings, _worker_env, fingerprint
    from .runtime import cores

    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise RidershipError(f"--seed must be a whole number of at least 0; got {seed!r}.")
    jobs = (len(cores()) if scheduler is None else None) if jobs is None else jobs
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise RidershipError(f"--jobs must be a whole number of at least 1; got {jobs!r}.")
    names = parse_models(only)
    claim(given_folder(out), COMMAND)
    df = load_ridership(data_path)
    mode = "quick" if quick or quick_mode() else "full"
    backend = checked_backend(backend)
    data = fingerprint(df)
    out = writable_folder(out, RUNS_DIR, FORECASTS_DIR)
    with folder_lock(out), tqdm(total=0, desc="backtest", unit="model", leave=False,
                                disable=None if progress else True) as bar:
        log = log or bar.write
        removed = remove_temporaries(out) + remove_temporaries(out / FORECASTS_DIR)
        if removed:
            log(f"removed {len(removed)} temporary file(s) an interrupted run left in {out}")
        if only is None and not has_statsforecast():
            log(f"AutoARIMA, AutoETS and MSTL are left out: statsforecast is not installed ({FORECASTERS_HINT}).")
        kinds = {name: kind_of(name, mode, backend, data, seed) for name in names}
        plan = plan_runs(out, [Wanted(name, kinds[name], name) for name in names], RUN_FIELDS, force)
        plan.report(log, lambda run, record: f"{run.rid:10} done before (skipped)")
        plan.refuse_other_kinds(kinds[names[-1]])
        todo = [run.job for run in plan.todo]
        bar.total = len(todo)
        bar.refresh()

        def finished(job, record):
            best = min((row for row in record["rows"] if row["horizon"] == 1),
                       key=lambda row: row["test"] if row["test"] is not None else float("inf"))
            log(f"{record['run']:10} best: {best['schedule']:8} test MAE {best['test']:>9,.0f}  "
                f"{record['seconds']:7.1f} s")
            bar.update(1)

        if todo:
            from concurrent.futures.process import BrokenProcessPool

            from .workers import run_longest_first

            items = [(name, {"out": str(out), "kind": kinds[name], "seed": seed, "quick": mode == "quick",
                             "backend": backend}) for name in todo]
            try:
                if scheduler is None:
                    run_longest_first(backtest_job, items, min(jobs, len(items)), lambda item: COST[item[0]],
                                      finished, env=_worker_env(Settings(str(out), mode, backend, data)), shared=df)
                else:
                    _on_cluster(items, out, kinds, data_path, jobs, finished, scheduler)
            except BrokenProcessPool:
                raise RidershipError("A worker process ended without finishing its model (out of memory, or "
                                     "killed?). Finished models are kept: run the same command again to resume.") from None
            finally:
                remove_temporaries(out)
                remove_temporaries(out / FORECASTS_DIR)
        records = load_runs(out, RUN_FIELDS, lambda record: record["kind"] == kinds.get(record["model"]))
        table = summarise(records)
        try:
            write_results(out, table, markdown_table(table))
            draw_figures(out, table)
        except OSError as exc:
            raise output_error(exc, out, "the backtest's table and figures") from None
        return table

