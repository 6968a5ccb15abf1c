"""A piano roll of a chorale: time across, pitch up, one colour per voice, the seed shaded."""

from __future__ import annotations

from matplotlib.figure import Figure

from .scoring import VOICE_NAMES
from .sound import check_chorale, held_notes


def piano_roll(chorale, seed_chords: int = 0, title: str | None = None) -> Figure:
    """A Figure of the chorale's notes as bars (held notes as one bar), the first ``seed_chords`` shaded.

    Args:
        chorale: piano keys ``(chords, 4)``, 0 for silence.
        seed_chords: how many chords at the start were given rather than generated (0: none).
        title: the figure's title.

    Example:

    >>> from ridership.chorales import load_chorales
    >>> fig = piano_roll(load_chorales()["test"][2][:16], seed_chords=8, title="test chorale 2")
    >>> fig.axes[0].get_title()
    'test chorale 2'
    """
    notes = check_chorale(chorale)
    fig = Figure(figsize=(10, 4))
    ax = fig.subplots()
    for voice, name in enumerate(VOICE_NAMES):
        bars = held_notes(notes[:, voice])
        for key, first, length in bars:
            ax.broken_barh([(first, length)], (key - 0.4, 0.8), color=f"C{voice}")
        ax.plot([], [], color=f"C{voice}", linewidth=6, label=name)
    if seed_chords:
        ax.axvspan(0, seed_chords, color="0.85", zorder=0, label="seed")
        ax.axvline(seed_chords, color="0.4", linewidth=1, linestyle="--")
    sounding = notes[notes > 0]
    if sounding.size:
        ax.set_ylim(sounding.min() - 2, sounding.max() + 2)
    ax.set_xlim(0, len(notes))
    ax.set_xlabel("time (sixteenth notes)")
    ax.set_ylabel("piano key")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    if title:
        ax.set_title(title)
    return fig
