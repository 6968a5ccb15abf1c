"""Listening to chorales: a WAV of summed sine waves (SciPy) and a standard MIDI file (mido).

A chorale here is an int array ``(chords, 4)`` of piano keys (36..81, 0 for silence), one
row per sixteenth note. Both files play ``TEMPO`` = 160 rows a minute (0.375 s each), the
exercise's tempo. Key ``n`` sounds at ``440 * 2 ** ((n - 69) / 12)`` Hz (key 69 is the A above
middle C).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import RidershipError
from ..engine.storage import atomic_path
from .data import MAX_NOTE, MIN_NOTE, SILENCE
from .windows import N_VOICES

TEMPO = 160  # chords (sixteenth notes) per minute
SAMPLE_RATE = 44_100
TICKS_PER_BEAT = 480  # MIDI ticks per quarter note, i.e. per 4 chords
VELOCITY = 80
PROGRAM = 19  # General MIDI "church organ" (0-based)


def check_chorale(chorale) -> np.ndarray:
    """The chorale as an int array of piano keys, checked for its shape and its notes."""
    notes = np.asarray(chorale)
    if notes.ndim != 2 or notes.shape[1] != N_VOICES or len(notes) == 0:
        raise RidershipError(f"A chorale must be an array of shape (chords, {N_VOICES}) with at least one chord; "
                             f"got shape {notes.shape}.")
    bad = (notes != SILENCE) & ((notes < MIN_NOTE) | (notes > MAX_NOTE))
    if bad.any():
        raise RidershipError(f"The chorale holds note {int(notes[bad][0])}: notes must be piano keys "
                             f"{MIN_NOTE}..{MAX_NOTE} or 0 for silence.")
    return notes.astype(np.int64)


def _check_tempo(tempo: float) -> float:
    if not (np.isfinite(tempo) and tempo > 0):
        raise RidershipError(f"The tempo must be > 0 chords per minute; got {tempo!r}.")
    return float(tempo)


def frequency(note) -> np.ndarray:
    """The pitch in Hz of piano key ``note`` (equal temperament, key 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(note, dtype=np.float64) - 69) / 12)


def waveform(chorale, tempo: float = TEMPO, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The chorale as float samples in -1..1: one sine wave per voice, summed.

    Each voice's phase runs on from chord to chord, so a held note is one unbroken tone and
    a change of note makes no click; silence is zero. The sum is divided by the number of
    voices, so it never clips.
    """
    notes = check_chorale(chorale)
    per_chord = int(round(sample_rate * 60 / _check_tempo(tempo)))
    pitch = np.repeat(frequency(notes), per_chord, axis=0)  # (samples, voices)
    sounding = np.repeat(notes != SILENCE, per_chord, axis=0)
    phase = 2 * np.pi * np.cumsum(pitch / sample_rate, axis=0)
    return (np.sin(phase) * sounding).sum(axis=1) / N_VOICES


def write_wav(chorale, path: str | os.PathLike, tempo: float = TEMPO, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write the chorale as a 16-bit mono WAV (``scipy.io.wavfile``), atomically; return the path."""
    from scipy.io import wavfile

    samples = np.round(waveform(chorale, tempo, sample_rate) * 32_767).astype(np.int16)
    path = Path(path)
    with atomic_path(path) as tmp:
        wavfile.write(tmp, sample_rate, samples)
    return path


def held_notes(voice) -> list[tuple[int, int, int]]:
    """One voice's notes as ``(key, first chord, chords held)``: a run of one repeated key is one note."""
    voice = np.asarray(voice)
    starts = np.flatnonzero(np.r_[True, voice[1:] != voice[:-1]])
    lengths = np.diff(np.r_[starts, len(voice)])
    return [(int(voice[s]), int(s), int(n)) for s, n in zip(starts, lengths) if voice[s] != SILENCE]


def midi_file(chorale, tempo: float = TEMPO, program: int = PROGRAM):
    """The chorale as a ``mido.MidiFile``: one track and one channel per voice.

    A voice that repeats a key from one chord to the next holds it: the repeats become one
    longer note rather than a string of sixteenths, which is how the chorales were written
    (the data cannot tell a held note from a repeated one, and held notes are far more
    common). Silence is a rest.
    """
    import mido

    notes = check_chorale(chorale)
    ticks = TICKS_PER_BEAT // 4  # a chord is a sixteenth note
    beat_seconds = 4 * 60 / _check_tempo(tempo)
    song = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=int(round(beat_seconds * 1e6)), time=0)])
    song.tracks.append(conductor)
    for channel, name in enumerate(("soprano", "alto", "tenor", "bass")):
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0),
                                mido.Message("program_change", program=program, channel=channel, time=0)])
        clock = 0  # absolute ticks; messages hold the time since the one before
        for key, first, length in held_notes(notes[:, channel]):
            track.append(mido.Message("note_on", note=key, velocity=VELOCITY, channel=channel,
                                      time=first * ticks - clock))
            track.append(mido.Message("note_off", note=key, velocity=0, channel=channel, time=length * ticks))
            clock = (first + length) * ticks
        song.tracks.append(track)
    return song


def write_midi(chorale, path: str | os.PathLike, tempo: float = TEMPO, program: int = PROGRAM) -> Path:
    """Write the chorale as a standard MIDI file (``mido``), atomically; repeated notes of a voice are held."""
    path = Path(path)
    song = midi_file(chorale, tempo, program)
    with atomic_path(path) as tmp:
        song.save(tmp)
    return path
