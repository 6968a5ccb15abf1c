"""``ridership chorales train|generate``: train chorale models to a results folder; write new chorales.

Keras is imported inside the commands only, so ``ridership --help`` stays quick.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..arguments import add_scheduler_argument, path as _path, positive as _positive
from ..errors import RidershipError
from ..settings import CHORALE_SEEDS, CHORDS, FIRST_SEED, GENERATION_METHODS, SEED_CHORALE, SEED_CHORDS

DATA_HELP = "path to jsb_chorales.tgz (default: $RIDERSHIP_CHORALES, then the cache, then a download)"
DEFAULT_OUT = "results/chorales"  # as ridership.chorales.train.DEFAULT_OUT, kept here free of imports
DEFAULT_GENERATED = "chorales"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``chorales`` and its sub-commands ``train`` and ``generate`` to the ``ridership`` command."""

    parser = subparsers.add_parser("chorales", help="exercise 10: Bach chorales (train, generate)",
                                   description="Learn the JSB chorales, score them against baselines, write new ones.")
    sub = parser.add_subparsers(dest="chorales_command", required=True)

    p = sub.add_parser("train", help="train the chorale model under one or more seeds, resumably",
                       description="Train to a results folder: runs/<model>-seed<N>.json (scores, epochs, seconds), "
                                   "models/<model>-seed<N>.keras, results.md. A rerun skips finished runs. The backend "
                                   "is JAX when installed; set KERAS_BACKEND=tensorflow to train on TensorFlow.")
    p.add_argument("--data", type=_path, help=DATA_HELP)
    p.add_argument("--out", type=_path, default=DEFAULT_OUT, help=f"results folder (default: {DEFAULT_OUT})")
    p.add_argument("--seeds", type=_positive, default=CHORALE_SEEDS,
                   help=f"seeds 42, 43, ... (default: {CHORALE_SEEDS}); the table gives median, min and max")
    p.add_argument("--epochs", type=_positive, default=20, help="epochs per run (default: the exercise's 20)")
    p.add_argument("--model", choices=("fast", "exercise"), default="fast",
                   help="fast (default: the exercise's model with our ProjectedLSTM, the same function) or exercise "
                        "(keras.layers.LSTM)")
    p.add_argument("--batches", type=_positive, help="train on only this many batches per epoch (a quick check)")
    p.add_argument("--quick", action="store_true",
                   help="cap training at a few epochs (same code path; RIDERSHIP_QUICK=1 does too)")
    p.add_argument("--force", action="store_true", help="retrain runs already done, also runs of another kind")
    p.add_argument("-v", "--verbose", action="store_true", help="one line of Keras' output per epoch")
    add_scheduler_argument(p)
    p.set_defaults(func=cmd_train, uses_keras=True)

    p = sub.add_parser("generate", help="write a new chorale (.wav, .mid, piano-roll .png) from a trained model",
                       description="Continue the first chords of a test chorale with a trained model, greedily "
                                   "(--temperature 0) or by sampling.")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--results", type=_path,
                       help=f"a `chorales train` folder: use its first finished run (default: {DEFAULT_OUT})")
    where.add_argument("--model", type=_path, help="a saved .keras chorale model")
    p.add_argument("--run", help="with --results: the run to use, e.g. fast-seed43")
    p.add_argument("--data", type=_path, help=DATA_HELP)
    p.add_argument("--seed-chorale", type=int, default=SEED_CHORALE,
                   help=f"the test chorale whose first chords seed it (default: {SEED_CHORALE})")
    p.add_argument("--seed-chords", type=_positive, default=SEED_CHORDS,
                   help=f"how many of its chords (default: {SEED_CHORDS})")
    p.add_argument("--chords", type=_positive, default=CHORDS, help=f"chords to generate (default: {CHORDS})")
    p.add_argument("--temperature", type=float, default=0.0, help="0 for greedy (default), else > 0 to sample")
    p.add_argument("--random-seed", type=int, default=FIRST_SEED, help=f"the sampling's seed (default: {FIRST_SEED})")
    p.add_argument("--method", choices=GENERATION_METHODS, default="fast",
                   help="fast (default: one step at a time, states kept) or plain (the model rerun for every note)")
    p.add_argument("--out", type=_path, default=DEFAULT_GENERATED,
                   help=f"folder for the files (default: {DEFAULT_GENERATED})")
    p.set_defaults(func=cmd_generate, uses_keras=True)
    return parser


def cmd_train(args) -> int:
    from .train import markdown, train_chorales

    quick = args.quick
    print(f"backend: {args.checked_backend}, model {args.model}, results in {args.out}/"
          + (" (quick mode)" if quick else "")
          + (f", runs on the Dask cluster at {args.scheduler}" if args.scheduler else ""), flush=True)
    summary = train_chorales(args.out, seeds=args.seeds, epochs=args.epochs, quick=quick, force=args.force,
                             data_path=args.data, model=args.model, batches=args.batches,
                             verbose=2 if args.verbose else 0, log=lambda line: print(line, flush=True),
                             scheduler=args.scheduler)
    print()
    print(markdown(summary), end="")
    return 0


def train_command(results: Path, record: dict, force: bool = False) -> str:
    """The ``ridership chorales train`` command that trains ``record``'s run again, of the same kind."""
    from .train import FIRST_SEED

    kind = record["kind"]
    words = ["ridership chorales train", f"--out {results}", f"--model {kind['model']}",
             f"--seeds {record['seed'] - FIRST_SEED + 1}"]
    if kind["mode"] == "quick":
        words.append("--quick")
    else:
        words.append(f"--epochs {kind['epochs']}")
    if kind.get("batches"):
        words.append(f"--batches {kind['batches']}")
    return " ".join(words + (["--force"] if force else []))


def _run_model_path(results: Path, run: str | None) -> tuple[Path, dict]:
    """The model file of a sound run in ``results`` (``run``, else the first one), and the run's record."""
    from ..engine.plan import claim
    from ..engine.runs import check_run, load_runs, model_path
    from .train import COMMAND, FIELDS

    claim(results, COMMAND, "--results")
    records = load_runs(results, FIELDS)
    if run is not None:
        records = [r for r in records if r["run"] == run]
    if not records:
        which = f"no finished run {run!r}" if run else "no finished run"
        raise RidershipError(f"{results} holds {which}: train one with `ridership chorales train --out {results}`, "
                             "or give --model PATH.")
    record = sorted(records, key=lambda r: (r["model"] != "fast", r["seed"]))[0]
    check = check_run(results, record["run"], record["kind"], FIELDS)
    if check.status != "ok":
        raise RidershipError(f"{check.problem}: train it again with `{train_command(results, record)}`.")
    return model_path(results, record["run"]), record


def cmd_generate(args) -> int:
    from ..engine.storage import save_figure, writable_folder
    from .data import load_chorales
    from .generation import check_model, generate
    from .models import load_bach_model
    from .plots import piano_roll
    from .sound import max_wav_chords, wav_bytes, write_midi, write_wav

    temperature = None if args.temperature == 0 else args.temperature
    if args.model:
        source, record = Path(args.model), None
    else:
        results = Path(args.results or DEFAULT_OUT)
        source, record = _run_model_path(results, args.run)
    test = load_chorales(args.data)["test"]
    if not 0 <= args.seed_chorale < len(test):
        raise RidershipError(f"--seed-chorale must be a test chorale from 0 to {len(test) - 1}; "
                             f"got {args.seed_chorale}.")
    chorale = test[args.seed_chorale]
    if not 1 <= args.seed_chords <= len(chorale):
        raise RidershipError(f"--seed-chords must be from 1 to {len(chorale)} (test chorale {args.seed_chorale}'s "
                             f"length); got {args.seed_chords}.")
    if args.seed_chords + args.chords > max_wav_chords():  # refused before a long generation, not after it
        raise RidershipError(f"--chords {args.chords:,} would make a WAV of "
                             f"{wav_bytes(args.seed_chords + args.chords) / 2**30:.1f} GiB, over the format's 4 GiB "
                             f"limit: give --chords at most {max_wav_chords() - args.seed_chords:,}.")
    retrain = f"`{train_command(results, record, force=True)}`" if record else None
    model = load_bach_model(source, retrain)
    check_model(model)  # a model of another kind, before any folder is made
    out = writable_folder(args.out, what="the chorale")
    notes = generate(model, chorale[:args.seed_chords], chords=args.chords, temperature=temperature,
                     seed=args.random_seed, method=args.method)
    how = "greedy" if temperature is None else f"t{temperature:g}-seed{args.random_seed}"
    stem = f"chorale-test{args.seed_chorale}-{how}"
    title = (f"{args.seed_chords} chords of test chorale {args.seed_chorale}, then {args.chords} generated "
             + ("greedily" if temperature is None else f"at temperature {temperature:g} (seed {args.random_seed})"))
    # the small files first: the MIDI and the piano roll never wait on the WAV
    paths = [write_midi(notes, out / f"{stem}.mid"),
             save_figure(piano_roll(notes, seed_chords=args.seed_chords, title=title), out / f"{stem}.png"),
             write_wav(notes, out / f"{stem}.wav")]
    print(f"model: {source}")
    for path in paths:
        print(path)
    return 0
