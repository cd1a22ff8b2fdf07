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


# ----------------------------------------------------------------------------- every file of a run folder
def _json_edit(**changes):
    def damage(p):
        import json

        p.write_text(json.dumps({**json.loads(p.read_text()), **changes}))

    return damage


def _extras(**extras):
    def damage(p):
        import json

        data = json.loads(p.read_text())
        p.write_text(json.dumps({**data, "extras": {**data["extras"], **extras}}))

    return damage


def _write(data):
    def damage(p):
        p.write_bytes(data if isinstance(data, bytes) else data.encode())

    return damage


def _ckpt(edit):
    def damage(p):
        import torch

        torch.save(edit(torch.load(p, weights_only=True)), p)

    return damage


def _other_weights(ckpt):
    import torch

    return {**ckpt, "state_dict": {k: torch.zeros(2, *v.shape) for k, v in ckpt["state_dict"].items()}}


BINARY = bytes(range(256)) * 4
#: (case, file in the run folder, damage, commands, what the one error line says after the path)
RUN_FILES = [
    (
        "metrics.json truncated",
        "metrics.json",
        lambda p: p.write_bytes(p.read_bytes()[:40]),
        "p",
        "not valid JSON",
    ),
    ("metrics.json a list", "metrics.json", _write("[1, 2]"), "p", "not a mir101 evaluation"),
    ("metrics.json binary", "metrics.json", _write(BINARY), "p", "not valid JSON"),
    (
        "metrics.json sets of strings",
        "metrics.json",
        _json_edit(sets={"test": {"Accuracy": "0.9"}}),
        "p",
        "not a number",
    ),
    (
        "threshold a string",
        "metrics.json",
        _extras(threshold="high"),
        "p",
        "extras.threshold = 'high' is not a threshold",
    ),
    (
        "threshold null",
        "metrics.json",
        _extras(threshold=None),
        "p",
        "extras.threshold = None is not a threshold",
    ),
    (
        "threshold 7",
        "metrics.json",
        _extras(threshold=7),
        "p",
        "extras.threshold = 7 is not a threshold in [0, 1]",
    ),
    (
        "metrics.json of another task",
        "metrics.json",
        _json_edit(task="tagging"),
        "p",
        "an evaluation of a 'tagging' run",
    ),
    (
        "training.json binary",
        "training.json",
        _write(BINARY),
        "er",
        "cannot read the training summary: not UTF-8",
    ),
    ("training.json a list", "training.json", _write("[3]"), "er", "not a training summary"),
    (
        "train_seconds a list",
        "training.json",
        _write('{"train_seconds": [1]}'),
        "er",
        "'train_seconds' = [1] is not",
    ),
    (
        "steps negative",
        "training.json",
        _write('{"steps": -4}'),
        "er",
        "'steps' = -4 is not a number of steps",
    ),
    ("config.yaml binary", "config.yaml", _write(BINARY), "per", "not a YAML text file"),
    ("config.yaml cut", "config.yaml", lambda p: p.write_bytes(p.read_bytes()[:200]), "per", ": "),
    (  # cut at a line end: still valid YAML, but sections are missing
        "config.yaml cut at a line",
        "config.yaml",
        lambda p: p.write_text("\n".join(p.read_text().splitlines()[:4]) + "\n"),
        "per",
        "not a complete run config (no data, input, model",
    ),
    ("config.yaml a list", "config.yaml", _write("- task\n"), "per", "the top level must be a mapping"),
    ("split.json binary", "split.json", _write(BINARY), "er", "cannot read the split: not UTF-8 text"),
    ("split.json a list", "split.json", _write("[1]"), "er", "not a split"),
    (
        "split.json of numbers",
        "split.json",
        _write('{"train": [1], "valid": [2], "test": [3]}'),
        "er",
        "must be a list of item keys",
    ),
    (
        "split.json of another store",
        "split.json",
        _write('{"train": ["zz"], "valid": [], "test": []}'),
        "er",
        "names item(s) ['zz'] that the store",
    ),
    (
        "state_dict a list",
        "model.pt",
        lambda p: __import__("torch").save({"state_dict": [1]}, p),
        "pe",
        "'state_dict' is not a mapping of tensors",
    ),
    (
        "state_dict of strings",
        "model.pt",
        lambda p: __import__("torch").save({"state_dict": {"a": "b"}}, p),
        "pe",
        "'state_dict' is not a mapping",
    ),
    (
        "last.ckpt of another model",
        "checkpoints/last.ckpt",
        _ckpt(_other_weights),
        "r",
        "the checkpoint holds another model than the one",
    ),
    (
        "last.ckpt without optimizer",
        "checkpoints/last.ckpt",
        _ckpt(lambda c: {k: v for k, v in c.items() if k != "optimizer_states"}),
        "r",
        "(no 'optimizer_states')",
    ),
    (
        "last.ckpt epoch a string",
        "checkpoints/last.ckpt",
        _ckpt(lambda c: {**c, "epoch": "x"}),
        "r",
        "('epoch' = 'x')",
    ),
    (
        "last.ckpt without weights",
        "checkpoints/last.ckpt",
        _ckpt(lambda c: {"epoch": 1, "global_step": 3}),
        "r",
        "(no 'state_dict')",
    ),
    (
        "metrics.csv binary",
        "logs/metrics.csv",
        _write(BINARY),
        "er",
        "cannot read the CSV log of the training",
    ),
    (
        "metrics.csv not numbers",
        "logs/metrics.csv",
        lambda p: p.write_text(p.read_text().replace("0.", "x.")),
        "er",
        "is not a number; the CSV log",
    ),
]
COMMANDS = {"p": "predict", "e": "evaluate", "r": "resume"}


@pytest.mark.parametrize(
    ("name", "damage", "command", "expected"),
    [(c[1], c[2], COMMANDS[k], c[4]) for c in RUN_FILES for k in c[3]],
    ids=[f"{c[0]}-{COMMANDS[k]}" for c in RUN_FILES for k in c[3]],
)
def test_a_damaged_run_file_is_one_line(run_copy, wav, tmp_path, cli_error, name, damage, command, expected):
    """Every file of a run folder that predict, evaluate or --resume reads is read guarded: one
    line naming it, before any work (a resumed run trains no step)."""
    run = run_copy()
    damage(run / name)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    argv = {
        "predict": _predict(run, wav, tmp_path),
        "evaluate": ["evaluate", run],
        "resume": ["train", "--resume", run, "trainer.max_epochs=9"],
    }[command]
    msg = cli_error(argv)
    assert msg.startswith(str(run / name)) and expected in msg, msg
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before  # nothing rewritten
