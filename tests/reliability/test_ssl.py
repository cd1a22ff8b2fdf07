"""Self-supervised learning and ``mir101 embed`` with mistakes: each fails in one line naming the
culprit (the option, the label, the run, the file), through the command line a user types."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from mir101.data.store import StoreWriter

SR = 8000
TINY_ENCODER = [
    {"conv1d": {"out_channels": 8, "kernel_size": 32, "stride": 8}},
    "relu",
    {"conv1d": {"out_channels": 8, "kernel_size": 5}},
    "relu",
    "globalmeanpool",
]


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread (tiny models on a shared CPU), restored after each test."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _noise(colour: float, rng: np.random.Generator, seconds: float = 2.0) -> np.ndarray:
    n = int(seconds * SR)
    spec = np.fft.rfft(rng.standard_normal(n))
    spec /= np.maximum(np.arange(len(spec)), 1) ** colour
    x = np.fft.irfft(spec, n)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


@pytest.fixture(scope="module")
def colours(tmp_path_factory) -> Path:
    """Twelve 2-s clips of three noise colours (annotation ``colour``), one work each."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("ssl-store") / "colours"
    with StoreWriter(path) as w:
        for i in range(12):
            c = ("white", "pink", "brown")[i % 3]
            w.add(f"{c}-{i:02d}", _noise(0.5 * (i % 3), rng), SR, {"colour": [{"value": c}]})
    return path


def _config(tmp_path: Path, store: Path, **sections) -> Path:
    cfg = {
        "task": {"name": "ssl", "drop_last": 0, "projector": [8], "projection_dim": 4, "views_per_item": 2,
                 "probes": [{"label": "colour"}], "fractions": [0.5, 1.0]},
        "data": {"store": str(store), "patch_frames": 4000, "batch_size": 4, "split": {"valid": 0.2, "test": 0.3}},
        "input": {"name": "waveform", "sr": SR},
        "model": {"layers": TINY_ENCODER},
        "train": {"patience": 0},
        "trainer": {"max_epochs": 1, "accelerator": "cpu", "enable_progress_bar": False},
        "run_dir": str(tmp_path / "run"),
    }  # fmt: skip
    for k, v in sections.items():
        cfg[k] = {**cfg[k], **v} if isinstance(v, dict) and isinstance(cfg.get(k), dict) else v
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def ssl_run(colours, tmp_path_factory) -> Path:
    from mir101.tasks.runner import train

    root = tmp_path_factory.mktemp("ssl-run")
    return train(_config(root, colours)).run_dir


#: (case, config sections, words of the one-line error)
BAD_CONFIGS = [
    ("unknown loss", {"task": {"loss": "triplet"}}, ["task.loss='triplet'", "ntxent", "vicreg"]),
    ("batch of one", {"data": {"batch_size": 1}}, ["data.batch_size=1", ">= 2"]),
    ("no labelled fraction", {"task": {"fractions": [0.0, 1.0]}}, ["task.fractions", "(0, 1]"]),
    ("no probe", {"task": {"probes": []}}, ["task.probes is empty"]),
    ("probe without a label", {"task": {"probes": [{"multilabel": True}]}}, ["task.probes[0]", "'label'"]),
    ("probe label the store lacks", {"task": {"probes": [{"label": "mood"}]}}, ["probe 'mood'", "colour"]),
    ("encoder is not a vector", {"model": {"layers": TINY_ENCODER[:4]}}, ["one vector per patch"]),
    ("every layer dropped", {"task": {"drop_last": 5}}, ["task.drop_last=5", "every layer"]),
    ("unknown augmentation", {"task": {"augment": {"echo": 0.5}}}, ["task.augment", "echo"]),
    ("bad probability", {"task": {"augment": {"p": 1.5}}}, ["task.augment", "p_polarity=1.5"]),
    ("augmenting features", {"input": {"name": "logmel", "sr": SR, "n_fft": 256, "hop_length": 128, "n_mels": 16},
                             "data": {"patch_frames": 16}}, ["task.augment", "waveform"]),  # fmt: skip
    ("unknown loss argument", {"task": {"loss": "vicreg", "loss_args": {"temperature": 0.1}}}, ["temperature"]),
]


@pytest.mark.parametrize("case, sections, words", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_ssl_configs(case, sections, words, colours, tmp_path, cli_error):
    message = cli_error(["train", _config(tmp_path, colours, **sections)])
    for w in words:
        assert w in message, message


def test_embed_writes_embeddings_of_any_run(ssl_run, tmp_path, cli_ok):
    wav = tmp_path / "song.wav"
    sf.write(wav, _noise(1.0, np.random.default_rng(1), 3.0), 16000)  # another rate: resampled
    out = cli_ok(["embed", ssl_run, wav, "--out", tmp_path / "emb"])
    line = json.loads(out.strip().splitlines()[-1])
    assert line["task"] == "ssl" and line["dim"] == 8 and line["patches"] >= 2
    data = np.load(line["npz"])
    assert data["item"].shape == (8,) and data["patches"].shape == (line["patches"], 8)
    assert np.allclose(data["patches"].mean(0), data["item"], atol=1e-5)


#: (case, argv after the run folder, words)
BAD_EMBEDS = [
    ("a hop of 0", ["{wav}", "--hop", "0", "--out", "{out}"], ["--hop 0"]),
    ("missing audio", ["{tmp}/nothing.wav", "--out", "{out}"], ["nothing.wav"]),
    ("empty audio", ["{short}", "--out", "{out}"], ["short.wav", "empty"]),
]


@pytest.mark.parametrize("case, argv, words", BAD_EMBEDS, ids=[c[0] for c in BAD_EMBEDS])
def test_bad_embeds(case, argv, words, ssl_run, tmp_path, cli_error):
    wav, short = tmp_path / "song.wav", tmp_path / "short.wav"
    sf.write(wav, _noise(1.0, np.random.default_rng(1)), SR)
    sf.write(short, np.zeros(0, np.float32), SR)
    fill = {"wav": wav, "short": short, "out": tmp_path / "emb", "tmp": tmp_path}
    message = cli_error(["embed", ssl_run, *[a.format(**fill) for a in argv]])
    for w in words:
        assert w in message, message


def test_embed_refuses_a_folder_that_is_not_a_run_and_existing_files(ssl_run, tmp_path, cli_error, cli_ok):
    wav = tmp_path / "song.wav"
    sf.write(wav, _noise(1.0, np.random.default_rng(1)), SR)
    assert "not a run folder" in cli_error(["embed", tmp_path, wav, "--out", tmp_path / "emb"])
    cli_ok(["embed", ssl_run, wav, "--out", tmp_path / "emb"])
    assert "--overwrite" in cli_error(["embed", ssl_run, wav, "--out", tmp_path / "emb"])
    cli_ok(["embed", ssl_run, wav, "--out", tmp_path / "emb", "--overwrite"])
