"""A 2-process CPU DDP run, and kill -9 + --resume reproducing an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mir101.tasks import EvalResult
from tinyrun import TINY_MODEL


def _run(args, cwd, env=None, **kw):
    return subprocess.run(
        [sys.executable, "-m", "mir101", *args], cwd=cwd, capture_output=True, text=True, env=env, **kw
    )


#: runs ``mir101 train`` (Lightning relaunches this file for rank 1) and logs every order the
#: training sampler hands out: one JSON line per epoch and rank, in ``$SAMPLER_LOG.<rank>``
SAMPLER_PROBE = """
import json, os, sys
from mir101.data import samplers

_iter = samplers.EpochSeededSampler.__iter__

def _logged(self):
    order = list(_iter(self))
    if self.shuffle:  # the training loader (validation is not shuffled)
        with open(f"{os.environ['SAMPLER_LOG']}.{self.rank}", "a") as f:
            f.write(json.dumps({"world": self.world_size, "epoch": self.epoch, "items": order}) + "\\n")
    return iter(order)

samplers.EpochSeededSampler.__iter__ = _logged
from mir101.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _epochs(log: Path) -> dict[int, list[int]]:
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    return {r["epoch"]: r["items"] for r in rows}


def test_ddp_two_cpu_processes(chord_store, tmp_path, write_config):
    """2 processes x 8 items per step train the model 1 process x 16 items per step trains.

    Same config and seed; each process takes half of the per-step batch, so every optimizer step
    averages the gradient of the same 16 patches. Checked: each epoch the two ranks' shares are
    disjoint and together are the 1-process epoch, item for item and step for step (no item
    dropped, none seen twice); then both runs end with the same weights and scores. No batch norm
    here: under DDP its batch statistics are per process (SyncBatchNorm needs a GPU), the one
    difference a larger tolerance would have to absorb.
    """
    probe = tmp_path / "probe.py"
    probe.write_text(SAMPLER_PROBE)
    layers = [  # the task tests' model without its batch norm
        *TINY_MODEL[1:3],
        {"conv2d": {"out_channels": 8, "kernel_size": [13, 3], "padding": "same"}},
        "relu",
        {"conv2d": {"out_channels": 1, "kernel_size": [1, 1]}},
    ]
    runs = {}
    for name, world, batch in (("one", 1, 16), ("ddp", 2, 8)):
        cfg = write_config(
            tmp_path / f"{name}.yaml",
            chord_store,
            tmp_path / name,
            model={"layers": layers},
            data={"batch_size": batch},
            trainer={"max_epochs": 2, "devices": world, **({"strategy": "ddp"} if world > 1 else {})},
        )
        env = {**os.environ, "SAMPLER_LOG": str(tmp_path / f"{name}.log")}
        r = subprocess.run(
            [sys.executable, str(probe), "-v", "train", str(cfg)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert r.returncode == 0, r.stderr[-3000:]
        runs[name] = r
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in runs["ddp"].stderr
    assert "distributed_backend=gloo" in runs["ddp"].stdout + runs["ddp"].stderr

    # the data: every epoch, the two shares partition the 1-process epoch, step for step
    single = _epochs(tmp_path / "one.log.0")
    shares = [_epochs(tmp_path / f"ddp.log.{rank}") for rank in (0, 1)]
    assert sorted(single) == sorted(shares[0]) == sorted(shares[1]) == [0, 1]
    for epoch, order in single.items():
        a, b = shares[0][epoch], shares[1][epoch]
        assert len(order) % 2 == 0, "an even epoch: no padding item repeated across ranks"
        assert len(a) == len(b) == len(order) // 2, (
            f"epoch {epoch}: {len(a)} + {len(b)} items, not {len(order)}"
        )
        assert sorted(a + b) == sorted(order), f"epoch {epoch}: items dropped or seen twice"
        assert [i for pair in zip(a, b) for i in pair] == order, f"epoch {epoch}: not the 1-process order"
    t1, t2 = (json.loads((tmp_path / n / "training.json").read_text()) for n in ("one", "ddp"))
    assert (t1["epochs"], t1["steps"]) == (t2["epochs"], t2["steps"])

    # the training: the same weights up to the order of float sums (observed <= 5e-8; a rank
    # stepping on its own gradient, or on other items, moves them by ~lr = 1e-2 per step)
    (w1, w2) = (
        torch.load(tmp_path / n / "model.pt", weights_only=True)["state_dict"] for n in ("one", "ddp")
    )
    assert w1.keys() == w2.keys()
    for k in w1:
        assert torch.allclose(w1[k], w2[k], rtol=0, atol=1e-5), (
            f"{k}: {(w1[k] - w2[k]).abs().max():.2g} apart"
        )
    log1, log2 = (_csv(tmp_path / n / "logs" / "metrics.csv") for n in ("one", "ddp"))
    assert [r["train/loss"] for r in log1] == pytest.approx([r["train/loss"] for r in log2], rel=1e-5)
    assert [r["val/loss"] for r in log1] == pytest.approx([r["val/loss"] for r in log2], rel=1e-5)
    assert log1[-1]["train/loss"] < log1[0]["train/loss"], "the runs trained (the weights moved)"
    # the scores are thresholded saliences: weights 1e-5 apart may flip a bin at the threshold,
    # and one bin of the ~800 active test bins moves Accuracy by ~1e-3
    m1, m2 = (EvalResult.load(tmp_path / n / "metrics.json") for n in ("one", "ddp"))
    assert (
        m1.extras["threshold"] == m2.extras["threshold"]
        and m1.sets["test"]["items"] == m2.sets["test"]["items"]
    )
    for key in ("Accuracy", "Precision", "Recall"):
        assert m1.sets["test"][key] == pytest.approx(m2.sets["test"][key], abs=2e-3), key


def _csv(path: Path) -> list[dict[str, float]]:
    """The per-epoch rows of a run's metrics.csv, training and validation rows merged."""
    import csv

    rows: dict[int, dict[str, float]] = {}
    for row in csv.DictReader(path.read_text().splitlines()):
        rows.setdefault(int(row["epoch"]), {}).update({k: float(v) for k, v in row.items() if v})
    return [rows[e] for e in sorted(rows)]


#: row-like training: early stopping on, bounded by epochs and by steps
ROW_TRAINING = {
    "train": {"patience": 2},
    "trainer": {"max_epochs": 6, "max_steps": 200, "limit_train_batches": 4},
}

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
    return {
        n: (run / n).read_bytes()
        for n in ("config.yaml", "logs/metrics.csv", "training.json", "metrics.json")
        if (run / n).is_file()
    }


@pytest.fixture(scope="module")
def reference_run(chord_store, tmp_path_factory, write_config) -> Path:
    """The uninterrupted run both kill-and-resume cases are compared with (trained once)."""
    tmp = tmp_path_factory.mktemp("reference")
    ref = write_config(tmp / "ref.yaml", chord_store, tmp / "ref", **ROW_TRAINING)
    r = _run(["train", str(ref)], tmp, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return tmp / "ref"


@pytest.mark.parametrize("at, n", [("epoch", 2), ("step", 10)], ids=["between-epochs", "mid-epoch"])
def test_kill_and_resume_matches_an_uninterrupted_run(
    chord_store, tmp_path, write_config, reference_run, at, n
):
    """Killed at a known point, then resumed: the same weights (metrics), the same complete log.

    The log is compared row by row: a resume that ignored ``last.ckpt`` and trained again from
    scratch would append epoch 0 again; one that lost the optimizer state would log other losses.
    A failed resume and the resume of a finished run are checked once (between epochs).
    """
    cut = write_config(tmp_path / "cut.yaml", chord_store, tmp_path / "cut", **ROW_TRAINING)
    _kill_at(cut, at, n, tmp_path)
    run = tmp_path / "cut"
    assert not (run / "metrics.json").exists() and (run / "checkpoints" / "last.ckpt").is_file()
    kept = (run / "logs" / "metrics.csv").read_text().splitlines()
    assert len(kept) > 1 and kept[1].startswith("0,"), "the rows before the kill are in the log"

    if at == "epoch":  # a failed resume (a trainer option Lightning refuses) changes nothing
        before = _files(run)
        r = _run(["train", "--resume", str(run), "trainer.precision=bogus"], tmp_path, timeout=600)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr[-2000:]
        assert _files(run) == before

    r = _run(["train", "--resume", str(run)], tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    ref_log = (reference_run / "logs" / "metrics.csv").read_text()
    assert (run / "logs" / "metrics.csv").read_text() == ref_log  # complete history, nothing twice
    a, b = EvalResult.load(reference_run / "metrics.json"), EvalResult.load(run / "metrics.json")
    assert a.sets["test"] == b.sets["test"] and a.extras["threshold"] == b.extras["threshold"]
    ta = json.loads((reference_run / "training.json").read_text())
    tb = json.loads((run / "training.json").read_text())
    assert (ta["epochs"], ta["steps"]) == (tb["epochs"], tb["steps"])

    if at == "epoch":  # resuming a finished run: one line, exit 2, nothing rewritten
        before = _files(run)
        r = _run(["train", "--resume", str(run)], tmp_path, timeout=600)
        assert r.returncode == 2 and "has finished training" in r.stderr and r.stderr.count("\n") == 1, (
            r.stderr
        )
        assert _files(run) == before
