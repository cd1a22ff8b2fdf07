"""Test signals that look like music (harmonic tones, chords, noise) and the devices to test on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

SR = 22050

#: CPU always; CUDA when a GPU is present (skipped otherwise).
DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")),
]


def harmonic_tone(
    midi: float, seconds: float, sr: int = SR, n_partials: int = 8, amp: float = 0.3
) -> np.ndarray:
    """A tone at a (fractional) MIDI pitch with partials decaying as 0.6**k (below Nyquist)."""
    t = np.arange(int(seconds * sr)) / sr
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    x = sum(
        0.6**k * np.sin(2 * np.pi * f0 * (k + 1) * t + k) for k in range(n_partials) if f0 * (k + 1) < sr / 2
    )
    return (amp * x).astype(np.float32)


def signals(seconds: float = 2.0, sr: int = SR) -> dict[str, np.ndarray]:
    """A slightly mistuned harmonic tone, a four-note chord (C3 E4 G4 B4) and white noise."""
    rng = np.random.default_rng(0)
    chord = sum(harmonic_tone(m, seconds, sr, amp=0.2) for m in (48, 64, 67, 71))
    return {
        "tone": harmonic_tone(57.3, seconds, sr),
        "chord": chord.astype(np.float32),
        "noise": (0.1 * rng.standard_normal(int(seconds * sr))).astype(np.float32),
    }


@pytest.fixture(scope="session")
def music() -> dict[str, np.ndarray]:
    """The three test signals, 2 s each (parity tests compare frames away from the edges)."""
    return signals(2.0)


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def make_tone():
    """``make_tone(midi, seconds, n_partials=8, amp=0.3)``: a harmonic tone as float32 audio."""
    return harmonic_tone


@pytest.fixture(autouse=True)
def one_thread():
    """Run each test on one thread: the tensors here are small, and on a busy machine OpenMP
    synchronisation between threads costs far more than it saves (40 ms vs 1 ms per small conv)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
