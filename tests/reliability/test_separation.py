"""Bad inputs of the separation task: each gets exit status 2 and one line naming the culprit.

`mir101 separate` on a missing, empty or corrupt audio file, a folder that is not a run, a negative
option, an existing output; a config whose sources are not the stems' roles. And a good case at
another sample rate, in stereo and longer than a chunk: one WAV per source at the file's own rate
and length.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from mir101.tasks import train


def _experiment():
    """The tiny separation experiment of tests/tasks/test_separation_task.py (one definition of it)."""
    path = Path(__file__).resolve().parents[1] / "tasks" / "test_separation_task.py"
    spec = importlib.util.spec_from_file_location("separation_task_experiment", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.separation_config


separation_config = _experiment()


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        tmp = tmp_path_factory.mktemp("separation-run")
        train(separation_config(tmp), ["trainer.max_epochs=1", "task.patches_per_epoch=16"], evaluate=False)
    finally:
        torch.set_num_threads(threads)
    return tmp / "run"


def test_a_stereo_file_at_another_rate_gives_one_wav_per_source_at_its_rate(run, tmp_path, cli_ok, cli_error):
    sr = 22050
    t = np.arange(int(2.3 * sr)) / sr  # longer than a chunk (1.5 s): overlap-add
    x = 0.2 * np.sin(2 * np.pi * 440 * t)
    sf.write(tmp_path / "song.wav", np.stack([x, 0.5 * x], axis=1).astype(np.float32), sr)
    cli_ok(["separate", run, tmp_path / "song.wav", "--out", tmp_path / "out", "--wiener", "1"])
    for voice in ("soprano", "alto", "tenor", "bass"):
        info = sf.info(str(tmp_path / "out" / f"song.{voice}.wav"))
        assert info.samplerate == sr and info.frames == len(x)
    assert "exists" in cli_error(["separate", run, tmp_path / "song.wav", "--out", tmp_path / "out"])


@pytest.mark.parametrize("case", ["missing", "empty", "corrupt", "not_a_run", "negative_wiener"])
def test_bad_separate_inputs_are_one_line_errors(case, run, tmp_path, cli_error):
    audio = tmp_path / "in.wav"
    if case == "empty":
        sf.write(audio, np.zeros(0, np.float32), 8000)
    elif case == "corrupt":
        audio.write_bytes(b"RIFF" + bytes(range(200)))
    elif case != "missing":
        sf.write(audio, np.zeros(800, np.float32), 8000)
    run_dir = tmp_path if case == "not_a_run" else run
    extra = ["--wiener", "-1"] if case == "negative_wiener" else []
    line = cli_error(["separate", run_dir, audio, "--out", tmp_path / "o", *extra])
    expected = {"missing": "in.wav", "empty": "in.wav", "corrupt": "in.wav", "not_a_run": "not a run folder",
                "negative_wiener": "--wiener"}[case]  # fmt: skip
    assert expected in line, line


def test_sources_that_are_not_the_stems_roles_are_named(tmp_path, cli_error):
    line = cli_error(["train", separation_config(tmp_path), "task.sources=[soprano,violin]"])
    assert "violin" in line and "no stem" in line
