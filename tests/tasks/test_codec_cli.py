"""`mir101 codec encode | decode` on a tiny trained codec run: files, bitrates, errors in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from test_codec_task import codec_config

from mir101.cli import main
from mir101.tasks import train
from mir101.tasks.codec import Codes


@pytest.fixture(scope="module")
def codec_run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("codec")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(codec_config(tmp), ["trainer.max_epochs=1"], evaluate=False)
    finally:
        torch.set_num_threads(threads)
    return tmp / "run"


@pytest.fixture
def song(tmp_path) -> Path:
    sr = 22050  # another rate than the codec's: resampled
    t = np.arange(int(0.8 * sr)) / sr
    path = tmp_path / "song.wav"
    sf.write(path, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), sr)
    return path


def _last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_encode_then_decode_writes_the_audio_back(codec_run, song, tmp_path, capsys):
    codes = tmp_path / "song.npz"
    assert main(["codec", "encode", str(codec_run), str(song), "--out", str(codes)]) == 0
    said = _last_json(capsys)
    assert said["kind"] == "tokens" and said["shape"][0] == 4 and said["kbps"] == pytest.approx(16.0)
    assert Codes.load(codes).n_samples == int(0.8 * 16000)
    wav = tmp_path / "decoded.wav"
    assert main(["codec", "decode", str(codec_run), str(codes), "--out", str(wav)]) == 0
    audio, sr = sf.read(wav)
    assert sr == 16000 and len(audio) == int(0.8 * 16000) and np.isfinite(audio).all()


def test_fewer_codebooks_a_lower_bitrate(codec_run, song, tmp_path, capsys):
    codes = tmp_path / "low.npz"
    assert main(["codec", "encode", str(codec_run), str(song), "--out", str(codes), "--quantizers", "1"]) == 0
    assert _last_json(capsys)["kbps"] == pytest.approx(4.0)
    assert main(["codec", "decode", str(codec_run), str(codes), "--out", str(tmp_path / "low.wav")]) == 0


def test_too_many_codebooks_is_one_line(codec_run, song, tmp_path, capsys):
    code = main(
        ["codec", "encode", str(codec_run), str(song), "--out", str(tmp_path / "x.npz"), "--quantizers", "9"]
    )
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert code == 2 and len(err) == 1 and "n_quantizers=9 must lie in [1, 4]" in err[0]
