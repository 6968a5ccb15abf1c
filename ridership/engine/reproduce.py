"""``ridership reproduce``: every experiment of the chapter, in worker processes, into one folder.

A results folder holds

- ``runs/<experiment>-seed<N>.json``: one finished run (``ridership.engine.runs``), written last;
- ``models/<experiment>-seed<N>.keras``: its trained model;
- ``results.csv``, ``results.json``, ``results.md``, ``horizons.csv`` (``ridership.engine.tables``),
  rewritten after every finished run;
- ``compile-cache/``: on JAX, the compiled programs, which other seeds and reruns load.

A rerun does only what is missing: a finished run of the same kind (mode, backend, model,
data) is skipped; a damaged one (its record unreadable, its model missing or changed) is
named and trained again; a run of another kind is never replaced without ``force``.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from ..baselines import BASELINES
from ..datasets import check_periods
from ..arguments import chosen
from ..errors import RidershipError
from ..experiments import EXPERIMENTS
from ..settings import FIRST_SEED, quick_mode
from .plan import Wanted, claim, plan_runs, record_result
from .runs import MODELS_DIR, RUNS_DIR, folder_lock, load_runs, remove_temporaries, run_id, save_model, write_run
from .runtime import COMPILE_CACHE
from .storage import given_folder, output_error, writable_folder
from .tables import ROW_ORDER, write_tables

COMMAND = "reproduce"
#: What a run record holds besides the common fields (``ridership.engine.runs``).
RUN_FIELDS = {"experiment": str, "seed": (int, type(None)), "valid_mae": float, "test_mae": float,
              "epochs": (int, type(None)), "detail": dict}
# JAX warns and compiles afresh when a cache entry cannot be read (one process reading what
# another is still writing): harmless.
_CACHE_WARNING = "Error reading persistent compilation cache entry"


def parse_only(only: str | None) -> list[str]:
    """The experiments to run, in the chapter's order; unknown names are an error."""
    return chosen(only, ROW_ORDER, "experiment", "univar,lstm")


def fingerprint(df: pd.DataFrame) -> str:
    """A short checksum of the cleaned data: runs on other data are another kind of run."""
    return hashlib.sha256(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes()).hexdigest()[:16]


@dataclass(frozen=True)
class Settings:
    """What a command asks of every run; the parts that change results make up a run's kind."""

    out: str
    mode: str  # "full" or "quick"
    backend: str
    data: str  # the data's fingerprint
    chapter_layers: bool = False
    verbose: int = 0
    compile_cache: bool = True

    def kind(self, name: str) -> dict:
        if name in BASELINES:
            return {"mode": self.mode, "data": self.data}
        model = EXPERIMENTS[name].trained_model(self.chapter_layers)
        return {"mode": self.mode, "backend": self.backend, "model": model, "data": self.data}


def prepare_process(backend: str, cpus: list[int] | None) -> None:
    """Ready this process to train on ``backend`` (the parent's choice), on ``cpus`` (None: all it has)."""
    from ..backend import choose_backend
    from .runtime import import_tensorflow_quietly, keep_tensorflow_out, use_cpus

    choose_backend(backend)  # the parent's choice, with its quiet TensorFlow settings
    use_cpus(cpus)
    if backend == "tensorflow":
        import_tensorflow_quietly()
    keep_tensorflow_out()


def _fit(name: str, seed: int | None, settings: Settings, df: pd.DataFrame) -> tuple[dict, object]:
    """Train (or backtest) one run; return what its record holds and its model (None for a baseline)."""
    quick = settings.mode == "quick"
    if name in BASELINES:
        return {"experiment": name, "seed": None, "epochs": None, **BASELINES[name].run(df, quick)}, None
    import warnings

    from ..experiments import fit_experiment
    from ..training import ReleaseFreedMemory

    warnings.filterwarnings("ignore", message=_CACHE_WARNING)
    fit = fit_experiment(name, df, seed, quick=quick, chapter_layers=settings.chapter_layers,
                         verbose=settings.verbose, callbacks=[ReleaseFreedMemory()])
    return fit.record(), fit.model


def run_job(job: tuple, cpus: list[int]) -> dict:
    """Train (or backtest) one run in this worker process; save its model; write its record.

    ``job`` is ``(name, seed, settings)``, the data coming once per worker from the pool
    (``workers.shared``), or ``(name, seed, settings, df)``.
    """
    from .runtime import release_freed_memory
    from .workers import shared

    name, seed, settings, *given = job
    df = given[0] if given else shared()
    prepare_process(settings["backend"], cpus)
    out = Path(settings["out"])
    settings = Settings(**settings)
    rid = run_id(name, seed)
    tick = time.perf_counter()
    result, model = _fit(name, seed, settings, df)
    files = [save_model(model, out, rid)] if model is not None else []
    del model
    release_freed_memory()  # the next run in this worker starts from what is in use
    result["seconds"] = time.perf_counter() - tick
    return write_run(out, rid, settings.kind(name), record_result(COMMAND, result), files)


def worker_data(data_path, expected: str):
    """On a worker: the ridership data as the package finds it there, checked to be the driver's.

    Args:
        data_path: a path valid on the worker, or None (``$RIDERSHIP_DATA``, the cache, a download).
        expected: the driver's data fingerprint (``ridership.engine.reproduce.fingerprint``).
    """
    from ..data import load_ridership

    df = load_ridership(data_path)
    if fingerprint(df) != expected:
        raise RidershipError(f"its ridership data differs from this command's (fingerprint {fingerprint(df)}, "
                             f"not {expected}): give every worker the same file.")
    return df


def remote_job(job: tuple, cpus=None):
    """For a Dask worker, in a process of its own: train one run; return its record's fields and model's bytes.

    ``job`` is ``(name, seed, settings, data_path)``: the data is read as the package finds it
    on the worker (``data_path``, else ``$RIDERSHIP_DATA``, the cache, a download) and checked
    to be the driver's. The driver writes what comes back (``ridership.engine.cluster.keep_returned``).
    """
    from .cluster import Returned, file_bytes

    name, seed, settings, data_path = job
    settings = Settings(**settings)
    prepare_process(settings.backend, None)
    df = worker_data(data_path, settings.data)
    rid = run_id(name, seed)
    tick = time.perf_counter()
    result, model = _fit(name, seed, settings, df)
    files = {}
    if model is not None:
        files[f"{MODELS_DIR}/{rid}.keras"] = file_bytes(model.save, f"{rid}.keras")
    result["seconds"] = time.perf_counter() - tick
    return Returned(rid, record_result(COMMAND, result), files)


def _worker_env(settings: Settings) -> dict:
    """What every worker starts with: the backend and JAX's compile cache."""
    from ..backend import environment_for

    env = {"KERAS_BACKEND": settings.backend, **environment_for(settings.backend)}
    if settings.compile_cache and settings.backend == "jax":
        # a cache folder of the caller's own (JAX's documented variable) is kept
        env["JAX_COMPILATION_CACHE_DIR"] = (os.environ.get("JAX_COMPILATION_CACHE_DIR")
                                            or str(Path(settings.out).resolve() / COMPILE_CACHE))
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"  # the small programs add up
    return env


def reproduce(out: str | Path = "results", only: str | None = None, seeds: int = 1, quick: bool = False,
              force: bool = False, verbose: int = 0, data_path=None, progress: bool = True, log=None,
              jobs: int | None = None, chapter_layers: bool = False, compile_cache: bool = True,
              backend: str | None = None, scheduler: str | None = None) -> pd.DataFrame:
    """Run the chapter's experiments into ``out``; skip what is already done. Returns the table.

    Args:
        out: the results folder.
        only: comma-separated experiment names (default: all, baselines included).
        seeds: seeds per network, from 42; the table gives the median, minimum and maximum.
        quick: cap every training at a few epochs (also ``RIDERSHIP_QUICK=1``).
        force: train again runs already done, also runs of another kind.
        verbose: Keras' per-epoch output.
        data_path: the data (default: ``RIDERSHIP_DATA``, the cache, a download).
        progress: a progress bar; ``log``: where lines go (default: above the bar).
        jobs: runs trained at once, each in its own process on its share of the cores
            (default: one per core). Every run seeds itself, so results do not depend on it.
        chapter_layers: train the chapter's layers where a faster twin exists (the WaveNet).
        compile_cache: on JAX, keep compiled programs in ``out/compile-cache``.
        backend: the backend the runs train on (default: ``ridership.backend``'s choice).
        scheduler: a Dask scheduler's address (``tcp://HOST:PORT``): the runs train on its
            workers, which find the data themselves, and this process writes what they send
            back (``ridership.engine.cluster``); ``jobs`` then caps the runs in flight (default:
            all of them).
    """
    from tqdm.auto import tqdm

    from ..backend import checked_backend
    from ..data import load_ridership
    from .runtime import cores

    if not isinstance(seeds, int) or seeds < 1:
        raise RidershipError(f"--seeds must be a whole number of at least 1; got {seeds!r}.")
    if scheduler is not None:
        from .cluster import check_address, require_installed

        require_installed()
        scheduler = check_address(scheduler)
    jobs = (len(cores()) if scheduler is None else None) if jobs is None else jobs
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise RidershipError(f"--jobs must be a whole number of at least 1; got {jobs!r}.")
    names = parse_only(only)
    claim(given_folder(out), COMMAND)  # another command's folder is refused before anything is read or written
    df = load_ridership(data_path)  # bad or short data stops here, before anything is written
    for kind in {EXPERIMENTS[name].data for name in names if name in EXPERIMENTS}:
        check_periods(kind, df)
    settings = Settings(str(out), "quick" if quick or quick_mode() else "full", checked_backend(backend),
                        fingerprint(df), chapter_layers, verbose, compile_cache)
    out = writable_folder(out, RUNS_DIR, MODELS_DIR)
    with folder_lock(out), tqdm(total=0, desc="reproduce", unit="run", leave=False,
                                disable=None if progress and not verbose else True) as bar:
        log = log or bar.write  # lines print above the progress bar
        removed = remove_temporaries(out)
        if removed:
            log(f"removed {len(removed)} temporary file(s) an interrupted run left in {out}")
        plan = plan_runs(out, [Wanted(run_id(name, seed), settings.kind(name), (name, seed))
                               for name in names for seed in _seeds(name, seeds)], RUN_FIELDS, force)
        plan.report(log, lambda run, record: f"{run.rid:24} done before   valid MAE {record['valid_mae']:>9,.0f}  "
                                             "(skipped)")
        plan.refuse_other_kinds(settings.kind(names[-1]))
        todo = [run.job for run in plan.todo]
        bar.total = len(todo)
        bar.refresh()

        def finished(job, record):
            epochs = f"{record['epochs']:4d} epochs" if record.get("epochs") else " " * 11
            log(f"{record['run']:24} {epochs}  valid MAE {record['valid_mae']:>9,.0f}  "
                f"test MAE {record['test_mae']:>9,.0f}  {record['seconds']:7.1f} s")
            _tables(out, settings)
            bar.update(1)

        if todo:
            try:
                if scheduler is None:
                    _train(todo, settings, df, jobs, finished)
                else:
                    _train_on_cluster(todo, settings, data_path, jobs, finished, scheduler)
            finally:  # stopped or failed: what the runs in flight half wrote goes
                remove_temporaries(out)
        return _tables(out, settings)


def _seeds(name: str, seeds: int) -> list:
    """The seeds of a network's runs; a baseline has one run, without a seed."""
    return [None] if name in BASELINES else list(range(FIRST_SEED, FIRST_SEED + seeds))


def _train(todo: list[tuple], settings: Settings, df: pd.DataFrame, jobs: int, finished) -> None:
    from concurrent.futures.process import BrokenProcessPool

    from .workers import run_longest_first

    jobs_of = [(name, seed, asdict(settings)) for name, seed in todo]
    try:
        run_longest_first(run_job, jobs_of, min(jobs, len(jobs_of)), _cost, finished, env=_worker_env(settings),
                          shared=df)
    except BrokenProcessPool:
        raise RidershipError("A worker process ended without finishing its run (out of memory, or killed?). "
                             "Finished runs are kept: run the same command again to resume.") from None


def _train_on_cluster(todo: list[tuple], settings: Settings, data_path, jobs: int | None, finished,
                      scheduler: str) -> None:
    """The runs ``todo`` on the Dask cluster at ``scheduler``; each written here as it comes back."""
    from .cluster import executor_for, keep_returned, remote
    from .workers import run_longest_first

    out = Path(settings.out)
    where = None if data_path is None else os.path.abspath(data_path)  # a path valid on the workers
    jobs_of = [(name, seed, asdict(settings), where) for name, seed in todo]

    def kept(job, returned):
        finished(job, keep_returned(out, returned, settings.kind(job[0]), RUN_FIELDS))

    run_longest_first(remote(f"{__name__}:remote_job", settings.backend, settings.compile_cache), jobs_of,
                      min(jobs or len(jobs_of), len(jobs_of)), _cost, kept, executor=executor_for(scheduler))


def _cost(job) -> float:
    name = job[0]
    return BASELINES[name].cost if name in BASELINES else EXPERIMENTS[name].cost


def _tables(out: Path, settings: Settings) -> pd.DataFrame:
    """Rewrite the tables from the runs of this command's kind (others are left alone)."""
    def same_kind(record):
        name = record.get("experiment")
        return name in ROW_ORDER and record["kind"] == settings.kind(name)

    try:
        return write_tables(out, load_runs(out, RUN_FIELDS, same_kind))
    except OSError as exc:
        raise output_error(exc, out, "the results tables") from None
