"""Pitch conversions (MIDI <-> Hz, note names); one definition for the whole package."""

from __future__ import annotations

import numpy as np

__all__ = ["midi_to_hz", "hz_to_midi", "note_name", "A4_HZ"]

A4_HZ = 440.0
_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def midi_to_hz(midi: np.ndarray | float) -> np.ndarray | float:
    """MIDI note number (69 = A4) to frequency in Hz: ``440 * 2 ** ((m - 69) / 12)``."""
    return A4_HZ * 2.0 ** ((np.asarray(midi, dtype=float) - 69.0) / 12.0)


def hz_to_midi(hz: np.ndarray | float) -> np.ndarray | float:
    """Frequency in Hz to (fractional) MIDI note number; non-positive input gives NaN."""
    hz = np.asarray(hz, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 69.0 + 12.0 * np.log2(hz / A4_HZ)
    return np.where(hz > 0, out, np.nan)


def note_name(midi: int) -> str:
    """Scientific pitch name of a MIDI number, e.g. 60 -> 'C4'."""
    midi = int(round(midi))
    return f"{_NAMES[midi % 12]}{midi // 12 - 1}"
