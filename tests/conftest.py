"""Shared fixtures: tiny stores shaped exactly like the tutorial's published ones."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mir101.data.store import StoreWriter

os.environ.setdefault("MIR101_CACHE", str(Path(__file__).parent / ".cache"))
os.environ.setdefault("MPLBACKEND", "Agg")
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    # `make test` runs one pytest-xdist worker per core: each worker (and the `mir101` processes its
    # tests start) gets its share of the cores, not torch's default of all of them (oversubscribed,
    # 2 workers x 2 threads on 2 cores run slower than 2 x 1)
    _share = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ.setdefault("OMP_NUM_THREADS", str(_share))
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

SR = 22050


def tone(midi: float, seconds: float, sr: int = SR, harmonics: int = 5) -> np.ndarray:
    """A harmonic tone (decaying partials) at a MIDI pitch."""
    t = np.arange(int(seconds * sr)) / sr
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    x = sum(
        (0.6**h) * np.sin(2 * np.pi * f0 * (h + 1) * t) for h in range(harmonics) if f0 * (h + 1) < sr / 2
    )
    return (0.3 * x).astype(np.float32)


def write_store(
    path: Path, items: list[tuple[str, np.ndarray, dict]], definition: dict | None = None
) -> Path:
    with StoreWriter(path, definition=definition or {}) as w:
        for key, audio, ann in items:
            w.add(key, audio, SR, ann)
    return path


@pytest.fixture
def genre_store(tmp_path: Path) -> Path:
    """Like the tutorial's GTZAN store: one genre per item."""
    rng = np.random.default_rng(0)
    items = [
        (f"{g}.{i:05d}.wav", (0.1 * rng.standard_normal(SR)).astype(np.float32), {"genre": [{"value": g}]})
        for g in ("blues", "jazz", "rock")
        for i in range(2)
    ]
    return write_store(tmp_path / "gtzan", items, {"genre": {"type": "global"}})


@pytest.fixture
def tag_store(tmp_path: Path) -> Path:
    """Like MagnaTagATune: several tags per item, plus artist/album/title."""
    rng = np.random.default_rng(1)
    tags = [["classical", "violin"], ["rock", "guitar", "loud"], ["classical", "piano"]]
    items = [
        (
            f"clip{i}.mp3",
            (0.1 * rng.standard_normal(SR)).astype(np.float32),
            {
                "tag": [{"value": t} for t in tg],
                "artist": [{"value": f"artist{i}"}],
                "title": [{"value": f"t{i}"}],
            },
        )
        for i, tg in enumerate(tags)
    ]
    return write_store(tmp_path / "mtt", items)


@pytest.fixture
def f0_store(tmp_path: Path) -> Path:
    """Like Bach10: per-frame f0 of 4 voices as ``f0multi`` (MIDI, voices x frames)."""
    voices = [72.0, 67.0, 64.0, 48.0]
    audio = sum(tone(m, 1.0) for m in voices)
    times = (np.arange(100) * 0.01).tolist()
    values = [[m] * 100 for m in voices]
    values[3][50:] = [0.0] * 50  # the bass stops half-way
    return write_store(
        tmp_path / "bach10", [("01-chorale.wav", audio, {"f0multi": [{"value": values, "time": times}]})]
    )


@pytest.fixture
def note_store(tmp_path: Path) -> Path:
    """Like MAPS: note segments in MIDI."""
    audio = np.concatenate([tone(60, 0.5), tone(64, 0.5)]) + np.concatenate([tone(67, 1.0)])
    notes = [
        {"value": 60, "time": 0.0, "duration": 0.5},
        {"value": 64, "time": 0.5, "duration": 0.5},
        {"value": 67, "time": 0.0, "duration": 1.0},
    ]
    return write_store(tmp_path / "maps", [("MAPS_test.wav", audio, {"pitchmidi": notes})])


@pytest.fixture
def chord_store(tmp_path: Path) -> Path:
    """Like RWC-Pop: chord segments in Harte syntax."""
    chords = [
        {"value": "N", "time": 0.0, "duration": 0.25},
        {"value": "C:maj", "time": 0.25, "duration": 0.25},
        {"value": "A:min7", "time": 0.5, "duration": 0.25},
        {"value": "G:7/3", "time": 0.75, "duration": 0.25},
    ]
    return write_store(tmp_path / "rwc", [("RM-P001.wav", tone(60, 1.0), {"chord": chords})])


@pytest.fixture
def clique_store(tmp_path: Path) -> Path:
    """Like Cover1000: a ``work_id`` clique per item."""
    items = [(f"perf{i}.mp3", tone(60 + i, 0.5), {"work_id": [{"value": f"W{i // 2}"}]}) for i in range(6)]
    return write_store(tmp_path / "cover1000", items)
