"""Kill -9 at a random step of a shipped row config (early stopping on), then --resume: the same
metrics and the same complete log as the uninterrupted run (issue 14's promise, on a real row)."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys

from test_multipitch import CONFIGS, _row_overrides

from mir101.tasks import EvalResult

KILLER = """
import os, signal, sys
import mir101.tasks.runner as runner

class Killer(runner.EpochSeed):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == {step}:
            os.kill(os.getpid(), signal.SIGKILL)  # as kill -9: no handler runs

runner.EpochSeed = Killer
from mir101.cli import main
sys.exit(main(["train", {config!r}, *{overrides!r}]))
"""


def _mir101(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mir101", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_kill_at_a_random_step_of_a_row_then_resume(chord_store, tmp_path):
    config = str(CONFIGS / "hcqt_conv2d.yaml")
    common = ["trainer.limit_train_batches=3", "trainer.max_epochs=3", "trainer.log_every_n_steps=1"]
    ref = [*_row_overrides(chord_store, tmp_path / "ref"), *common]
    cut = [*_row_overrides(chord_store, tmp_path / "cut"), *common]
    r = _mir101("train", config, *ref, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    step = random.Random(14).randrange(3, 9)  # somewhere in epochs 1-2, mid-epoch or not
    code = KILLER.format(step=step, config=config, overrides=cut)
    k = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert k.returncode == -signal.SIGKILL, k.stderr[-3000:]
    r = _mir101("train", "--resume", str(tmp_path / "cut"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = (EvalResult.load(tmp_path / d / "metrics.json") for d in ("ref", "cut"))
    assert a.sets == b.sets and a.extras["threshold"] == b.extras["threshold"], (step, a.sets, b.sets)
    logs = [(tmp_path / d / "logs" / "metrics.csv").read_text() for d in ("ref", "cut")]
    assert logs[0] == logs[1], f"killed at step {step}: the resumed log differs"
    steps = [json.loads((tmp_path / d / "training.json").read_text())["steps"] for d in ("ref", "cut")]
    assert steps[0] == steps[1] == 9
