"""Training chorale models: one fit, and ``ridership chorales train``'s resumable runs into a results folder.

Layout of the results folder (``ridership.engine.runs``):

- ``runs/<model>-seed<N>.json``: one finished run, written last: its kind (mode, backend,
  model, epochs, batches per epoch, the data archive's sha256), seed, epochs, seconds,
  validation and test scores, and the size and sha256 of its model file;
- ``models/<model>-seed<N>.keras``: the trained model, written atomically;
- ``results.json`` and ``results.md``: the model's scores over its seeds (median, min,
  max) beside the baselines and the book, rewritten after every run;
- ``compile-cache/``: on JAX, the compiled training step, which later seeds and reruns load
  (``ridership.engine.runtime.keep_compiled_programs``).

A rerun skips every sound run of the same kind ("done before"), retrains a run whose
record or model is damaged (saying which file, in one line), and refuses to replace a run
of another kind (other data included) unless ``force`` is given: the plan is
``ridership.engine.plan``'s, as for ``ridership reproduce``. Training runs in this process;
Ctrl-C or SIGTERM stops it after the current step (``ridership.engine.stopping.StopFlag``),
drops the run in flight and keeps the finished ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..batches import BufferShuffled
from ..errors import RidershipError
from ..engine.plan import Wanted, claim, plan_runs, record_result
from ..engine.runs import MODELS_DIR, RUNS_DIR, folder_lock, remove_temporaries, run_id, save_model, write_run
from ..engine.runtime import COMPILE_CACHE, keep_compiled_programs
from ..engine.stopping import StopFlag
from ..engine.storage import given_folder, writable_folder
from ..engine.tables import markdown_rows, write_results
from ..settings import CHORALE_SEEDS, FIRST_SEED, cap_epochs, quick_mode
from .data import read_chorales
from .models import BUILDERS, DEFAULT_BUILDER, EPOCHS, build, compile_bach
from .scoring import BOOK, baseline_scores, score_model
from .windows import BATCH_SIZE, SHUFFLE_BUFFER, window_arrays

DEFAULT_OUT = "results/chorales"
COMMAND = "chorales train"
#: Training batches per call into Keras' compiled step, at most an epoch's (98): Keras then runs an
#: epoch's steps back to back instead of returning to its per-batch bookkeeping between them (as
#: ``ridership reproduce`` does): the same steps in the same order.
STEPS_PER_EXECUTION = 128
#: What a record must hold, beyond ``ridership.engine.runs``' common fields.
FIELDS = {"seed": int, "model": str, "epochs": int, "backend": str, "mode": str, "valid": dict, "test": dict,
          "history": dict}


class FirstBatches(BufferShuffled):
    """The exercise's shuffled training batches; with ``batches``, only the first that many of each epoch."""

    def __init__(self, X, Y, batch_size: int = BATCH_SIZE, buffer_size: int = SHUFFLE_BUFFER, seed: int | None = None,
                 batches: int | None = None):
        self.batches = batches
        super().__init__(X, Y, batch_size=batch_size, buffer_size=buffer_size, seed=seed)

    def __len__(self) -> int:
        whole = super().__len__()
        return whole if self.batches is None else min(self.batches, whole)


@dataclass
class Fit:
    """A trained model, its Keras history and the seconds its ``fit`` took."""

    model: object
    history: object
    seconds: float


def split_windows(chorales: dict) -> dict:
    """The exercise's ``(X, Y)`` windows of each split."""
    return {split: window_arrays(chorales[split]) for split in ("train", "valid", "test")}


def fit_chorales(builder=DEFAULT_BUILDER, train=None, valid=None, epochs: int = EPOCHS, seed: int | None = FIRST_SEED,
                 batches: int | None = None, steps_per_execution: int = STEPS_PER_EXECUTION, verbose=0,
                 callbacks=(), progress: bool | None = None) -> Fit:
    """Train a chorale model the exercise's way on NumPy windows; return the model, history and time.

    Args:
        builder: a model name (``"fast"``, ``"exercise"``) or a function returning an uncompiled model.
        train: the training windows ``(X, Y)``, shuffled every epoch through a 1,000-window
            buffer as the exercise's ``tf.data`` pipeline does (``ridership.batches.BufferShuffled``).
        valid: validation windows ``(X, Y)`` scored after every epoch (as the exercise's
            ``fit`` does), or None to skip that: it changes nothing in training.
        epochs: capped at ``QUICK_EPOCHS`` in quick mode (``RIDERSHIP_QUICK=1``).
        seed: seeds the initial weights and the shuffle, so the same seed gives the same model.
        batches: train on only this many batches per epoch (tests and benchmarks); None for all.
        steps_per_execution: batches per call into the compiled training step.
        progress: one line that follows the fit (the epochs, the best validation accuracy, or
            the best training loss without ``valid``); None shows it in a notebook only.
    """
    import keras

    from ..training import FitProgress, in_notebook

    if train is None:
        raise RidershipError("fit_chorales needs the training windows: train=(X, Y).")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise RidershipError(f"epochs must be a whole number >= 1; got {epochs!r}.")
    if batches is not None and (isinstance(batches, bool) or not isinstance(batches, (int, np.integer)) or batches < 1):
        raise RidershipError(f"batches must be a whole number >= 1, or None for whole epochs; got {batches!r}.")
    epochs = cap_epochs(epochs)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    model = build(builder) if isinstance(builder, str) else builder()
    dataset = FirstBatches(*train, batch_size=BATCH_SIZE, buffer_size=SHUFFLE_BUFFER, seed=seed, batches=batches)
    # never more steps per call than an epoch has: Keras would run on into the next epoch's batches
    compile_bach(model, steps_per_execution=max(1, min(steps_per_execution, len(dataset))))
    callbacks = list(callbacks)
    if progress or (progress is None and in_notebook() and not verbose):
        show = "{:.4f}".format
        callbacks.append(FitProgress(model.name, "val_accuracy", max, show) if valid is not None
                         else FitProgress(model.name, "loss", min, show))
    tick = time.perf_counter()
    history = model.fit(dataset, epochs=epochs, shuffle=False, verbose=verbose, validation_data=valid,
                        callbacks=callbacks)
    return Fit(model, history, time.perf_counter() - tick)


# --- the command's runs ---------------------------------------------------------------------


def run_kind(model: str, epochs: int, batches: int | None, quick: bool, backend: str, data: str | None = None) -> dict:
    """What makes two chorale runs comparable: mode, backend, model, epochs, batches and the data's sha256."""
    return {"mode": "quick" if quick else "full", "backend": backend, "model": model, "epochs": epochs,
            "batches": batches, "data": data}


def _check_args(seeds: int, epochs: int, batches: int | None, model: str) -> None:
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise RidershipError(f"--seeds must be a whole number >= 1; got {seeds!r}.")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise RidershipError(f"--epochs must be a whole number >= 1; got {epochs!r}.")
    if batches is not None and (isinstance(batches, bool) or not isinstance(batches, int) or batches < 1):
        raise RidershipError(f"--batches must be a whole number >= 1; got {batches!r}.")
    if model not in BUILDERS:
        raise RidershipError(f"Unknown chorale model {model!r}; choose one of {', '.join(BUILDERS)}.")


def train_chorales(out: str | Path = DEFAULT_OUT, seeds: int = CHORALE_SEEDS, epochs: int = EPOCHS, quick: bool = False,
                   force: bool = False, data_path=None, model: str = DEFAULT_BUILDER, batches: int | None = None,
                   verbose: int = 0, log=print, scheduler: str | None = None) -> dict:
    """Train ``model`` under seeds 42, 43, ... into ``out``, resuming; return the summary (also in ``results.json``).

    Args:
        out: the results folder; one that holds another command's results is refused.
        seeds: how many seeds (42 upwards).
        epochs: epochs per run (the exercise's 20); quick mode trains ``QUICK_EPOCHS``.
        quick: quick mode (also on when ``RIDERSHIP_QUICK=1``): a different kind of run, kept apart.
        force: replace finished runs, of this kind or another.
        data_path: the chorales archive (default: ``$RIDERSHIP_CHORALES``, the cache, a download).
        model: ``"fast"`` (default) or ``"exercise"``.
        batches: train only this many batches per epoch (a quick check; part of the run's kind).
        log: where the one-line reports go.
        scheduler: a Dask scheduler's address (``tcp://HOST:PORT``): the runs train on its
            workers, which find the data themselves, and this process writes what they send back
            (``ridership.engine.cluster``).
    """
    from ..backend import checked_backend

    _check_args(seeds, epochs, batches, model)
    if scheduler is not None:
        from ..engine.cluster import check_address, require_installed

        require_installed()
        scheduler = check_address(scheduler)
    claim(given_folder(out), COMMAND)
    backend = checked_backend()
    quick = quick or quick_mode()
    epochs = cap_epochs(epochs, quick)
    chorales, info = read_chorales(data_path)  # a bad archive stops here, before anything is written
    kind = run_kind(model, epochs, batches, quick, backend, info.sha256[:16])
    windows = split_windows(chorales)
    out = writable_folder(out, RUNS_DIR, MODELS_DIR)
    with folder_lock(out), StopFlag() as stop:
        remove_temporaries(out)
        keep_compiled_programs(out / COMPILE_CACHE)
        plan = plan_runs(out, [Wanted(run_id(model, FIRST_SEED + k), kind, FIRST_SEED + k) for k in range(seeds)],
                         FIELDS, force)
        plan.refuse_other_kinds(kind)
        plan.report(log, lambda run, record: f"{run.rid:24} done before   test accuracy "
                                             f"{record['test']['accuracy']:.4f}  (skipped)")
        baselines = baseline_scores(windows["train"], windows["test"])
        records = {run.rid: record for run, record in plan.done}
        order = [run_id(model, FIRST_SEED + k) for k in range(seeds)]
        summary = write_summary(out, [records[rid] for rid in order if rid in records], baselines) if records else None

        def kept(record):
            nonlocal summary
            log(f"{record['run']:24} {record['epochs']:3d} epochs  test accuracy {record['test']['accuracy']:.4f}  "
                f"cross-entropy {record['test']['cross_entropy']:.4f}  {record['seconds']:7.1f} s")
            records[record["run"]] = record
            summary = write_summary(out, [records[rid] for rid in order if rid in records], baselines)

        if scheduler is not None and plan.todo:
            try:
                _train_on_cluster(out, plan.todo, kind, data_path, scheduler, kept)
            finally:  # stopped or failed: a file half written here goes
                remove_temporaries(out)
        for run in plan.todo if scheduler is None else ():
            stop.check()
            kept(_train_run(out, run.rid, kind, run.job, windows, verbose, stop))
    return summary


def _fit_run(kind: dict, seed: int, windows: dict, verbose: int, check=lambda: None, callbacks=()) -> tuple[dict, object]:
    """Train and score one run; return what its record holds and the model. ``check()`` runs between steps."""
    tick = time.perf_counter()
    fit = fit_chorales(kind["model"], windows["train"], epochs=kind["epochs"], seed=seed, batches=kind["batches"],
                       verbose=verbose, callbacks=list(callbacks))
    check()  # fit ended early: this run is not finished
    scores = {split: score_model(fit.model, *windows[split]).as_dict() for split in ("valid", "test")}
    check()
    history = {name: [float(v) for v in values] for name, values in fit.history.history.items()}
    result = {"seed": seed, "model": kind["model"], "epochs": len(fit.history.epoch), "backend": kind["backend"],
              "mode": kind["mode"], "valid": scores["valid"], "test": scores["test"], "history": history,
              "fit_seconds": fit.seconds, "seconds": time.perf_counter() - tick}
    return result, fit.model


def _train_run(out: Path, rid: str, kind: dict, seed: int, windows: dict, verbose: int, stop: StopFlag) -> dict:
    """Train, score and save one run; a stop asked for during it drops it before anything is written."""
    import gc

    import keras

    tick = time.perf_counter()
    try:
        result, model = _fit_run(kind, seed, windows, verbose, stop.check, [stop.callback()])
        path = save_model(model, out, rid)
        result["seconds"] = time.perf_counter() - tick
        return write_run(out, rid, kind, record_result(COMMAND, result), [path])
    finally:
        keras.backend.clear_session()  # the next seed starts from an empty graph and frees this model
        gc.collect()


def remote_run(job: tuple, cpus=None):
    """For a Dask worker, in a process of its own: train one chorale run; return its record's fields and model's bytes.

    ``job`` is ``(rid, kind, seed, data_path)``; the chorales are read as the package finds them
    on the worker and checked to be the driver's (the archive's sha256).
    """
    from ..engine.cluster import Returned, file_bytes

    rid, kind, seed, data_path = job
    chorales, info = read_chorales(data_path)
    if info.sha256[:16] != kind["data"]:
        raise RidershipError(f"its chorales differ from this command's (sha256 {info.sha256[:16]}..., not "
                             f"{kind['data']}...): give every worker the same jsb_chorales.tgz.")
    tick = time.perf_counter()
    result, model = _fit_run(kind, seed, split_windows(chorales), 0)
    files = {f"{MODELS_DIR}/{rid}.keras": file_bytes(model.save, f"{rid}.keras")}
    result["seconds"] = time.perf_counter() - tick
    return Returned(rid, record_result(COMMAND, result), files)


def _train_on_cluster(out: Path, todo: list, kind: dict, data_path, scheduler: str, kept) -> None:
    """The runs ``todo`` on the Dask cluster at ``scheduler``; ``kept(record)`` as each is written here."""
    import os

    from ..engine.cluster import executor_for, keep_returned, remote
    from ..engine.stopping import signals_raise
    from ..engine.workers import run_longest_first

    where = None if data_path is None else os.path.abspath(data_path)  # a path valid on the workers
    jobs = [(run.rid, kind, run.job, where) for run in todo]
    with signals_raise():  # this process only waits: Ctrl-C stops it at once, and the cluster's runs with it
        run_longest_first(remote(f"{__name__}:remote_run", kind["backend"]), jobs, len(jobs), lambda job: -job[2],
                          lambda job, returned: kept(keep_returned(out, returned, kind, FIELDS)),
                          executor=executor_for(scheduler))


def summarise(records: list[dict], baselines: dict) -> dict:
    """The model's test (and validation) scores over its seeds, the baselines' (``baseline_scores`` on the
    test windows) and the book's."""
    test = [r["test"] for r in records]
    accuracy = [t["accuracy"] for t in test]
    voices = test[0]["per_voice"]
    model = {
        "model": records[0]["model"], "seeds": [r["seed"] for r in records],
        "test_accuracy": float(np.median(accuracy)), "test_min": min(accuracy), "test_max": max(accuracy),
        "test_cross_entropy": float(np.median([t["cross_entropy"] for t in test])),
        "valid_accuracy": float(np.median([r["valid"]["accuracy"] for r in records])),
        "per_voice": {v: float(np.median([t["per_voice"][v] for t in test])) for v in voices},
        "epochs": int(np.median([r["epochs"] for r in records])),
        "seconds": float(sum(r["seconds"] for r in records)), "backend": records[0]["backend"],
        "mode": records[0]["mode"],
    }
    baselines = {name: s.as_dict() for name, s in baselines.items()}
    best = max(baselines, key=lambda name: baselines[name]["accuracy"])
    return {"model": model, "baselines": baselines, "best_baseline": best, "book": dict(BOOK)}


def markdown(summary: dict) -> str:
    """The summary as a Markdown table: the model, the baselines, the book."""
    m = summary["model"]
    voices = list(m["per_voice"])
    headers = ["chorales (test)", "accuracy", "min", "max", "cross-entropy (nats/note)", "soprano", "alto", "tenor",
               "bass", "seeds"]
    rows = [[f"{m['model']} model ({m['mode']}, {m['backend']}, {m['epochs']} epochs)", f"{m['test_accuracy']:.4f}",
             f"{m['test_min']:.4f}", f"{m['test_max']:.4f}", f"{m['test_cross_entropy']:.4f}",
             *(f"{m['per_voice'][v]:.4f}" for v in voices), str(len(m["seeds"]))]]
    for name, s in summary["baselines"].items():
        ce = "" if s["cross_entropy"] is None else f"{s['cross_entropy']:.4f}"
        rows.append([f"baseline: {name}", f"{s['accuracy']:.4f}", "", "", ce,
                     *(f"{s['per_voice'][v]:.4f}" for v in voices), ""])
    book = summary["book"]
    rows.append(["book", f"{book['accuracy']:.4f}", "", "", f"{book['cross_entropy']:.4f}", "", "", "", "", ""])
    return markdown_rows(headers, rows)


def write_summary(out: Path, records: list[dict], baselines: dict) -> dict:
    """Summarise ``records`` and write the summary (``ridership.engine.tables.write_results``); return it."""
    summary = summarise(records, baselines)
    write_results(out, summary, markdown(summary))
    return summary
