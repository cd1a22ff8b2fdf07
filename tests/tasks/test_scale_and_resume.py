"""A 2-process CPU DDP run, and kill -9 + --resume reproducing an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time

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


def test_kill_and_resume_matches_an_uninterrupted_run(chord_store, tmp_path, write_config):
    sections = {"trainer": {"max_epochs": 5}, "data": {"patch_hop_frames": 4}}
    ref = write_config(tmp_path / "ref.yaml", chord_store, tmp_path / "ref", **sections)
    cut = write_config(tmp_path / "cut.yaml", chord_store, tmp_path / "cut", **sections)
    assert _run(["train", str(ref)], tmp_path, timeout=600).returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "mir101", "train", str(cut)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    csv = tmp_path / "cut" / "logs" / "metrics.csv"
    deadline = time.time() + 300
    # wait until two epochs are logged, then kill while the third runs
    while time.time() < deadline and proc.poll() is None:
        if (
            csv.is_file()
            and sum(
                1
                for line in csv.read_text().splitlines()
                if line and "val/loss" not in line and line.split(",")[0] != ""
            )
            >= 2
        ):
            break
        time.sleep(0.2)
    time.sleep(0.5)
    if proc.poll() is not None:
        pytest.fail("training ended before it could be killed: make the epochs longer")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "cut" / "metrics.json").exists()
    assert (tmp_path / "cut" / "checkpoints" / "last.ckpt").is_file()
    r = _run(["train", "--resume", str(tmp_path / "cut")], tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    a = EvalResult.load(tmp_path / "ref" / "metrics.json")
    b = EvalResult.load(tmp_path / "cut" / "metrics.json")
    assert (
        json.loads((tmp_path / "ref" / "training.json").read_text())["epochs"]
        == json.loads((tmp_path / "cut" / "training.json").read_text())["epochs"]
    )
    assert a.sets["test"] == b.sets["test"] and a.extras["threshold"] == b.extras["threshold"]
