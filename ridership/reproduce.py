"""``ridership reproduce``: every experiment of the chapter, resumable, into one results folder.

Layout of the folder:

- ``runs/<experiment>-seed<N>.json``: one finished run (written last, atomically: its
  presence means the run is complete); ``models/<experiment>-seed<N>.keras`` beside it;
- ``results.csv``, ``results.json``, ``results.md``: one row per experiment (median,
  min and max over seeds), rewritten after every finished run;
- ``horizons.csv``: the seq2seq model's validation MAE per horizon (+1 to +14).

A rerun skips every run whose JSON exists for the same mode (quick or full), backend
and, for the WaveNet, layers, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import math
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from .data import SCALE, period, select
from .errors import RidershipError
from .experiments import BOOK_MAE, EXPERIMENTS, get_experiment, make_data
from .storage import atomic_path, write_json, write_text
from .training import MAX_EPOCHS, QUICK_EPOCHS, quick_mode

BASELINES = ("naive", "sarima")
ORDER = (*BASELINES, *EXPERIMENTS)
#: The book's per-horizon MAE of its seq2seq model (first and last horizons published).
BOOK_HORIZONS = {"+1": 25_519, "+14": 34_322}
FIRST_SEED = 42
#: How ``reproduce`` builds the WaveNet: one ``CausalConvStack`` (default) or the chapter's ``Conv1D`` layers.
WAVENET_LAYERS = ("fused", "chapter")
COLUMNS = ["experiment", "valid_mae", "valid_min", "valid_max", "test_mae", "book_mae", "ratio",
           "epochs", "seconds", "backend", "seeds", "mode"]


def parse_only(only: str | None) -> list[str]:
    """The experiments to run, in the chapter's order; unknown names are an error."""
    if not only:
        return list(ORDER)
    names = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in ORDER]
    if unknown:
        raise RidershipError(f"Unknown experiment(s) {', '.join(unknown)}; choose from {', '.join(ORDER)}.")
    return [n for n in ORDER if n in names]


def _run_id(name: str, seed: int | None) -> str:
    return name if seed is None else f"{name}-seed{seed}"


def _read_run(path: Path) -> dict | None:
    """One run record, or None if it is missing or unreadable (damaged by hand: treated as not done)."""
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def load_runs(out: Path) -> list[dict]:
    """Every finished run recorded in ``out/runs`` (temporary files are never read)."""
    runs = (_read_run(path) for path in sorted((out / "runs").glob("[!.]*.json")))
    return [run for run in runs if run is not None]


def _done(out: Path, run_id: str, mode: str, backend: str, wavenet_layers: str = "fused") -> dict | None:
    run = _read_run(out / "runs" / f"{run_id}.json")
    same = run is not None and run.get("mode") == mode and run.get("backend") in (backend, None)
    if same and run.get("experiment") == "wavenet":  # runs from before the fused layer used the chapter's
        same = (run.get("detail") or {}).get("wavenet_layers", "chapter") == wavenet_layers
    return run if same else None


def run_baseline(name: str, df: pd.DataFrame, quick: bool, workers: int | None = None) -> dict:
    """Validation and test MAE of the naive or SARIMA baseline on rail."""
    from .baselines import naive_errors, naive_forecast, sarima_backtest

    tick = time.perf_counter()
    rail = df["rail"]
    test_start, test_end = "2019-06-01", df.index[-1].strftime("%Y-%m-%d")
    if name == "naive":
        errors = naive_errors(df)
        valid = errors.loc["rail", "mae"]
        test = float(select((rail - naive_forecast(rail)).abs(), test_start, test_end).mean())
        detail = {"valid_period": "2019-03..2019-05", "bus_valid_mae": float(errors.loc["bus", "mae"])}
    else:
        backtest = sarima_backtest(rail, workers=workers)
        valid = backtest.mae
        refit = "weekly" if quick else "daily"
        test = sarima_backtest(rail, test_start, test_end, refit=refit, workers=workers).mae
        # the chapter backtests the validation period only: its time on its own, for comparisons
        detail = {"valid_period": "2019-03..2019-05", "test_refit": refit, "valid_seconds": backtest.seconds,
                  "engine": backtest.engine}
    return {"valid_mae": float(valid), "test_mae": float(test), "epochs": None,
            "seconds": time.perf_counter() - tick, "detail": detail}


def model_builder(name: str, wavenet_layers: str = "fused"):
    """The builder ``reproduce`` trains for experiment ``name``: the chapter's, except that the
    WaveNet runs as one ``CausalConvStack`` (the same function and initial weights, faster on a
    CPU) unless ``wavenet_layers="chapter"`` asks for its ``Conv1D`` layers."""
    from .models import MODELS, wavenet

    if wavenet_layers not in WAVENET_LAYERS:
        raise RidershipError(f"wavenet_layers must be one of {', '.join(WAVENET_LAYERS)}; got {wavenet_layers!r}.")
    if name == "wavenet" and wavenet_layers == "fused":
        return partial(wavenet, fused=True)
    return MODELS[name]


# Batches per call into Keras' compiled training step. 64 holds a whole epoch of every
# experiment (31 to 33 batches of 32), so Keras runs an epoch's steps back to back instead of
# going back to its per-batch bookkeeping between them: the same steps in the same order, so
# the same weights (a test compares the MAEs to the last digit); per epoch 1.08 times faster on
# JAX and 1.20 on TensorFlow, geometric means over models (``python benchmarks/steps.py``).
STEPS_PER_EXECUTION = 64


def run_model(name: str, data: dict, seed: int, epochs: int, verbose: int, model_path: Path,
              wavenet_layers: str = "fused") -> dict:
    """Train one experiment under one seed; save the model; return its figures."""
    import keras

    from .forecasting import horizon_mae
    from .training import HeapTrim, epochs_run, evaluate_mae, fit_and_evaluate, output_maes

    exp = get_experiment(name)
    tick = time.perf_counter()
    result = fit_and_evaluate(model_builder(name, wavenet_layers), data["train"], data["valid"], exp.learning_rate,
                              epochs=epochs, seed=seed, verbose=verbose, shuffle=exp.shuffle, callbacks=[HeapTrim()],
                              steps_per_execution=STEPS_PER_EXECUTION)
    seconds = time.perf_counter() - tick
    model = result.history.model
    detail = {"wavenet_layers": wavenet_layers} if name == "wavenet" else {}
    if name == "multask":
        bus, rail = output_maes(model, data["valid"])
        detail = {"bus_valid_mae": bus, "rail_valid_mae": rail}
    if name == "seq2seq":
        X, _ = data["valid"]
        truth = pd.Series(data["valid_rail"])
        detail = {"horizons": horizon_mae(model, X, truth).to_dict()}
    with atomic_path(model_path) as tmp:
        model.save(tmp)
    return {"valid_mae": result.mae, "test_mae": evaluate_mae(model, data["test"]),
            "epochs": epochs_run(result.history), "seconds": seconds, "detail": detail,
            "backend": keras.backend.backend()}


def summarise(runs: list[dict], names: list[str] | None = None) -> pd.DataFrame:
    """One row per experiment: the median over seeds with min and max, beside the book."""
    rows = []
    by_name: dict[str, list[dict]] = {}
    for run in runs:
        by_name.setdefault(run["experiment"], []).append(run)
    for name in ORDER:
        if name not in by_name or (names is not None and name not in names):
            continue
        group = by_name[name]
        valid = [r["valid_mae"] for r in group]
        epochs = [r["epochs"] for r in group if r.get("epochs") is not None]
        book = BOOK_MAE.get(name)
        median = float(np.median(valid))
        rows.append({
            "experiment": name, "valid_mae": median, "valid_min": min(valid), "valid_max": max(valid),
            "test_mae": float(np.median([r["test_mae"] for r in group])), "book_mae": book,
            "ratio": median / book if book else None,
            "epochs": int(np.median(epochs)) if epochs else None,
            "seconds": float(sum(r["seconds"] for r in group)),
            "backend": group[0].get("backend") or "-", "seeds": len(group), "mode": group[0]["mode"],
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def _fmt(value, spec="{:,.0f}") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return spec.format(value)


def markdown_table(table: pd.DataFrame) -> str:
    lines = ["| experiment | valid MAE (median) | min | max | test MAE | book | ratio | epochs | seconds | seeds |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in table.to_dict("records"):
        lines.append(f"| {row['experiment']} | {_fmt(row['valid_mae'])} | {_fmt(row['valid_min'])} | "
                     f"{_fmt(row['valid_max'])} | {_fmt(row['test_mae'])} | {_fmt(row['book_mae'])} | "
                     f"{_fmt(row['ratio'], '{:.2f}')} | {_fmt(row['epochs'], '{:.0f}')} | {_fmt(row['seconds'], '{:.0f}')} | "
                     f"{row['seeds']} |")
    return "\n".join(lines) + "\n"


def horizon_table(runs: list[dict]) -> pd.DataFrame:
    """The seq2seq per-horizon validation MAE: median over seeds, beside the book's published ends."""
    rows = [r["detail"]["horizons"] for r in runs if r["experiment"] == "seq2seq" and "horizons" in r.get("detail", {})]
    if not rows:
        return pd.DataFrame(columns=["horizon", "mae", "book_mae"])
    frame = pd.DataFrame(rows)
    return pd.DataFrame({"horizon": frame.columns, "mae": frame.median().to_numpy(),
                         "book_mae": [BOOK_HORIZONS.get(h) for h in frame.columns]})


def write_tables(out: Path, names: list[str] | None = None) -> pd.DataFrame:
    runs = load_runs(out)
    table = summarise(runs, names)
    with atomic_path(out / "results.csv") as tmp:
        table.to_csv(tmp, index=False)
    write_json(out / "results.json", table.replace({np.nan: None}).to_dict("records"))
    write_text(out / "results.md", markdown_table(table))
    horizons = horizon_table(runs)
    with atomic_path(out / "horizons.csv") as tmp:
        horizons.to_csv(tmp, index=False)
    return table


#: Typical seconds of one run on a 2-core CPU (JAX), to start the longest first in parallel runs.
COST_HINT = {"sarima": 5, "full_wavenet": 66, "wavenet": 62, "gru": 62, "lstm": 59, "conv_rnn": 37, "custom_ln": 21,
             "custom_loop": 20, "seq2seq": 18, "deep": 16, "multask": 15, "ahead": 15}


def reproduce(out: str | Path = "results", only: str | None = None, seeds: int = 1, quick: bool = False,
              force: bool = False, verbose: int = 0, data_path=None, progress: bool = True, log=None,
              jobs: int = 1, wavenet_layers: str = "fused", compile_cache: bool = True) -> pd.DataFrame:
    """Run the chapter's experiments into ``out``; skip what is already done. Returns the table.

    ``jobs`` > 1 trains that many runs at once, in this process and ``jobs - 1`` workers,
    each limited to ``cores // jobs`` threads (small recurrent models use one core
    poorly; two such processes use two cores well). Every run seeds itself, so the
    results do not depend on ``jobs`` or on the order runs finish in. After each model's run
    ``keras.backend.clear_session()`` releases it, so memory does not grow run after run.
    ``wavenet_layers="chapter"`` trains the WaveNet with the chapter's ``Conv1D`` layers
    instead of the faster ``CausalConvStack`` that computes the same (see ``model_builder``).
    On JAX, ``compile_cache`` keeps the compiled programs in ``out/compile-cache`` so that
    runs load what earlier ones compiled (``ridership.compile_cache``); same results either way.
    """
    import keras

    from .compile_cache import CACHE_DIR, persistent_compile_cache

    if seeds < 1:
        raise RidershipError(f"--seeds must be at least 1; got {seeds}.")
    if jobs < 1:
        raise RidershipError(f"--jobs must be at least 1; got {jobs}.")
    if wavenet_layers not in WAVENET_LAYERS:
        raise RidershipError(f"--wavenet-layers must be one of {', '.join(WAVENET_LAYERS)}; got {wavenet_layers!r}.")
    out = Path(out)
    names = parse_only(only)
    backend = keras.backend.backend()
    quick = quick or quick_mode()
    mode = "quick" if quick else "full"
    (out / "runs").mkdir(parents=True, exist_ok=True)
    (out / "models").mkdir(parents=True, exist_ok=True)

    jobs_list = [(n, None) if n in BASELINES else (n, FIRST_SEED + k) for n in names
                 for k in range(1 if n in BASELINES else seeds)]
    bar = _bar(len(jobs_list), progress and not verbose)
    log = log or bar.write  # lines print above the progress bar
    todo = []
    for name, seed in jobs_list:
        run_id = _run_id(name, seed)
        if not force and (done := _done(out, run_id, mode, backend if seed is not None else None,
                                         wavenet_layers)):
            log(f"{run_id:24} done before   valid MAE {done['valid_mae']:>9,.0f}  (skipped)")
            bar.update(1)
        else:
            todo.append((name, seed))

    def finished(record: dict) -> None:
        epochs_txt = f"{record['epochs']:4d} epochs" if record.get("epochs") else "          "
        log(f"{_run_id(record['experiment'], record['seed']):24} {epochs_txt}  valid MAE {record['valid_mae']:>9,.0f}"
            f"  test MAE {record['test_mae']:>9,.0f}  {record['seconds']:7.1f} s")
        write_tables(out)
        bar.update(1)

    settings = {"out": str(out), "mode": mode, "verbose": verbose, "data_path": data_path, "sarima_workers": None,
                "wavenet_layers": wavenet_layers}
    _setup(data_path)  # a bad data file stops here, with its message, before any worker starts
    with persistent_compile_cache(out / CACHE_DIR if compile_cache and todo else None):
        if jobs == 1 or len(todo) <= 1:
            for name, seed in todo:
                finished(run_job(name, seed, settings))
        else:
            _run_parallel(todo, settings, jobs, backend, finished)
    bar.close()
    return write_tables(out, names=None)


# --- one run, in this process or in a worker ---------------------------------------------------

_STATE: dict = {}


def _setup(data_path) -> None:
    """Load the data once per process; datasets are built once per kind, on first use."""
    from .data import load_ridership

    if _STATE.get("data_path", object()) != data_path:
        _STATE.update(data_path=data_path, df=load_ridership(data_path), cache={})


def run_job(name: str, seed: int | None, settings: dict) -> dict:
    """Train (or backtest) one run and write its record; its presence marks the run done."""
    df, cache, out = _STATE["df"], _STATE["cache"], Path(settings["out"])
    quick = settings["mode"] == "quick"
    if name in BASELINES:
        record = run_baseline(name, df, quick, workers=settings["sarima_workers"])
        record["backend"] = None
    else:
        kind = EXPERIMENTS[name].data
        if kind not in cache:
            cache[kind] = make_data(kind, df)
            cache[kind]["valid_rail"] = (period(df["rail"], "valid") / SCALE).to_numpy()
        record = run_model(name, cache[kind], seed, QUICK_EPOCHS if quick else MAX_EPOCHS, settings["verbose"],
                           out / "models" / f"{_run_id(name, seed)}.keras", settings.get("wavenet_layers", "fused"))
    record.update({"experiment": name, "seed": seed, "mode": settings["mode"]})
    write_json(out / "runs" / f"{_run_id(name, seed)}.json", record)
    if name not in BASELINES:
        _release()
    return record


def _release() -> None:
    """Drop the finished model and its compiled functions, so memory does not grow run after run."""
    import keras

    from .parallel import release_memory

    keras.backend.clear_session()
    release_memory()


def _worker_init(data_path, threads: int) -> None:
    from .parallel import worker_setup

    worker_setup(threads)
    _setup(data_path)


def _run_parallel(todo, settings, jobs, backend, finished) -> None:
    """``jobs`` runs at a time, longest first: ``jobs - 1`` worker processes and this process.

    This process trains too rather than only waiting: a coordinator alone would hold a
    Keras import's worth of memory (about 280 MB) for nothing. One thread per worker
    hands it the next run and reports the result; every run seeds itself, so who runs
    what, and in which order they finish, does not change the results.
    """
    import os
    import threading
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    from .parallel import context, cores, limit_threads

    os.environ["KERAS_BACKEND"] = backend  # the workers start on this process's backend
    jobs = min(jobs, len(todo))
    threads = max(1, cores() // jobs)
    limit_threads(threads)  # for this process too, if its backend has not started yet
    settings = {**settings, "sarima_workers": 1}
    queue = deque(sorted(todo, key=lambda job: -COST_HINT.get(job[0], 5)))
    lock, errors = threading.Lock(), []

    def next_job():
        with lock:
            return queue.popleft() if queue and not errors else None

    def report(record):
        with lock:
            finished(record)

    pool = ProcessPoolExecutor(jobs - 1, mp_context=context(),
                               initializer=_worker_init, initargs=(settings["data_path"], threads))

    def feed():
        try:
            while (job := next_job()) is not None:
                report(pool.submit(run_job, *job, settings).result())
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            with lock:
                errors.append(exc)

    try:
        # Start the workers now, while this process has not started computing (a fork must come first).
        for started in [pool.submit(os.getpid) for _ in range(jobs - 1)]:
            started.result()
        feeders = [threading.Thread(target=feed, daemon=True) for _ in range(jobs - 1)]
        for feeder in feeders:
            feeder.start()
        while (job := next_job()) is not None:
            report(run_job(*job, settings))
        for feeder in feeders:
            while feeder.is_alive():
                feeder.join(timeout=0.5)  # a timeout keeps Ctrl-C working while we wait
        if errors:
            raise errors[0]
    except BaseException:
        with lock:
            queue.clear()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _bar(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="reproduce", unit="run", disable=None if enabled else True, leave=False)  # None: off when not a terminal
