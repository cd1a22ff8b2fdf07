"""A tiny polyphonic store (harmonic tones in 3-note chords) and tiny configs for task tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinyrun import TINY_MODEL, make_store
from tinyrun import write_config as write_tiny_config

SR = 22050


def _tone(midi: float, n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / SR
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    amps = 0.6 ** np.arange(5) * rng.uniform(0.5, 1.0, 5)
    x = sum(a * np.sin(2 * np.pi * f0 * (h + 1) * t) for h, a in enumerate(amps) if f0 * (h + 1) < SR / 2)
    env = np.minimum(1.0, np.linspace(0, 40, n)) * np.exp(-np.linspace(0, 2, n))
    return (0.15 * x * env).astype(np.float32)


def make_chord_store(path: Path, n_items: int = 10, seconds: float = 3.0, seed: int = 0) -> Path:
    """Items of random 3-note chords (MIDI 48-76), 0.5 s each, annotated as ``pitchmidi``."""
    return make_store(path, n_items, seconds, seed, chord_size=3, pitches=(48, 77), sound=_tone, role="mix")


@pytest.fixture(scope="session")
def chord_store(tmp_path_factory) -> Path:
    return make_chord_store(tmp_path_factory.mktemp("chords") / "chords")


@pytest.fixture(scope="session")
def larger_chord_store(tmp_path_factory) -> Path:
    """20 items: with ``data.split.test=0.3``, 6 held-out items to score a learning signal on."""
    return make_chord_store(tmp_path_factory.mktemp("chords20") / "chords20", n_items=20)


#: the task tests' experiment: tinyrun's, with shorter patches, a head of 8 channels and 4 epochs
TASK_MODEL = [
    *TINY_MODEL[:3],
    {"conv2d": {"out_channels": 8, "kernel_size": [13, 3], "padding": "same"}},
    "relu",
    {"conv2d": {"out_channels": 1, "kernel_size": [1, 1]}},
]
TASK_SECTIONS = {
    "data": {"patch_frames": 32},
    "model": {"layers": TASK_MODEL},
    "optim": {"lr": 0.01},
    "trainer": {"max_epochs": 4},
}


def _write_config(path: Path, store: Path, run_dir: Path, **sections) -> Path:
    merged = dict(TASK_SECTIONS)
    for k, v in sections.items():
        merged[k] = {**merged[k], **v} if isinstance(v, dict) and k in merged else v
    return write_tiny_config(path, store, run_dir, **merged)


@pytest.fixture(scope="session")
def write_config():
    """``write_config(path, store, run_dir, **sections)`` writes a tiny multipitch experiment."""
    return _write_config
