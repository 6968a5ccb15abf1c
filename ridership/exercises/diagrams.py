"""Which input steps each output of the chapter's convolutions sees, computed, measured and drawn.

Two kinds of convolution over time appear in the chapter:

- the strided ``Conv1D`` of ``conv_rnn`` (kernel 4, stride 2, no padding): output step ``j``
  sees input steps ``2j .. 2j + 3``, so it can forecast only what comes after step ``2j + 3``;
  that is why its targets are ``Y[:, 3::2]``;
- the WaveNet's causal, dilated ``Conv1D`` layers (kernel 2, dilations 1, 2, 4, 8, twice):
  each layer adds ``rate`` steps of history, so every output sees its own step and the
  30 before it, 31 days in all.

:func:`strided_inputs` and :func:`causal_inputs` compute those sets; :func:`influence`
measures them on a real layer or model (which input steps move a given output);
:func:`strided_conv_diagram` and :func:`wavenet_diagram` draw them. The figures use
matplotlib's object-oriented API (no pyplot state), so they work in scripts, tests and
notebooks alike.

Example:

>>> receptive_field((1, 2, 4, 8) * 2)
31
>>> strided_inputs(8)            # 8 input steps -> 3 outputs
[range(0, 4), range(2, 6), range(4, 8)]
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..errors import RidershipError

#: The chapter's settings: ``conv_rnn``'s strided convolution and the WaveNet's dilations.
CONV_KERNEL, CONV_STRIDE = 4, 2
WAVENET_DILATIONS = (1, 2, 4, 8) * 2

_SEEN, _UNSEEN, _LINE = "C0", "#d0d0d0", "C0"


def _whole(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise RidershipError(f"{name} must be a whole number >= {minimum}; got {value!r}.")
    return int(value)


def _dilations(dilations: Sequence[int]) -> tuple[int, ...]:
    rates = tuple(dilations)
    if not rates:
        raise RidershipError("dilations is empty: give one dilation rate per layer, e.g. (1, 2, 4, 8).")
    return tuple(_whole("each dilation rate", rate) for rate in rates)


# --- the strided convolution of conv_rnn --------------------------------------------------

def strided_outputs(n_inputs: int, kernel_size: int = CONV_KERNEL, strides: int = CONV_STRIDE) -> int:
    """How many steps a ``Conv1D(kernel_size, strides)`` without padding outputs for ``n_inputs`` steps."""
    n_inputs, kernel_size = _whole("n_inputs", n_inputs), _whole("kernel_size", kernel_size)
    strides = _whole("strides", strides)
    return max(0, (n_inputs - kernel_size) // strides + 1)


def strided_inputs(n_inputs: int, kernel_size: int = CONV_KERNEL, strides: int = CONV_STRIDE) -> list[range]:
    """The input steps each output step sees: output ``j`` sees ``j * strides .. j * strides + kernel_size - 1``."""
    count = strided_outputs(n_inputs, kernel_size, strides)
    return [range(j * strides, j * strides + kernel_size) for j in range(count)]


def strided_target_steps(n_inputs: int, kernel_size: int = CONV_KERNEL, strides: int = CONV_STRIDE) -> list[int]:
    """For each output step, the last input step it sees: the step whose targets it must forecast.

    For the chapter's kernel 4 and stride 2 these are steps 3, 5, 7, ...: ``Y[:, 3::2]``.
    """
    return [seen[-1] for seen in strided_inputs(n_inputs, kernel_size, strides)]


# --- the causal, dilated convolutions of the WaveNet --------------------------------------

def receptive_field(dilations: Sequence[int] = WAVENET_DILATIONS, kernel_size: int = 2) -> int:
    """How many consecutive input steps one output of a stack of causal convolutions sees.

    Each layer of kernel ``k`` and dilation ``d`` reaches ``(k - 1) * d`` steps further back.
    """
    return 1 + (_whole("kernel_size", kernel_size) - 1) * sum(_dilations(dilations))


def causal_inputs(step: int, dilations: Sequence[int] = WAVENET_DILATIONS, kernel_size: int = 2) -> list[int]:
    """The input steps that output ``step`` of a causal dilated stack depends on, oldest first.

    Steps before the window's start (the zeros causal padding adds) are left out, so an early
    step sees fewer than :func:`receptive_field` inputs.
    """
    return sorted(s for s in _tree(step, _dilations(dilations), _whole("kernel_size", kernel_size))[0] if s >= 0)


def _tree(step: int, dilations: tuple[int, ...], kernel_size: int) -> list[set[int]]:
    """For each level (0 = the inputs, last = the top layer), the steps the output at ``step`` uses."""
    _whole("step", step, minimum=0)
    levels = [{step}]
    for rate in reversed(dilations):
        levels.append({t - tap * rate for t in levels[-1] for tap in range(kernel_size)})
    return levels[::-1]


# --- measuring a real layer or model --------------------------------------------------------

def influence(model: Callable, n_steps: int, n_features: int, step: int | None = None, seed: int = 0) -> list[int]:
    """The input steps that move output ``step`` of ``model``, found by changing one step at a time.

    Args:
        model: a Keras layer or model (anything callable on a ``(batch, time, features)`` array
            that returns ``(batch, time', channels)``).
        n_steps: the length of the window fed to it.
        n_features: features per step.
        step: the output step to examine (default: the last).
        seed: the random window the changes are made to.

    Returns the sorted input steps whose change changes that output: the measured counterpart
    of :func:`causal_inputs` and :func:`strided_inputs`.
    """
    n_steps, n_features = _whole("n_steps", n_steps), _whole("n_features", n_features)
    base = np.random.default_rng(seed).normal(size=(1, n_steps, n_features)).astype("float32")
    X = np.repeat(base, n_steps + 1, axis=0)
    X[np.arange(1, n_steps + 1), np.arange(n_steps)] += 1.0  # window k + 1 has step k changed
    outputs = np.asarray(model(X), dtype="float64")
    if outputs.ndim != 3:
        raise RidershipError(f"The model must return one output per time step, (batch, time, channels); "
                             f"got shape {outputs.shape}.")
    step = outputs.shape[1] - 1 if step is None else step
    if not 0 <= step < outputs.shape[1]:
        raise RidershipError(f"step={step} is outside the model's {outputs.shape[1]} output steps.")
    moved = np.abs(outputs[1:, step] - outputs[0, step]).max(axis=1)
    return [int(s) for s in np.flatnonzero(moved > 1e-6 * (1.0 + np.abs(outputs[0, step]).max()))]


# --- the figures ----------------------------------------------------------------------------

def _boxes(ax, xs, y, seen, labels=None, size=0.8):
    for x in xs:
        ax.add_patch(_square(x, y, _SEEN if x in seen else _UNSEEN, size))
        if labels is not None:
            ax.text(x, y, labels(x), ha="center", va="center", fontsize=7,
                    color="white" if x in seen else "#444444")


def _square(x, y, color, size=0.8):
    from matplotlib.patches import Rectangle

    return Rectangle((x - size / 2, y - size / 2), size, size, facecolor=color, edgecolor="white")


def strided_conv_diagram(n_inputs: int = 16, kernel_size: int = CONV_KERNEL, strides: int = CONV_STRIDE,
                         highlight: Sequence[int] = (0, 1, 4)) -> Figure:
    """The strided ``Conv1D`` of ``conv_rnn``: which input steps each output step sees.

    Inputs run along the bottom, outputs along the top, each output drawn above the last input
    step it sees, which is the step its forecast starts after: hence the targets ``Y[:, 3::2]``.

    Args:
        n_inputs: input steps drawn (the model reads 112).
        kernel_size, strides: the convolution's (the chapter's: 4 and 2).
        highlight: the output steps whose inputs are joined by lines.
    """
    fields = strided_inputs(n_inputs, kernel_size, strides)
    if not fields:
        raise RidershipError(f"{n_inputs} input steps are fewer than one kernel of {kernel_size}: draw more.")
    chosen = [j for j in highlight if 0 <= j < len(fields)]
    fig = Figure(figsize=(max(6.0, 0.45 * n_inputs + 2), 3.2))
    ax = fig.subplots()
    seen = {s for j in chosen for s in fields[j]}
    _boxes(ax, range(n_inputs), 0, seen, labels=str)
    tops = [field[-1] for field in fields]
    _boxes(ax, tops, 2, {tops[j] for j in chosen}, labels=lambda x: str(tops.index(x)))
    for i, (color, j) in enumerate(zip(("C1", "C2", "C3", "C4", "C5"), chosen)):
        for s in fields[j]:
            ax.plot([tops[j], s], [1.6, 0.4], color=color, lw=1.5)
        ax.text(tops[j], 2.6 + 0.35 * i, f"output {j}: inputs {fields[j][0]} to {fields[j][-1]}", ha="center",
                fontsize=7, color=color)
    ax.text(-0.8, 0, "input step", ha="right", va="center", fontsize=8)
    ax.text(-0.8, 2, "output step", ha="right", va="center", fontsize=8)
    ax.set_title(f"Conv1D(kernel_size={kernel_size}, strides={strides}): output j sees inputs "
                 f"{strides}j to {strides}j+{kernel_size - 1}; its targets are Y[:, {kernel_size - 1}::{strides}]",
                 fontsize=9)
    ax.set_xlim(-4.5, n_inputs)
    ax.set_ylim(-0.8, 2.9 + 0.35 * len(chosen))
    ax.set_axis_off()
    return fig


def wavenet_diagram(dilations: Sequence[int] = WAVENET_DILATIONS, n_steps: int = 32, kernel_size: int = 2,
                    step: int | None = None) -> Figure:
    """The WaveNet's causal dilated convolutions: the past steps one output sees, layer by layer.

    One row per layer (the inputs at the bottom); lines join the output at ``step`` (default:
    the last one drawn) to the steps it is computed from, down to the inputs it sees.

    Args:
        dilations: one rate per layer, bottom first (the chapter's: 1, 2, 4, 8, twice).
        n_steps: steps drawn.
        kernel_size: the convolutions' (the chapter's: 2).
        step: the output step to follow.
    """
    rates = _dilations(dilations)
    n_steps = _whole("n_steps", n_steps)
    step = n_steps - 1 if step is None else step
    if not 0 <= step < n_steps:
        raise RidershipError(f"step={step} is outside the {n_steps} steps drawn.")
    levels = _tree(step, rates, _whole("kernel_size", kernel_size))
    fig = Figure(figsize=(max(6.0, 0.3 * n_steps + 2.5), 0.55 * len(rates) + 1.5))
    ax = fig.subplots()
    for level, used in enumerate(levels):
        _boxes(ax, range(n_steps), level, {t for t in used if t >= 0}, size=0.5)
        label = "input" if level == 0 else f"conv_{level}, dilation {rates[level - 1]}"
        ax.text(-0.8, level, label, ha="right", va="center", fontsize=8)
    for level in range(1, len(levels)):
        rate = rates[level - 1]
        for t in levels[level]:
            for tap in range(kernel_size):
                if t >= 0 and t - tap * rate >= 0:
                    ax.plot([t, t - tap * rate], [level - 0.25, level - 1 + 0.25], color=_LINE, lw=0.8)
    seen = [t for t in levels[0] if t >= 0]
    ax.set_title(f"Causal Conv1D, kernel {kernel_size}, dilations {', '.join(map(str, rates))}: output step {step} "
                 f"sees input steps {min(seen)} to {max(seen)} ({len(seen)} of at most "
                 f"{receptive_field(rates, kernel_size)})", fontsize=9)
    ax.set_xlim(-7, n_steps)
    ax.set_ylim(-0.7, len(levels) - 0.3)
    ax.set_axis_off()
    return fig
