"""The tiny store, audio and multi-pitch experiment the tests are made of.

Imported as ``tinyrun`` by the reliability suite and by the task tests' conftest (``tests/`` is on
``sys.path`` through ``tests/conftest.py``).

Every case feeds mir101 something a user could give it (a bad file, a typo, a foreign checkpoint,
an unwritable folder) and checks that it gets either a clean repair (logged) or one readable
error naming the culprit: a ``mir101.errors`` exception from the library, or from the CLI exit
status 2 and exactly one ``error: ...`` line, no traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml

from mir101.data.store import StoreWriter

SR = 22050

TINY_INPUT = {
    "name": "hcqt",
    "fmin": 65.41,
    "n_octaves": 4,
    "bins_per_semitone": 1,
    "harmonics": [1, 2, 3],
    "hop_length": 512,
}
TINY_MODEL = [
    {"batchnorm2d": {}},
    {"conv2d": {"out_channels": 8, "kernel_size": [5, 3], "padding": "same"}},
    "relu",
    {"conv2d": {"out_channels": 1, "kernel_size": [13, 3], "padding": "same"}},
]


def tone(midi: float, seconds: float, sr: int = SR) -> np.ndarray:
    """A harmonic tone (4 decaying partials) at a MIDI pitch, float32."""
    t = np.arange(int(seconds * sr)) / sr
    f0 = 440.0 * 2 ** ((midi - 69) / 12)
    x = sum(0.6**h * np.sin(2 * np.pi * f0 * (h + 1) * t) for h in range(4) if f0 * (h + 1) < sr / 2)
    return (0.2 * x).astype(np.float32)


def make_store(
    path: Path,
    n_items: int = 6,
    seconds: float = 2.0,
    seed: int = 0,
    *,
    chord_size: int = 2,
    pitches: tuple[int, int] = (50, 75),
    sound: Callable[[int, int, np.random.Generator], np.ndarray] | None = None,
    role: str | None = None,
) -> Path:
    """Items of random ``chord_size``-note chords (MIDI ``pitches``, end excluded) changing every
    0.5 s, annotated as ``pitchmidi`` notes and one ``work_id`` per item.

    ``sound(midi, n_samples, rng)`` makes each note (default: :func:`tone`); ``role`` adds a
    ``role`` annotation to every item.
    """
    rng = np.random.default_rng(seed)
    sound = sound or (lambda midi, n, _rng: tone(midi, n / SR))
    with StoreWriter(path) as w:
        for i in range(n_items):
            audio = np.zeros(int(seconds * SR), np.float32)
            notes = []
            for s in range(int(seconds / 0.5)):
                for m in rng.choice(np.arange(*pitches), chord_size, replace=False):
                    a = int(s * 0.5 * SR)
                    audio[a : a + SR // 2] += sound(m, SR // 2, rng)
                    notes.append({"value": int(m), "time": s * 0.5, "duration": 0.5})
            annotations = {"pitchmidi": notes, "work_id": [{"value": f"w{i}"}]}
            if role is not None:
                annotations["role"] = [{"value": role}]
            w.add(f"item{i}", audio, SR, annotations)
    return path


def write_config(path: Path, store: Path, run_dir: Path, **sections) -> Path:
    """A tiny multipitch experiment; ``sections`` update (dicts) or replace its sections."""
    cfg = {
        "task": {"name": "multipitch", "pos_weight": 3.0},
        "data": {
            "store": str(store),
            "patch_frames": 64,
            "patch_hop_frames": 16,
            "batch_size": 8,
            "split": {"valid": 0.2, "test": 0.2},
        },
        "input": dict(TINY_INPUT),
        "model": {"layers": TINY_MODEL},
        "optim": {"lr": 0.02},
        "train": {"patience": 0},
        "trainer": {
            "max_epochs": 3,
            "accelerator": "cpu",
            "enable_progress_bar": False,
            "log_every_n_steps": 1,
        },
        "run_dir": str(run_dir),
    }
    for k, v in sections.items():
        cfg[k] = {**cfg.get(k, {}), **v} if isinstance(v, dict) and isinstance(cfg.get(k), dict) else v
    path.write_text(yaml.safe_dump(cfg))
    return path
