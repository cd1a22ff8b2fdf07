"""Two commands on one run folder, and Ctrl-C.

A training (or an evaluation) holds ``RUN/run.lock`` (its pid, host, start and command): a second
command on that folder fails in one line naming the first, a lock left by a process that is gone
is taken over. Ctrl-C during training exits 130 with ``interrupted; resume with mir101 train
--resume RUN`` (Lightning alone exits 1, silently, and ignores Ctrl-C from then on).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mir101.tasks.runfolder import LOCK_NAME, run_lock
from tinyrun import write_config


@pytest.fixture
def live_pid():
    """The pid of a process that runs during the test (then is stopped)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _lock(run: Path, pid: int, host: str | None = None, command: str = "mir101 train exp.yaml") -> Path:
    run.mkdir(parents=True, exist_ok=True)
    owner = {"pid": pid, "host": host or socket.gethostname(), "started": time.time(), "command": command}
    (run / LOCK_NAME).write_text(json.dumps(owner))
    return run / LOCK_NAME


def _files(run: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}


@pytest.mark.parametrize("command", ["train", "resume", "evaluate"])
def test_a_folder_in_use_is_refused_naming_the_first_run(
    run_copy, tiny_store, tmp_path, cli_error, live_pid, command
):
    run = run_copy()
    lock = _lock(run, live_pid)
    before = _files(run)
    argv = {
        "train": ["train", write_config(tmp_path / "exp.yaml", tiny_store, run)],
        "resume": ["train", "--resume", run, "trainer.max_epochs=9"],
        "evaluate": ["evaluate", run],
    }[command]
    msg = cli_error(argv)
    assert msg.startswith(f"{run} is in use by another mir101 run (pid {live_pid}, started "), msg
    assert "mir101 train exp.yaml" in msg and f"delete {lock}" in msg, msg
    assert _files(run) == before  # the other run's lock and files untouched


def test_a_lock_from_another_machine_is_respected(run_copy, cli_error):
    run = run_copy()
    _lock(run, 1, host="elsewhere.example.org")
    assert "(pid 1 on elsewhere.example.org, started" in cli_error(["evaluate", run])


def test_a_stale_lock_is_taken_over(run_copy, cli_ok, caplog):
    """The lock of a killed run (its pid is gone): the next command goes ahead."""
    run = run_copy()
    pid = _dead_pid()
    _lock(run, pid)
    with caplog.at_level(logging.DEBUG, logger="mir101.tasks.runfolder"):
        cli_ok(["-vv", "evaluate", run])  # said with -vv: after a kill, taking over is the normal case
    assert f"{run}: taking over the stale lock of pid {pid} (no longer running)" in caplog.text
    assert not (run / LOCK_NAME).exists() and (run / "metrics.json").is_file()


@pytest.mark.parametrize(
    "content",
    [b"\x00\xff garbage", b"", b"[1, 2]", b'{"pid": "x"}', b'{"host": "h"}'],
    ids=["binary", "empty", "a list", "pid not a number", "no pid"],
)
def test_an_unreadable_lock_is_taken_over(tmp_path, caplog, content):
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_NAME).write_bytes(content)
    with caplog.at_level(logging.DEBUG, logger="mir101.tasks.runfolder"), run_lock(run):
        assert json.loads((run / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert f"{run}: taking over the stale lock (unreadable)" in caplog.text
    assert not (run / LOCK_NAME).exists()


def test_the_lock_nests_in_one_process_and_goes_away(tmp_path):
    run = tmp_path / "new" / "run"
    with run_lock(run):
        owner = json.loads((run / LOCK_NAME).read_text())
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
        with run_lock(run):  # train() then evaluate_run() in one process
            assert (run / LOCK_NAME).is_file()
        assert (run / LOCK_NAME).is_file()
    assert not run.exists()  # created for the command, left empty: removed


def test_a_run_that_fails_early_leaves_no_folder(tiny_store, tmp_path, cli_error):
    cfg = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "run", model={"layers": ["relu6x"]})
    assert "unknown layer 'relu6x'" in cli_error(["train", cfg])
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- Ctrl-C
def _interrupt_at_step(monkeypatch, step: int) -> None:
    from mir101.paradigms.base import System

    real = System.training_step

    def training_step(self, batch, batch_idx):
        if self.global_step >= step:
            raise KeyboardInterrupt
        return real(self, batch, batch_idx)

    monkeypatch.setattr(System, "training_step", training_step)


@pytest.mark.parametrize("step", [0, 3])
def test_ctrl_c_during_training_names_the_run_folder(tiny_store, tmp_path, capsys, monkeypatch, step):
    from mir101.cli import main

    _interrupt_at_step(monkeypatch, step)
    cfg = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "run", trainer={"max_epochs": 50})
    capsys.readouterr()
    try:
        assert main(["train", str(cfg)]) == 130
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C works again
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    err = capsys.readouterr().err
    assert (
        err.strip().splitlines()[-1] == f"interrupted; resume with mir101 train --resume {tmp_path / 'run'}"
    ), err
    assert "Traceback" not in err and not (tmp_path / "run" / LOCK_NAME).exists()
    from mir101.tasks.runner import prepare_run

    assert prepare_run(resume=tmp_path / "run").run_dir == tmp_path / "run"  # the advice works


def test_ctrl_c_during_the_evaluation_says_evaluate(tiny_store, tmp_path, capsys, monkeypatch):
    from mir101.cli import main
    from mir101.tasks.multipitch import MultiPitch

    def evaluate(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(MultiPitch, "evaluate", evaluate)
    cfg = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "run", trainer={"max_epochs": 1})
    capsys.readouterr()
    assert main(["train", str(cfg)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"interrupted; the run is trained; evaluate it with mir101 evaluate {tmp_path / 'run'}"


@pytest.mark.timeout(300)
def test_two_real_runs_and_a_real_ctrl_c(tiny_store, tmp_path, cli_error):
    """A training in another process: a second one into its folder is refused naming it; SIGINT
    stops it with exit 130 and the resume advice; its lock is gone."""
    run = tmp_path / "run"
    cfg = write_config(tmp_path / "exp.yaml", tiny_store, run, trainer={"max_epochs": 500})
    child = subprocess.Popen(
        [sys.executable, "-m", "mir101", "train", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while not ((run / LOCK_NAME).is_file() and (run / "config.yaml").is_file()):
            assert child.poll() is None, child.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the training never started"
            time.sleep(0.2)
        msg = cli_error(["train", cfg])
        assert msg.startswith(f"{run} is in use by another mir101 run (pid {child.pid}, started"), msg
        assert f"mir101 train {cfg}" in msg
        time.sleep(1.0)
        child.send_signal(signal.SIGINT)
        _out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 130, err[-2000:]
    assert err.strip().splitlines()[-1] == f"interrupted; resume with mir101 train --resume {run}", err[
        -2000:
    ]
    assert "Traceback" not in err and not (run / LOCK_NAME).exists()
