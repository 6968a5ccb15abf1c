"""The package's settings in one place, without Keras: quick mode, the epoch caps, the window,
batch and seed constants.

Every module that uses one of these imports it from here, so that changing a window's length or
the quick-mode cap is one edit; a process that only plans runs (``ridership reproduce``'s parent)
can ask for them without loading Keras.

Example:

>>> from ridership.settings import SEQ_LENGTH, AHEAD, cap_epochs
>>> SEQ_LENGTH, AHEAD                     # eight weeks in, two weeks out
(56, 14)
>>> cap_epochs(500, quick=True)           # quick mode trains at most QUICK_EPOCHS
2
"""

from __future__ import annotations

import os

#: Set ``RIDERSHIP_QUICK=1`` to cap every training at ``QUICK_EPOCHS`` epochs: a fast check that
#: runs exactly the code of a full run (the notebooks and the tests use it).
QUICK_ENV = "RIDERSHIP_QUICK"
QUICK_EPOCHS = 2

#: The chapter's protocol: at most this many epochs, stopping this many after the best one.
MAX_EPOCHS = 500
PATIENCE = 50
BATCH_SIZE = 32
#: Batches per call into Keras' compiled training step: one call runs a whole epoch of any
#: experiment (31 to 33 batches of 32), the same steps in the same order, so the same weights
#: (a test compares the MAEs); faster per epoch on both backends (``benchmarks/choices.py steps``).
STEPS_PER_EXECUTION = 64

#: The orders of the training windows in an epoch (``fit_and_evaluate``'s ``shuffle``): ``True``
#: shuffles them fully every epoch, ``False`` keeps time order, ``"buffer"`` gives the order of the
#: chapter's ``tf.data`` pipelines (time order through a 256-window shuffle buffer).
SHUFFLES = (True, False, "buffer")

#: Windows: eight weeks of history, two weeks to forecast; five features for the multivariate
#: models (bus, rail, the next day's type one-hot).
SEQ_LENGTH = 56
AHEAD = 14
N_FEATURES = 5

#: The first seed of every run; ``--seeds 3`` trains 42, 43 and 44.
FIRST_SEED = 42
#: Exercise 10's runs by default (``ridership chorales train`` and ``chorales.train_chorales``).
CHORALE_SEEDS = 3

#: Exercise 10's generation: 56 chords added to the first 8 chords of test chorale 2, the fast
#: way (one step at a time, the states kept) or the plain way (the model rerun for every note).
CHORDS = 56
SEED_CHORDS = 8
SEED_CHORALE = 2
GENERATION_METHODS = ("fast", "plain")


#: The walk-forward backtest of the test period (``ridership.backtest``): how often a model is
#: refit, and how a network is refit. A refit fine-tunes the network from its current weights for
#: ``FINE_TUNE_EPOCHS`` epochs on the ``FINE_TUNE_WINDOWS`` latest windows known at the refit (a
#: year, as a fixed count: the same compiled training step serves every refit, and the newest
#: days weigh as much as the chapter's training set ever did); ``benchmarks/backtest.py`` shows
#: the whole study fits its ten minutes with them. A statistical forecaster is fit on its
#: ``STAT_HISTORY`` latest days: two years for MSTL, which needs two of its yearly seasons, one
#: for AutoARIMA, whose search costs seconds a fit on two. Quick mode
#: backtests the first ``QUICK_BACKTEST_DAYS`` days of the test period only.
SCHEDULES = ("never", "monthly", "weekly")
FINE_TUNE_EPOCHS = 5
FINE_TUNE_WINDOWS = 364
STAT_HISTORY = {"autoarima": 365, "autoets": 730, "mstl": 730}
QUICK_BACKTEST_DAYS = 42


def quick_mode() -> bool:
    """True when ``RIDERSHIP_QUICK`` is set to anything but empty, 0, false or no."""
    return os.environ.get(QUICK_ENV, "").strip().lower() not in ("", "0", "false", "no")


def cap_epochs(epochs: int, quick: bool = False) -> int:
    """``epochs``, capped at ``QUICK_EPOCHS`` when ``quick`` is asked for or quick mode is on.

    Args:
        epochs: the epochs a full run trains.
        quick: quick mode for this call, whatever the environment says.
    """
    return min(epochs, QUICK_EPOCHS) if quick or quick_mode() else epochs
