"""The Task contract: every registered task trains, evaluates, reports, predicts and reloads alike.

A new task is done only when it passes this test: add a tiny experiment for it to ``CONTRACT``
(a function ``(tmp_path) -> config path``). ``toy_family`` (``toy_task.py``, a few dozen lines)
proves that a task plugs in without any change to the runner, the CLI or the quickstart.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from toy_task import TOY_MODEL, ToyNoteFamily

from mir101.cli import main
from mir101.data.corpora import build_notes
from mir101.tasks import TASKS, EvalResult, evaluate_run, load_run, train


@pytest.fixture
def toy_registered(monkeypatch):
    """``toy_family`` in the task registry for one test only."""
    monkeypatch.setitem(TASKS._items, ToyNoteFamily.name, ToyNoteFamily)
    return ToyNoteFamily


def _toy_config(tmp_path: Path, request: pytest.FixtureRequest | None = None) -> Path:
    notes = build_notes(
        programs=(0, 40, 73), pitch_range=(48, 73), pitch_step=3, velocities=(100,),
        out=tmp_path / "notes", progress=False,
    )  # fmt: skip
    cfg = {
        "task": {"name": "toy_family"},
        "data": {"store": str(notes), "patch_frames": 32, "batch_size": 8, "split": {"by": "pitch", "valid": 0.2, "test": 0.3}},
        "input": {"name": "logmel", "sr": 16000, "n_fft": 512, "hop_length": 256, "n_mels": 32},
        "model": {"layers": TOY_MODEL},
        "optim": {"lr": 0.01},
        "train": {"patience": 0},
        "trainer": {"max_epochs": 3, "accelerator": "cpu", "enable_progress_bar": False, "log_every_n_steps": 1},
        "run_dir": str(tmp_path / "run"),
    }  # fmt: skip
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _multipitch_config(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    store, write_config = request.getfixturevalue("chord_store"), request.getfixturevalue("write_config")
    return write_config(tmp_path / "mp.yaml", store, tmp_path / "run")


def _tagging_contracts() -> dict:
    """The tasks of mir101.tasks.tagging (tagging, chords): their tiny experiments live in test_tagging_task.py."""
    from test_tagging_task import CONTRACT_CONFIGS

    return dict(CONTRACT_CONFIGS)


def _codec_contracts() -> dict:
    """The codec task: its tiny experiment lives in test_codec_task.py."""
    from test_codec_task import CONTRACT_CONFIGS

    return dict(CONTRACT_CONFIGS)


def _generation_contracts() -> dict:
    """The generation task: its tiny experiment (on a tiny codec run) lives in test_generation_task.py."""
    from test_generation_task import CONTRACT_CONFIGS

    return dict(CONTRACT_CONFIGS)


def _ssl_contracts() -> dict:
    """The ssl task: its tiny experiment lives in test_ssl_task.py."""
    from test_ssl_task import CONTRACT_CONFIGS

    return dict(CONTRACT_CONFIGS)


def _cover_contracts() -> dict:
    """The cover task: its tiny experiment lives in test_cover_task.py."""
    from test_cover_task import CONTRACT_CONFIGS

    return dict(CONTRACT_CONFIGS)


def _separation_contracts() -> dict:
    """The separation task: its tiny experiment lives in test_separation_task.py."""
    from test_separation_task import CONTRACT_CONFIGS

    return dict(CONTRACT_CONFIGS)


#: task name -> ``(tmp_path, request) -> config path``, a tiny experiment of it (a new task adds its own)
CONTRACT = {
    "multipitch": _multipitch_config,
    "toy_family": _toy_config,
    **_tagging_contracts(),
    **_codec_contracts(),
    **_generation_contracts(),
    **_ssl_contracts(),
    **_cover_contracts(),
    **_separation_contracts(),
}


def test_every_registered_task_is_in_the_contract():
    missing = sorted(set(TASKS.names()) - set(CONTRACT))
    assert not missing, f"tasks without a contract experiment in {__file__}: {missing}"


def _user_audio(path: Path, sr: int = 22050) -> Path:
    t = np.arange(int(1.5 * sr)) / sr
    x = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 330 * t)
    sf.write(path, np.stack([x, x], axis=1).astype(np.float32), sr)  # stereo, another rate: repaired
    return path


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_task_contract(name, tmp_path, toy_registered, capsys, request):
    config = CONTRACT[name](tmp_path, request)
    # train -> evaluate, through the command line a user types
    assert main(["train", str(config)]) == 0
    printed = capsys.readouterr().out
    run = tmp_path / "run"
    result = EvalResult.load(run / "metrics.json")
    assert result.task == name and "test" in result.sets and result.sets["test"]["items"] >= 1
    summary = TASKS.get(name).summary(result)
    assert "\n" not in summary and result.primary in summary and summary in printed
    # report: the metrics table of every set, and the figures it links exist
    report = (run / "report.md").read_text()
    assert "## Results" in report and result.primary in report
    for link in [line.split("](")[1].rstrip(")") for line in report.splitlines() if "](" in line]:
        assert (run / link).is_file(), link
    # predict on a user's file, through the command line
    audio = _user_audio(tmp_path / "song.wav")
    assert main(["predict", name, str(run), str(audio), "--out", str(tmp_path / "pred")]) == 0
    answer = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    written = [v for v in answer.values() if isinstance(v, str) and str(tmp_path / "pred") in v]
    assert written and all(Path(p).is_file() for p in written)
    # reload from the run folder -> the same metrics
    task, model = load_run(run)
    assert type(task) is TASKS.get(name)
    again = evaluate_run(run)
    assert again.sets == result.sets and again.primary == result.primary
    assert EvalResult.load(run / "metrics.json") == again


def test_toy_task_learns_through_the_contract(tmp_path, toy_registered):
    """The toy task beats chance: the frame trains a task it has never seen."""
    result = train(_toy_config(tmp_path), ["trainer.max_epochs=12"]).evaluation
    assert result is not None and result.score("test") > 1 / 3 + 0.2, result.sets
