"""Listening to chorales: a WAV of summed sine waves and a standard MIDI file (mido).

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
#: A WAV file's sizes are 32-bit numbers: it holds at most 4 GiB of samples.
WAV_LIMIT = 2**32 - 1 - 44
#: Chords computed at once: the waveform is written in pieces, so memory stays small for any length.
CHORDS_PER_PIECE = 64


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


def _per_chord(tempo: float, sample_rate: int) -> int:
    return int(round(sample_rate * 60 / _check_tempo(tempo)))


def wav_bytes(chords: int, tempo: float = TEMPO, sample_rate: int = SAMPLE_RATE) -> int:
    """The size of the samples of a ``chords``-long chorale's WAV (16-bit mono)."""
    return chords * _per_chord(tempo, sample_rate) * 2


def max_wav_chords(tempo: float = TEMPO, sample_rate: int = SAMPLE_RATE) -> int:
    """The most chords a WAV can hold (its 4 GiB limit): about 129,000 at the exercise's tempo."""
    return WAV_LIMIT // wav_bytes(1, tempo, sample_rate)


def check_wav_length(chords: int, tempo: float = TEMPO, sample_rate: int = SAMPLE_RATE) -> None:
    """Refuse, in one line with the limit, a chorale too long for one WAV file."""
    if wav_bytes(chords, tempo, sample_rate) > WAV_LIMIT:
        size = wav_bytes(chords, tempo, sample_rate) / 2**30
        raise RidershipError(f"{chords:,} chords would make a WAV of {size:.1f} GiB, over the format's 4 GiB limit: "
                             f"at most {max_wav_chords(tempo, sample_rate):,} chords fit in one.")


def _pieces(notes: np.ndarray, tempo: float, sample_rate: int):
    """The waveform of checked ``notes``, ``CHORDS_PER_PIECE`` chords at a time, each voice's phase carried on."""
    per_chord = _per_chord(tempo, sample_rate)
    offset = np.zeros(N_VOICES)
    for start in range(0, len(notes), CHORDS_PER_PIECE):
        part = notes[start:start + CHORDS_PER_PIECE]
        pitch = np.repeat(frequency(part), per_chord, axis=0)  # (samples, voices)
        sounding = np.repeat(part != SILENCE, per_chord, axis=0)
        phase = offset + 2 * np.pi * np.cumsum(pitch / sample_rate, axis=0)
        offset = phase[-1] % (2 * np.pi)
        yield (np.sin(phase) * sounding).sum(axis=1) / N_VOICES


def waveform(chorale, tempo: float = TEMPO, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The chorale as float samples in -1..1: one sine wave per voice, summed.

    Each voice's phase runs on from chord to chord, so a held note is one unbroken tone and
    a change of note makes no click; silence is zero. The sum is divided by the number of
    voices, so it never clips.
    """
    return np.concatenate(list(_pieces(check_chorale(chorale), tempo, sample_rate)))


def write_wav(chorale, path: str | os.PathLike, tempo: float = TEMPO, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write the chorale as a 16-bit mono WAV (the standard library's ``wave``), atomically; return the path.

    The samples are computed and written a few chords at a time, so any length that fits the
    format (:func:`max_wav_chords`) fits in memory; a longer one is refused before anything is written.
    """
    import wave

    notes = check_chorale(chorale)
    check_wav_length(len(notes), tempo, sample_rate)
    path = Path(path)
    with atomic_path(path) as tmp, wave.open(str(tmp), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        for piece in _pieces(notes, tempo, sample_rate):
            wav.writeframes(np.round(piece * 32_767).astype("<i2").tobytes())
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
