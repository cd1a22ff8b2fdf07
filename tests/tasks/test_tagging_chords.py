"""Chord recognition (``chords``): the template baseline's pieces, ``.lab`` files, learning.

The learning test reads a store the test writes, shaped like the tutorial's RWC-Pop store
(``chord`` segments in Harte syntax): six triads of harmonic tones, a chord every 0.5 s, voiced in
random octaves; half of the items carry an expert analysis (``chord_expert``) too.
"""

from __future__ import annotations

from pathlib import Path

import mir_eval
import numpy as np
import pytest
import yaml

from mir101.config import load_config
from mir101.data.store import StoreWriter
from mir101.data.targets import CHORD_LABELS
from mir101.errors import ConfigError
from mir101.tasks import train
from mir101.tasks.runner import make_task
from mir101.tasks.tagging import (
    chord_templates,
    frames_to_segments,
    smooth_scores,
    template_scores,
    write_lab,
)
from tinyrun import tone

SR = 22050
#: the triads of the written store (MIDI pitches of their root position)
TRIADS = {
    "C:maj": (60, 64, 67),
    "A:min": (57, 60, 64),
    "F:maj": (53, 57, 60),
    "G:maj": (55, 59, 62),
    "E:min": (52, 55, 59),
    "D:min": (50, 53, 57),
}
#: a small CQT chord network: a conv-2D over the 36 bins, conv-1D layers over time, 25 logits per
#: frame (the rows' bi-LSTM is left out here: it trains several times slower on a CPU; every row of
#: configs/tagging, LSTM included, trains in test_tagging_task.py)
TINY_CHORD_MODEL = [
    "batchnorm2d",
    {"conv2d": {"out_channels": 8, "kernel_size": [36, 1]}},
    {"squeeze": {"dim": 2}},
    "relu",
    {"conv1d": {"out_channels": 16, "kernel_size": 5, "padding": "same"}},
    "relu",
    {"conv1d": {"out_channels": 16, "kernel_size": 9, "padding": "same"}},
    "relu",
    {"conv1d": {"out_channels": "$n_classes", "kernel_size": 1}},
]


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread for these tests: tiny models on a shared 2-core machine run several times
    faster so (measured: this file's tests 3x faster under load; a small LSTM call 5 ms instead
    of seconds), and the thread count is restored after each test."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_triad_store(path: Path, n_items: int = 12, seconds: float = 6.0, seed: int = 0) -> Path:
    """Items of random triads (one every 0.5 s, each note in a random octave), ``chord`` segments."""
    rng = np.random.default_rng(seed)
    names = list(TRIADS)
    with StoreWriter(path) as w:
        for i in range(n_items):
            audio = np.zeros(int(seconds * SR), np.float32)
            segments = []
            for s in range(int(seconds / 0.5)):
                name = names[int(rng.integers(len(names)))]
                start = int(s * 0.5 * SR)
                for m in TRIADS[name]:
                    audio[start : start + SR // 2] += tone(m + 12 * int(rng.integers(-1, 2)), 0.5)
                segments.append({"value": name, "time": s * 0.5, "duration": 0.5})
            annotations = {"chord": segments, "work_id": [{"value": f"w{i}"}]}
            if i % 2 == 0:
                annotations["chord_expert"] = segments
            w.add(f"item{i}", audio, SR, annotations)
    return path


@pytest.fixture(scope="session")
def triad_store(tmp_path_factory) -> Path:
    return make_triad_store(tmp_path_factory.mktemp("triads") / "triads")


def chords_config(tmp_path: Path, store: Path, **sections) -> Path:
    """A tiny chord experiment on a triad store; ``sections`` update the config's sections."""
    cfg = {
        "task": {"name": "chords"},
        "data": {
            "store": str(store),
            "split": {"valid": 0.2, "test": 0.2},
            "patch_frames": 64,
            "patch_hop_frames": 32,
            "batch_size": 8,
        },
        "input": {
            "name": "cqt",
            "sr": SR,
            "hop_length": 512,
            "fmin": 65.41,
            "n_octaves": 3,
            "bins_per_semitone": 1,
            "log": "log1p",
        },  # fmt: skip
        "model": {"layers": TINY_CHORD_MODEL},
        "optim": {"lr": 0.01},
        "train": {"patience": 0},
        "trainer": {
            "max_epochs": 1,
            "accelerator": "cpu",
            "enable_progress_bar": False,
            "log_every_n_steps": 1,
        },
        "run_dir": str(tmp_path / "run"),
    }
    for k, v in sections.items():
        cfg[k] = {**cfg[k], **v} if isinstance(v, dict) and isinstance(cfg.get(k), dict) else v
    path = tmp_path / "chords.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def contract_config(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """The contract test's chord experiment (tests/tasks/test_contract.py), on a store it writes."""
    return chords_config(tmp_path, make_triad_store(tmp_path / "triads", n_items=8))


# ---------------------------------------------------------------------------- the template baseline
def _chroma(*pcs: int, frames: int = 1) -> np.ndarray:
    c = np.full((12, frames), 0.05)
    c[list(pcs)] = 1.0
    return c


def test_templates_find_triads_and_silence():
    assert chord_templates().shape == (24, 12)
    assert template_scores(_chroma(0, 4, 7)).argmax(axis=0).tolist() == [CHORD_LABELS.index("C:maj")]
    assert template_scores(_chroma(9, 0, 4)).argmax(axis=0).tolist() == [CHORD_LABELS.index("A:min")]
    quiet = np.concatenate([_chroma(0, 4, 7), 1e-6 * _chroma(2, 5, 9)], axis=1)
    assert template_scores(quiet).argmax(axis=0).tolist() == [0, CHORD_LABELS.index("N")]


@pytest.mark.parametrize("how", ["viterbi", "median"])
def test_smoothing_removes_a_one_frame_blip(how):
    chroma = np.concatenate(
        [_chroma(0, 4, 7, frames=20), _chroma(7, 11, 2), _chroma(0, 4, 7, frames=20)], axis=1
    )
    scores = template_scores(chroma)
    assert len(set(smooth_scores(scores, "none").tolist())) == 2
    assert set(smooth_scores(scores, how, median_frames=5).tolist()) == {0}
    with pytest.raises(ConfigError, match="must be one of"):
        smooth_scores(scores, "mode")


def test_lab_files_read_back_with_mir_eval(tmp_path):
    intervals, labels = frames_to_segments(np.array([0, 0, 0, 24, 21, 21]), 0.25)
    path = write_lab(intervals, labels, tmp_path / "x.lab")
    iv, lab = mir_eval.io.load_labeled_intervals(str(path))
    assert lab == ["C:maj", "N", "A:min"] and np.allclose(iv, [[0, 0.75], [0.75, 1.0], [1.0, 1.5]])


# ---------------------------------------------------------------------------- learning
def test_chords_learn_beat_baselines_and_untrained(triad_store, tmp_path):
    """The trained network beats its untrained self and the majority class on held-out items; the
    template baseline and the expert set are scored in the same evaluation."""
    config = chords_config(tmp_path, triad_store, trainer={"max_epochs": 4})
    result = train(config).evaluation
    assert result is not None and result.primary == "majmin"
    task = make_task(load_config(config))
    untrained = task.evaluate(task.build_model(), task.make_split(), tmp_path)
    majority = result.extras["baselines"]["majority"]["test"]["majmin"]
    assert result.score() > untrained.score() and result.score() > majority + 0.1, (result.sets, majority)
    template = result.extras["baselines"]["template"]["test"]
    assert template["majmin"] > 0.8  # clean triads: the classic recogniser finds them
    assert set(result.sets) <= {"test", "test_expert"} and "frame_accuracy" in result.sets["test"]
    assert (tmp_path / "run" / "figures" / "chordogram_test.png").is_file()
