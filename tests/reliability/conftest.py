"""Fixtures of the reliability suite: one tiny trained run, copies of it, CLI helpers.

Every case feeds mir101 something a user could give it (a bad file, a typo, a foreign checkpoint,
an unwritable folder) and checks that it gets either a clean repair (logged) or one readable
error naming the culprit: a ``mir101.errors`` exception from the library, or from the CLI exit
status 2 and exactly one ``error: ...`` line, no traceback.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mir101.cli import main
from tinyrun import make_store, write_config


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory) -> Path:
    return make_store(tmp_path_factory.mktemp("reliability-store") / "chords")


@pytest.fixture(scope="session")
def trained_run(tiny_store, tmp_path_factory) -> Path:
    """One tiny multipitch run (a few seconds on CPU), shared by every case that needs a model.
    Cases that damage a run work on a copy (``run_copy``)."""
    from mir101.tasks.runner import train

    root = tmp_path_factory.mktemp("reliability-run")
    return train(write_config(root / "exp.yaml", tiny_store, root / "run")).run_dir


@pytest.fixture
def run_copy(trained_run, tmp_path):
    """``run_copy()``: a fresh copy of the trained run folder, free to damage."""

    def copy() -> Path:
        dst = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
        shutil.copytree(trained_run, dst)
        return dst

    return copy


def _expect_error(capsys, argv: list[str]) -> str:
    capsys.readouterr()
    status = main(argv)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert status == 2, (status, err[-2000:])
    assert len(errors) == 1, err[-2000:]
    assert "Traceback" not in err
    return errors[0][len("error: ") :]


def _expect_ok(capsys, argv: list[str]) -> str:
    capsys.readouterr()
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 0, err[-2000:]
    return out


@pytest.fixture
def cli_error(capsys):
    """``cli_error(argv)``: run ``mir101 argv`` in-process, assert exit status 2 and exactly one
    ``error:`` line on stderr, no traceback; return the message after ``error: ``."""
    return lambda argv: _expect_error(capsys, [str(a) for a in argv])


@pytest.fixture
def cli_ok(capsys):
    """``cli_ok(argv)``: run ``mir101 argv`` in-process, assert exit status 0; return stdout."""
    return lambda argv: _expect_ok(capsys, [str(a) for a in argv])


#: seconds a case of this suite may run (the slowest take ~30 s on a loaded 2-core machine): past
#: it, pytest-timeout fails the case instead of letting a hang stall the suite
CASE_TIMEOUT = 300
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Every case of tests/reliability runs under a timeout (its own ``@pytest.mark.timeout`` or
    :data:`CASE_TIMEOUT`): the crash-free guarantee covers hangs too."""
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(HERE) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(CASE_TIMEOUT))
