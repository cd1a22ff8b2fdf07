"""Tagging and chords with mistakes: each fails in one line naming the culprit (the label, the
option, the store, the run), through ``mir101 train`` / ``mir101 predict`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from mir101.data.store import StoreWriter

SR = 22050
TINY_TAGGER = [
    "batchnorm2d",
    {"conv2d": {"out_channels": 4, "kernel_size": [16, 3]}},
    {"squeeze": {"dim": 2}},
    "relu",
    "autopool",
    {"linear": {"out_features": "$n_classes"}},
]


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread (tiny models on a shared CPU run faster so), restored after each test."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _noise(colour: float, rng: np.random.Generator) -> np.ndarray:
    """One second of noise whose spectrum falls as ``f ** -colour``."""
    spec = np.fft.rfft(rng.standard_normal(SR))
    spec /= np.maximum(np.arange(len(spec)), 1) ** colour
    x = np.fft.irfft(spec, SR)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


@pytest.fixture(scope="module")
def genre_like(tmp_path_factory) -> Path:
    """Like the tutorial's GTZAN store: a ``genre`` per clip (noise colours), a ``tag`` list too."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("tagging-store") / "gtzan"
    with StoreWriter(path) as w:
        for i in range(9):
            genre = ("blues", "jazz", "rock")[i % 3]
            w.add(f"{genre}.{i:05d}.wav", _noise(0.5 * (i % 3), rng), SR,
                  {"genre": [{"value": genre}], "tag": [{"value": genre}, {"value": "loud"}]})  # fmt: skip
    return path


def _config(tmp_path: Path, store: Path, **sections) -> Path:
    cfg = {
        "task": {"name": "tagging", "label": "genre"},
        "data": {
            "store": str(store),
            "patch_frames": 16,
            "patch_hop_frames": 16,
            "batch_size": 4,
            "split": {"valid": 0.2, "test": 0.3},
        },  # fmt: skip
        "input": {"name": "logmel", "sr": SR, "n_fft": 1024, "hop_length": 512, "n_mels": 16},
        "model": {"layers": TINY_TAGGER},
        "train": {"patience": 0},
        "trainer": {"max_epochs": 1, "accelerator": "cpu", "enable_progress_bar": False},
        "run_dir": str(tmp_path / "run"),
    }
    for k, v in sections.items():
        if k == "task" and v.get("name", "tagging") != "tagging":
            cfg[k] = v  # another task: its own options only
        else:
            cfg[k] = {**cfg[k], **v} if isinstance(v, dict) and isinstance(cfg.get(k), dict) else v
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def tagging_run(genre_like, tmp_path_factory) -> Path:
    from mir101.tasks.runner import train

    root = tmp_path_factory.mktemp("tagging-run")
    return train(_config(root, genre_like)).run_dir


@pytest.fixture
def wav(tmp_path) -> Path:
    path = tmp_path / "song.wav"
    sf.write(path, _noise(1.0, np.random.default_rng(1)), SR)
    return path


#: (case, config sections, words of the one-line error)
BAD_CONFIGS = [
    ("label the store lacks", {"task": {"label": "mood"}}, ["no item has a 'mood' annotation", "genre"]),
    ("several labels, multi-class", {"task": {"label": "tag"}}, ["has 2 'tag' values", "multilabel: true"]),
    (
        "multi-label with CE",
        {"task": {"label": "tag", "multilabel": True, "loss": "ce"}},
        ["task.loss='ce'", "'bce'"],
    ),
    ("multi-class with BCE", {"task": {"loss": "bce"}}, ["task.loss='bce'", "'ce'"]),
    ("unknown pooling", {"task": {"pooling": "median"}}, ["task.pooling='median'", "autopool"]),
    ("unknown item pooling", {"task": {"item_pooling": "vote"}}, ["task.item_pooling='vote'", "mean"]),
    (
        "balanced multi-label",
        {"task": {"label": "tag", "multilabel": True, "balanced": True}},
        ["task.balanced"],
    ),
    ("unknown option", {"task": {"lable": "genre"}}, ["lable", "allowed"]),
    ("no split in the store", {"task": {"split_from_store": True}}, ["carries no split", "split_from_store"]),
    (
        "pooling without a pooling layer",
        {"task": {"pooling": "max"}, "model": {"layers": TINY_TAGGER[:4] + [{"globalmeanpool": {}}]}},
        ["no pooling-over-time layer"],
    ),
    (
        "a frame-level model",
        {"model": {"layers": TINY_TAGGER[:4]}},
        ["must output one logit per class", "(3,)"],
    ),
]


@pytest.mark.parametrize("case, sections, words", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_tagging_configs(case, sections, words, genre_like, tmp_path, cli_error):
    if case == "pooling without a pooling layer":
        sections["model"]["layers"][-1] = {"flatten": {}}
    message = cli_error(["train", _config(tmp_path, genre_like, **sections)])
    for w in words:
        assert w in message, message


#: chords: (case, config sections, words of the one-line error)
BAD_CHORDS = [
    ("a store without chords", {}, ["has no 'chord' chord segments", "genre"]),
    ("unknown decoding", {"task": {"name": "chords", "decode": "beam"}}, ["task.decode='beam'", "viterbi"]),
    ("self-transition of 1", {"task": {"name": "chords", "self_prob": 1.0}}, ["task.self_prob=1.0"]),
]


@pytest.mark.parametrize("case, sections, words", BAD_CHORDS, ids=[c[0] for c in BAD_CHORDS])
def test_bad_chord_configs(case, sections, words, genre_like, tmp_path, cli_error):
    chord_model = [
        "batchnorm2d",
        {"conv2d": {"out_channels": 4, "kernel_size": [16, 1]}},
        {"squeeze": {"dim": 2}},
        {"conv1d": {"out_channels": "$n_classes", "kernel_size": 1}},
    ]
    sections = {"task": {"name": "chords", **sections.get("task", {})}, "model": {"layers": chord_model}}
    message = cli_error(["train", _config(tmp_path, genre_like, **sections)])
    for w in words:
        assert w in message, message


def test_a_tagging_model_for_chords_says_what_it_outputs(genre_like, tmp_path, cli_error):
    message = cli_error(["train", _config(tmp_path, genre_like, task={"name": "chords"})])
    assert "a chord model must output (25 classes, time=16)" in message and "(25,)" in message


def test_predict_when_the_store_changed_labels(tagging_run, wav, tmp_path, cli_error):
    """The run's metrics.json lists other classes than its store now gives: refused, not mislabelled."""
    import shutil

    run = tmp_path / "run-copy"
    shutil.copytree(tagging_run, run)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["extras"]["classes"] = ["blues", "country", "rock"]
    (run / "metrics.json").write_text(json.dumps(metrics))
    message = cli_error(["predict", "tagging", run, wav, "--out", tmp_path / "pred"])
    assert "classes of metrics.json" in message and "train again" in message


def test_predict_a_chords_run_as_tagging(tagging_run, wav, tmp_path, cli_error):
    message = cli_error(["predict", "chords", tagging_run, wav, "--out", tmp_path / "pred"])
    assert "'tagging' model, not 'chords'" in message


def test_predict_a_too_short_file(tagging_run, tmp_path, cli_error):
    short = tmp_path / "click.wav"
    sf.write(short, np.zeros(100, np.float32), SR)
    message = cli_error(["predict", "tagging", tagging_run, short, "--out", tmp_path / "pred"])
    assert "click.wav" in message and "shorter than one frame" in message


def test_predict_prints_top_labels_and_writes_the_tagogram(tagging_run, wav, tmp_path, cli_ok):
    out = cli_ok(["predict", "tagging", tagging_run, wav, "--out", tmp_path / "pred"])
    answer = json.loads(out.strip().splitlines()[-1])
    assert answer["top"].split()[0] in ("blues", "jazz", "rock")
    assert Path(answer["tagogram"]).is_file() and Path(answer["json"]).is_file()
