"""Exercise 10 of the chapter: the JSB chorales, learnt, scored against baselines, generated and played.

- ``data``: ``load_chorales()``, the archive found and checked as the ridership data is;
- ``windows``: tokens and the exercise's windows (``bach_dataset`` in ``tf.data``, ``window_arrays`` in NumPy);
- ``models``: ``bach_model`` (the exercise's) and ``fast_bach_model`` (the same function, trained faster);
- ``layers``: ``ProjectedLSTM``, the LSTM layer ``fast_bach_model`` uses;
- ``scoring``: accuracy, cross-entropy and per-voice accuracy, and the baselines;
- ``train``: ``fit_chorales`` and ``train_chorales`` (the ``ridership chorales train`` command's runs);
- ``generation``: ``generate``, greedy or sampled, the plain way or the fast way;
- ``sound`` and ``plots``: WAV, MIDI and the piano roll.

Names are loaded on first use (PEP 562), so importing this package, or its command line,
does not import Keras.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "CHORALES": ".data", "load_chorales": ".data", "read_chorales": ".data",
    "N_TOKENS": ".windows", "bach_dataset": ".windows", "dataset_arrays": ".windows", "to_notes": ".windows",
    "to_tokens": ".windows", "window_arrays": ".windows",
    "BUILDERS": ".models", "bach_model": ".models", "build": ".models", "compile_bach": ".models",
    "fast_bach_model": ".models", "load_bach_model": ".models",
    "ProjectedLSTM": ".layers",
    "BOOK": ".scoring", "Scores": ".scoring", "baseline_scores": ".scoring", "score_model": ".scoring",
    "fit_chorales": ".train", "split_windows": ".train", "train_chorales": ".train",
    "generate": ".generation",
    "midi_file": ".sound", "waveform": ".sound", "write_midi": ".sound", "write_wav": ".sound",
    "piano_roll": ".plots",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)
