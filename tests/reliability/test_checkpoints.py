"""Run folders and checkpoints that are not what they should be: missing, corrupt, truncated,
from another config. Each gives one line naming the file; nothing is loaded half-way.

(Checkpoints holding pickled code are in test_safety.py.)
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from mir101.errors import CheckpointError
from mir101.tasks.runner import load_checkpoint, load_run
from tinyrun import SR, tone


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt-audio") / "fifth.wav"
    sf.write(path, tone(60, 1.0) + tone(67, 1.0), SR)
    return path


def _predict(run, wav, tmp_path):
    return ["predict", "multipitch", run, wav, "--out", tmp_path / "out"]


def _edit_config(run, old: str, new: str) -> None:
    text = (run / "config.yaml").read_text()
    assert old in text
    (run / "config.yaml").write_text(text.replace(old, new))


def test_weights_from_another_config_do_not_fit(run_copy, wav, tmp_path, cli_error):
    run = run_copy()
    _edit_config(run, "out_channels: 8", "out_channels: 6")
    msg = cli_error(_predict(run, wav, tmp_path))
    assert msg.startswith(
        f"{run / 'model.pt'}: the weights do not fit the model built from {run / 'config.yaml'}"
    )
    assert "size mismatch for net.1.weight" in msg, msg


def test_weights_that_fit_another_input_are_refused(run_copy, wav, tmp_path, cli_error):
    """A fully convolutional net loads into any number of bins: the input section must match too."""
    run = run_copy()
    _edit_config(run, "n_octaves: 4", "n_octaves: 3")
    msg = cli_error(_predict(run, wav, tmp_path))
    assert f"{run / 'model.pt'} was trained with another input" in msg and "input.n_octaves" in msg, msg


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda p: p.write_bytes(os.urandom(4096)), "not a PyTorch file (4096 bytes"),
        (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "corrupt or truncated"),
        (lambda p: p.write_bytes(b""), "not a PyTorch file (0 bytes"),
    ],
    ids=["random bytes", "truncated", "empty"],
)
def test_damaged_model_pt(run_copy, wav, tmp_path, cli_error, damage, expected):
    run = run_copy()
    damage(run / "model.pt")
    msg = cli_error(_predict(run, wav, tmp_path))
    assert msg.startswith(f"{run / 'model.pt'}: cannot load the checkpoint") and expected in msg, msg


def test_a_model_pt_that_is_not_a_mir101_model(run_copy, tmp_path):
    import torch

    run = run_copy()
    torch.save({"weights": torch.zeros(3)}, run / "model.pt")
    with pytest.raises(CheckpointError, match=r"model\.pt: not a mir101 model file \(no 'state_dict'\)"):
        load_run(run)


def test_missing_run_folder(tmp_path, wav, cli_error):
    for argv in (_predict(tmp_path / "nope", wav, tmp_path), ["evaluate", tmp_path / "nope"]):
        assert cli_error(argv) == f"{tmp_path / 'nope'} is not a run folder (no config.yaml)"


def test_run_folder_without_model_pt(run_copy, wav, tmp_path, cli_error):
    run = run_copy()
    (run / "model.pt").unlink()
    assert cli_error(_predict(run, wav, tmp_path)).startswith(f"{run} has no model.pt")


def test_resume_a_folder_that_is_not_a_run(tmp_path, cli_error):
    (tmp_path / "notes.txt").write_text("hello")
    assert cli_error(["train", "--resume", tmp_path]) == f"{tmp_path} is not a run folder (no config.yaml)"


def test_resume_from_a_corrupt_last_checkpoint(run_copy, cli_error):
    run = run_copy()
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])
    msg = cli_error(["train", "--resume", run])
    assert msg.startswith(f"{last}: cannot load the checkpoint") and "truncated" in msg, msg


def test_predict_with_another_task_name(trained_run, wav, tmp_path, cli_error):
    msg = cli_error(["predict", "tagging", trained_run, wav])
    assert msg == f"{trained_run} holds a 'multipitch' model, not 'tagging'"


def test_load_checkpoint_of_a_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"missing\.pt: cannot load the checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_a_run_still_loads_after_all_this(trained_run):
    """The shared run was only ever copied: it still loads and predicts."""
    task, model = load_run(trained_run)
    out = task.transcribe(model, np.zeros(SR, np.float32))
    assert out["salience"].shape == (48, 1 + SR // 512)
