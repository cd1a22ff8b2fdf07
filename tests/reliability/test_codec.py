"""Codes files and codec runs that are not what they should be: corrupt, foreign, at another rate.

Each case goes through `mir101 codec encode | decode` and gets exit status 2 and one line that
names the file and what is wrong with it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from mir101.tasks import train
from mir101.tasks.codec import Codes


def _codec_config():
    """The tiny codec experiment of tests/tasks/test_codec_task.py (one definition of it)."""
    path = Path(__file__).resolve().parents[1] / "tasks" / "test_codec_task.py"
    spec = importlib.util.spec_from_file_location("codec_task_experiment", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.codec_config


codec_config = _codec_config()


@pytest.fixture(scope="module")
def codec_runs(tmp_path_factory):
    """Two tiny codec runs of the same config and different seeds (two different models)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    runs = []
    try:
        for seed in (0, 1):
            tmp = tmp_path_factory.mktemp(f"codec-{seed}")
            train(codec_config(tmp), ["trainer.max_epochs=1", f"train.seed={seed}"], evaluate=False)
            runs.append(tmp / "run")
    finally:
        torch.set_num_threads(threads)
    return runs


@pytest.fixture(scope="module")
def codes(codec_runs, tmp_path_factory):
    """A valid codes file of run 0."""
    folder = tmp_path_factory.mktemp("codes")
    wav = folder / "a.wav"
    sf.write(wav, (0.3 * np.sin(np.linspace(0, 900, 8000))).astype(np.float32), 16000)
    from mir101.cli import main

    assert main(["codec", "encode", str(codec_runs[0]), str(wav), "--out", str(folder / "a.npz")]) == 0
    return folder / "a.npz"


def _decode(run, path, tmp_path):
    return ["codec", "decode", run, path, "--out", tmp_path / "out.wav"]


def _rewrite(codes_path, tmp_path, **changes):
    c = Codes.load(codes_path)
    for k, v in changes.items():
        setattr(c, k, v)
    out = tmp_path / "edited.npz"
    np.savez(
        out, format=np.array("mir101-codes"), version=np.array(1), kind=np.array(c.kind), data=c.data,
        sr=np.array(c.sr), n_samples=np.array(c.n_samples), hop=np.array(c.hop),
        codebook_size=np.array(c.codebook_size), model=np.array(c.model),
    )  # fmt: skip
    return out


def test_the_valid_file_decodes(codec_runs, codes, tmp_path, cli_ok):
    cli_ok(_decode(codec_runs[0], codes, tmp_path))
    assert sf.info(tmp_path / "out.wav").samplerate == 16000


def test_codes_from_another_model_are_refused(codec_runs, codes, tmp_path, cli_error):
    msg = cli_error(_decode(codec_runs[1], codes, tmp_path))
    assert str(codes) in msg and "another model" in msg and "the run that encoded them" in msg
    assert not (tmp_path / "out.wav").exists()


def test_codes_at_another_sample_rate_are_refused(codec_runs, codes, tmp_path, cli_error):
    msg = cli_error(_decode(codec_runs[0], _rewrite(codes, tmp_path, sr=22050), tmp_path))
    assert "22050 Hz" in msg and "16000 Hz" in msg


@pytest.mark.parametrize(
    "damage, expected",
    [
        (lambda p: p.write_bytes(b"\x00garbage" * 50), "not a readable codes file"),
        (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "corrupt or truncated"),
        (lambda p: np.savez(p.open("wb"), x=np.zeros(3)), "not a mir101 codes file"),
        (lambda p: p.write_bytes(b""), "not a readable codes file"),
    ],
    ids=["garbage", "truncated", "another-npz", "empty"],
)
def test_corrupt_codes_files(codec_runs, codes, tmp_path, cli_error, damage, expected):
    path = tmp_path / "bad.npz"
    path.write_bytes(codes.read_bytes())
    damage(path)
    msg = cli_error(_decode(codec_runs[0], path, tmp_path))
    assert str(path) in msg and expected in msg


def test_edited_tokens_are_refused(codec_runs, codes, tmp_path, cli_error):
    c = Codes.load(codes)
    data = c.data.copy()
    data[0, 0] = 99
    msg = cli_error(_decode(codec_runs[0], _rewrite(codes, tmp_path, data=data), tmp_path))
    assert "tokens must lie in [0, 16)" in msg
    msg = cli_error(
        _decode(codec_runs[0], _rewrite(codes, tmp_path, data=c.data.astype(np.float32)), tmp_path)
    )
    assert "integers" in msg


def test_missing_codes_and_bad_audio(codec_runs, tmp_path, cli_error):
    assert "codes file not found" in cli_error(_decode(codec_runs[0], tmp_path / "none.npz", tmp_path))
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....not audio")
    msg = cli_error(["codec", "encode", codec_runs[0], bad, "--out", tmp_path / "x.npz"])
    assert str(bad) in msg and "cannot read audio" in msg
    msg = cli_error(["codec", "encode", codec_runs[0], bad, "--out", tmp_path])
    assert "is a folder" in msg


def test_a_run_of_another_task_is_not_a_codec(trained_run, codes, tmp_path, cli_error):
    msg = cli_error(_decode(trained_run, codes, tmp_path))
    assert "'multipitch' model, not a codec" in msg
