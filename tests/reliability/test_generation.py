"""Generation runs and commands given what they should not get: an unknown family, a pitch out of range,
a run of another task, a codec of the wrong kind, no codec at all.

Each case goes through the command line and gets exit status 2 and one line naming what is wrong.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
import yaml

from mir101.tasks import train


def _experiment():
    """The tiny generation experiment of tests/tasks/test_generation_task.py (one definition of it)."""
    path = Path(__file__).resolve().parents[1] / "tasks" / "test_generation_task.py"
    spec = importlib.util.spec_from_file_location("generation_task_experiment", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


experiment = _experiment()


@pytest.fixture(scope="module")
def flow_run(tmp_path_factory):
    """A tiny flow run (one epoch) on a tiny AE codec run."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        tmp = tmp_path_factory.mktemp("generation")
        train(experiment.flow_config(tmp), ["trainer.max_epochs=1"], evaluate=False)
    finally:
        torch.set_num_threads(threads)
    return tmp / "run"


def _codec_run(flow_run: Path) -> str:
    return yaml.safe_load((flow_run / "config.yaml").read_text())["task"]["codec_run"]


def test_unknown_family_and_pitch_out_of_range(flow_run, tmp_path, cli_error, cli_ok):
    msg = cli_error(["generate", flow_run, "--pitch", 60, "--family", "kazoo", "--out", tmp_path / "a"])
    assert "kazoo" in msg and "guitar" in msg  # the valid families are listed
    msg = cli_error(["generate", flow_run, "--pitch", 128, "--family", "guitar", "--out", tmp_path / "b"])
    assert "--pitch 128" in msg and "0..127" in msg
    assert "-n 0" in cli_error(
        ["generate", flow_run, "--pitch", 60, "--family", "guitar", "-n", 0, "--out", tmp_path / "c"]
    )
    assert "--steps 0" in cli_error(
        ["generate", flow_run, "--pitch", 60, "--family", "guitar", "--steps", 0, "--out", tmp_path / "d"]
    )
    out = cli_ok(
        [
            "generate",
            flow_run,
            "--pitch",
            60,
            "--family",
            "guitar",
            "-n",
            2,
            "--steps",
            2,
            "--out",
            tmp_path / "e",
        ]
    )
    assert len(list((tmp_path / "e").glob("*.wav"))) == 2 and "note-guitar-060-01" in out


def test_a_run_of_another_task(flow_run, tmp_path, cli_error):
    msg = cli_error(
        ["generate", _codec_run(flow_run), "--pitch", 60, "--family", "guitar", "--out", tmp_path / "a"]
    )
    assert "'codec' model, not a generator" in msg
    assert "not a run folder" in cli_error(
        ["generate", tmp_path, "--pitch", 60, "--family", "guitar", "--out", tmp_path / "b"]
    )


def test_codec_run_missing_foreign_or_of_the_wrong_kind(flow_run, tmp_path, cli_error):
    config = experiment.flow_config(tmp_path)
    assert "task.codec_run is missing" in cli_error(["train", config, "task.codec_run=null"])
    assert "not a run folder" in cli_error(["train", config, f"task.codec_run={tmp_path}"])
    msg = cli_error(["train", config, f"task.codec_run={flow_run}"])  # a generation run, not a codec
    assert "run of the 'generation' task, not of the codec task" in msg
    msg = cli_error(["train", config, "task.paradigm=autoregressive", "model={d_model: 16, n_heads: 2}"])
    assert "needs a codec with tokens" in msg and "AutoEncoderBottleneck" in msg
    assert "task.paradigm='gan'" in cli_error(["train", config, "task.paradigm=gan"])
    assert "in_channels" in cli_error(["train", config, "model.in_channels=3"])
    assert "unknown argument" in cli_error(["train", config, "model.chanels=[8]"])
