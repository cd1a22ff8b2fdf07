"""Test signals whose content is known exactly: sines, harmonic tones and chords at a pitch, white noise.

The tests import them by module name (``from signals import sine``): ``tests/`` has no
``__init__.py``, so pytest puts it on ``sys.path`` for its ``conftest.py`` (as for ``tinyrun``).
Every function is deterministic: the same arguments give the same samples (noise takes a seed).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

__all__ = ["SR", "midi_to_hz", "times", "sine", "harmonic_tone", "chord", "white_noise"]

#: the sample rate of the tests' audio, Hz (the tutorial's)
SR = 22050


def midi_to_hz(midi: float) -> float:
    """The frequency of a (fractional) MIDI pitch, A4 = 69 = 440 Hz."""
    return 440.0 * 2 ** ((midi - 69) / 12)


def times(seconds: float, sr: int = SR, n_samples: int | None = None) -> np.ndarray:
    """Sample times ``n / sr`` in seconds, ``int(seconds * sr)`` of them (or ``n_samples``), float64."""
    n = int(seconds * sr) if n_samples is None else n_samples
    return np.arange(n) / sr


def sine(
    freq_hz: float,
    seconds: float = 1.0,
    *,
    sr: int = SR,
    amp: float = 1.0,
    phase: float = 0.0,
    n_samples: int | None = None,
    dtype: npt.DTypeLike = np.float32,
) -> np.ndarray:
    """``amp * sin(2 pi freq_hz t + phase)``, shape ``(samples,)``.

    Args:
        freq_hz: frequency in Hz.
        seconds: duration (``int(seconds * sr)`` samples) unless ``n_samples`` is given.
        sr: sample rate in Hz.
        amp: peak amplitude.
        phase: phase at ``t = 0``, radians.
        n_samples: exact number of samples (overrides ``seconds``).
        dtype: float32 (audio) or float64 (a reference to compare against).
    """
    t = times(seconds, sr, n_samples)
    return (amp * np.sin(2 * np.pi * freq_hz * t + phase)).astype(dtype)


def harmonic_tone(
    f0_hz: float,
    seconds: float = 1.0,
    *,
    sr: int = SR,
    n_partials: int = 8,
    decay: float = 0.6,
    amp: float = 0.3,
    phase_step: float = 1.0,
    dtype: npt.DTypeLike = np.float32,
) -> np.ndarray:
    """A tone with partials ``k f0`` of amplitude ``decay**(k - 1)``, those below Nyquist only.

    ``amp * sum_k decay**k sin(2 pi f0 (k + 1) t + phase_step k)`` for ``k = 0 .. n_partials - 1``:
    a pitched sound whose spectrum is known, so an input's bins or a pitch tracker can be checked.

    Args:
        f0_hz: fundamental frequency in Hz (``midi_to_hz(p)`` for a MIDI pitch).
        seconds: duration.
        sr: sample rate in Hz.
        n_partials: partials, the fundamental included (fewer if they would pass Nyquist).
        decay: amplitude ratio of successive partials.
        amp: overall gain.
        phase_step: phase of partial ``k`` is ``phase_step * k`` radians (0: all in sine phase).
        dtype: float32 (audio) or float64.

    Returns:
        Shape ``(int(seconds * sr),)``.
    """
    t = times(seconds, sr)
    x = sum(
        decay**k * np.sin(2 * np.pi * f0_hz * (k + 1) * t + phase_step * k)
        for k in range(n_partials)
        if f0_hz * (k + 1) < sr / 2
    )
    return (amp * x).astype(dtype)


def chord(midis: Iterable[float], seconds: float = 1.0, *, sr: int = SR, amp: float = 0.2) -> np.ndarray:
    """The sum of :func:`harmonic_tone` at each MIDI pitch (8 partials, each tone's gain ``amp``), float32."""
    return sum(harmonic_tone(midi_to_hz(m), seconds, sr=sr, amp=amp) for m in midis).astype(np.float32)


def white_noise(seconds: float = 1.0, *, sr: int = SR, amp: float = 0.1, seed: int = 0) -> np.ndarray:
    """Gaussian white noise of standard deviation ``amp``, float32, from ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    return (amp * rng.standard_normal(int(seconds * sr))).astype(np.float32)
