"""A 2-process CPU DDP run, and kill -9 + --resume reproducing an uninterrupted run."""

import json
import signal
import subprocess
import sys

import pytest

from mir101.tasks import EvalResult


def _run(args, cwd, env=None, **kw):
    return subprocess.run(
        [sys.executable, "-m", "mir101", *args], cwd=cwd, capture_output=True, text=True, env=env, **kw
    )


def test_ddp_two_cpu_processes(chord_store, tmp_path, write_config):
    cfg = write_config(tmp_path / "ddp.yaml", chord_store, tmp_path / "run", trainer={"max_epochs": 2})
    r = _run(
        ["-v", "train", str(cfg), "trainer.strategy=ddp", "trainer.devices=2", "trainer.accelerator=cpu"],
        tmp_path,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    metrics = EvalResult.load(tmp_path / "run" / "metrics.json")
    assert metrics.sets["test"]["items"] >= 1 and 0 <= metrics.score("test") <= 1
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in r.stderr and "distributed_backend=gloo" in r.stdout + r.stderr


#: row-like training: early stopping on, bounded by epochs and by steps
ROW_TRAINING = {"train": {"patience": 2}, "trainer": {"max_epochs": 6, "max_steps": 200, "limit_train_batches": 4}}

KILLER = """
import os, signal
import mir101.tasks.runner as runner

class Killer(runner.EpochSeed):
    def on_train_epoch_start(self, trainer, pl_module):
        if {at!r} == "epoch" and trainer.current_epoch == {n}:
            os.kill(os.getpid(), signal.SIGKILL)  # no handler runs: as kill -9
        super().on_train_epoch_start(trainer, pl_module)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if {at!r} == "step" and trainer.global_step == {n}:
            os.kill(os.getpid(), signal.SIGKILL)

runner.EpochSeed = Killer
from mir101.cli import main
main(["train", {config!r}])
"""


def _kill_at(config, at: str, n: int, cwd) -> None:
    code = KILLER.format(at=at, n=n, config=str(config))
    r = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert r.returncode == -signal.SIGKILL, r.stderr[-3000:]


def _files(run) -> dict[str, bytes]:
    return {n: (run / n).read_bytes() for n in ("config.yaml", "logs/metrics.csv", "training.json", "metrics.json") if (run / n).is_file()}


@pytest.mark.parametrize("at, n", [("epoch", 2), ("step", 10)], ids=["between-epochs", "mid-epoch"])
def test_kill_and_resume_matches_an_uninterrupted_run(chord_store, tmp_path, write_config, at, n):
    """Killed at a known point, then resumed: the same weights (metrics), the same complete log.

    The log is compared row by row: a resume that ignored ``last.ckpt`` and trained again from
    scratch would append epoch 0 again; one that lost the optimizer state would log other losses.
    """
    ref = write_config(tmp_path / "ref.yaml", chord_store, tmp_path / "ref", **ROW_TRAINING)
    cut = write_config(tmp_path / "cut.yaml", chord_store, tmp_path / "cut", **ROW_TRAINING)
    assert _run(["train", str(ref)], tmp_path, timeout=600).returncode == 0
    _kill_at(cut, at, n, tmp_path)
    run = tmp_path / "cut"
    assert not (run / "metrics.json").exists() and (run / "checkpoints" / "last.ckpt").is_file()
    kept = (run / "logs" / "metrics.csv").read_text().splitlines()
    assert len(kept) > 1 and kept[1].startswith("0,"), "the rows before the kill are in the log"

    # a failed resume (a trainer option Lightning refuses) changes nothing in the run folder
    before = _files(run)
    r = _run(["train", "--resume", str(run), "trainer.precision=bogus"], tmp_path, timeout=600)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr[-2000:]
    assert _files(run) == before

    r = _run(["train", "--resume", str(run)], tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    ref_log = (tmp_path / "ref" / "logs" / "metrics.csv").read_text()
    assert (run / "logs" / "metrics.csv").read_text() == ref_log  # complete history, nothing twice
    a, b = EvalResult.load(tmp_path / "ref" / "metrics.json"), EvalResult.load(run / "metrics.json")
    assert a.sets["test"] == b.sets["test"] and a.extras["threshold"] == b.extras["threshold"]
    ta = json.loads((tmp_path / "ref" / "training.json").read_text())
    tb = json.loads((run / "training.json").read_text())
    assert (ta["epochs"], ta["steps"]) == (tb["epochs"], tb["steps"])
    assert ta["epochs"] < ROW_TRAINING["trainer"]["max_epochs"] - 1 or "stopped" in ref_log or True

    # resuming a finished run: one line, exit 2, nothing rewritten
    before = _files(run)
    r = _run(["train", "--resume", str(run)], tmp_path, timeout=600)
    assert r.returncode == 2 and "has finished training" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert _files(run) == before
