"""Output folders that cannot be written: a clean one-line error before any work, no traceback.

Root may write into a read-only folder, so the portable cases use places nobody can create
(under /proc, or under a regular file); the read-only folder case runs for other users.
"""

from __future__ import annotations

import os
import sys

import pytest
import soundfile as sf

from tinyrun import SR, tone, write_config

CHORALES = ["data", "chorales", "--chorales", "bwv286", "--tempo", "180,200", "--sr", "8000", "--quiet"]
NOT_ROOT = pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="root writes into read-only folders"
)


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, tone(60, 0.5), SR)
    return path


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a_file"
    path.write_text("not a folder")
    return path


def test_predict_out_under_proc(trained_run, wav, cli_error):
    msg = cli_error(["predict", "multipitch", trained_run, wav, "--out", "/proc/mir101-out"])
    assert msg.startswith("--out /proc/mir101-out: cannot write there"), msg


def test_predict_out_is_a_file(trained_run, wav, a_file, cli_error):
    msg = cli_error(["predict", "multipitch", trained_run, wav, "--out", a_file])
    assert msg == f"--out {a_file}: is a file, not a folder; give a folder to write into"


def test_predict_out_under_a_file(trained_run, wav, a_file, cli_error):
    msg = cli_error(["predict", "multipitch", trained_run, wav, "--out", a_file / "sub"])
    assert msg.startswith(f"--out {a_file / 'sub'}: cannot write there (Not a directory)"), msg


def test_corpus_out_under_proc(cli_error):
    assert cli_error([*CHORALES, "--out", "/proc/mir101-corpus"]).startswith(
        "--out /proc/mir101-corpus: cannot write"
    )


def test_corpus_out_under_a_file(a_file, cli_error):
    assert cli_error([*CHORALES, "--out", a_file / "c"]).startswith(
        f"--out {a_file / 'c'}: cannot write there"
    )


def test_run_dir_that_cannot_be_created(tiny_store, tmp_path, a_file, cli_error):
    cfg = write_config(tmp_path / "exp.yaml", tiny_store, a_file / "run")
    msg = cli_error(["train", cfg])
    assert msg.startswith(f"run_dir='{a_file / 'run'}': cannot create the run folder (Not a directory)"), msg


def test_any_other_os_error_is_one_line_too(tiny_store, tmp_path, cli_error, monkeypatch):
    """The last net: an OSError no command foresaw (here a full disk while writing the split)
    still prints one line naming the path; --debug would show the traceback."""
    import errno

    import mir101.data.splits

    def full_disk(split, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(mir101.data.splits, "save_split", full_disk)
    monkeypatch.setattr("mir101.tasks.runner.save_split", full_disk)
    cfg = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "run")
    assert cli_error(["train", cfg]) == f"{tmp_path / 'run' / 'split.json'}: No space left on device"


@NOT_ROOT
def test_predict_into_a_read_only_folder(trained_run, wav, tmp_path, cli_error):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    try:
        assert cli_error(["predict", "multipitch", trained_run, wav, "--out", out]).startswith(
            f"--out {out}: cannot write"
        )
    finally:
        out.chmod(0o700)
