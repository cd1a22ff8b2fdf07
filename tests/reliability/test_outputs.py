"""Output folders that cannot be written: a clean one-line error before any work, no traceback.

Root may write into a read-only folder, so the portable cases use places nobody can create
(under /proc, or under a regular file); the read-only folder case adds a simulated permission
error (the one the kernel gives other users), so it runs as root too.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path

import pytest
import soundfile as sf

from tinyrun import SR, tone, write_config

CHORALES = ["data", "chorales", "--chorales", "bwv286", "--tempo", "180,200", "--sr", "8000", "--quiet"]


@pytest.fixture
def read_only(monkeypatch):
    """``read_only(folder)``: chmod 0o500 the folder, and make every file this process opens for
    writing in it, and every folder it makes there, fail with EACCES, as they do for a user other
    than root (root writes anyway)."""
    folders: list[Path] = []
    real_os_open, real_io_open, real_mkdir = os.open, io.open, os.mkdir

    def check(path, writing: bool) -> None:
        if writing and isinstance(path, (str, bytes, os.PathLike)):
            where = Path(os.fsdecode(path)).absolute()
            if any(f in where.parents for f in folders):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(where))

    def os_open(path, flags, *args, **kwargs):
        check(path, bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)))
        return real_os_open(path, flags, *args, **kwargs)

    def io_open(file, mode="r", *args, **kwargs):
        check(file, any(c in mode for c in "wax+"))
        return real_io_open(file, mode, *args, **kwargs)

    def mkdir(path, *args, **kwargs):
        check(path, True)
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(io, "open", io_open)
    monkeypatch.setattr(builtins, "open", io_open)

    def make(folder: Path) -> Path:
        folder.chmod(0o500)
        folders.append(folder.absolute())
        return folder

    yield make
    for folder in folders:
        folder.chmod(0o700)


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


def test_predict_into_a_read_only_folder(trained_run, wav, tmp_path, cli_error, read_only):
    out = tmp_path / "ro"
    out.mkdir()
    read_only(out)
    msg = cli_error(["predict", "multipitch", trained_run, wav, "--out", out])
    assert msg.startswith(f"--out {out}: cannot write there (Permission denied)"), msg
    assert list(out.iterdir()) == []


# ----------------------------------------------------------------------------- writes stay where the user said
def _files(root):
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "name",
    ["../../x", "../x", "sub/x", "ABSOLUTE", "..", ".", "", " ", "x\\..\\y", ".hidden", "a\x00b"],
    ids=["../../x", "../x", "sub/x", "absolute", "..", ".", "empty", "blank", "backslashes", "hidden", "NUL"],
)
@pytest.mark.parametrize("corpus", ["chorales", "notes"])
def test_corpus_name_is_a_name_not_a_path(tmp_path, cli_error, name, corpus):
    out = tmp_path / "a" / "b" / "out"
    before = _files(tmp_path)
    argv = [*CHORALES] if corpus == "chorales" else ["data", "notes", "--n", "2", "--sr", "8000", "--quiet"]
    name = str(tmp_path / "escape") if name == "ABSOLUTE" else name
    msg = cli_error([*argv, "--out", out, "--name", name])
    assert msg.startswith(f"--name {name!r} must be a plain file name"), msg
    assert _files(tmp_path) == before


def test_corpus_name_needs_out(cli_error):
    assert "give --out DIR too" in cli_error([*CHORALES, "--name", "mine"])


def _edit_run_config(run, **data):
    import yaml

    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["data"].update(data)
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))


@pytest.mark.parametrize("command", ["evaluate", "resume", "predict"])
@pytest.mark.parametrize(
    "data",
    [
        {"store": None, "corpus": "chorales", "corpus_args": {"n": 1, "out": "{elsewhere}"}},
        {"store": None, "corpus": "notes", "corpus_args": {"n": 2, "out": "{elsewhere}", "name": "n"}},
        {"test_stores": {"other": {"corpus": "chorales", "corpus_args": {"n": 1, "out": "{elsewhere}"}}}},
    ],
    ids=["corpus out", "corpus out and name", "test store out"],
)
def test_a_run_folder_from_elsewhere_never_writes_outside_itself(
    run_copy, tmp_path, wav, cli_error, command, data
):
    """A config.yaml naming corpus_args.out (a run folder someone sent) is refused in one line;
    nothing is written at the place it names."""
    import yaml

    run = run_copy()
    elsewhere = tmp_path / "elsewhere"
    _edit_run_config(run, **yaml.safe_load(yaml.safe_dump(data).replace("'{elsewhere}'", str(elsewhere))))
    argv = {
        "evaluate": ["evaluate", run],
        "resume": ["train", "--resume", run, "trainer.max_epochs=9"],
        "predict": ["predict", "multipitch", run, wav],
    }[command]
    msg = cli_error(argv)
    assert msg.startswith(f"{run / 'config.yaml'}: data.") and ".corpus_args.out is not allowed" in msg, msg
    assert not elsewhere.exists()


def test_evaluate_and_resume_write_into_the_given_folder_whatever_run_dir_says(run_copy, tmp_path, cli_ok):
    """config.yaml's run_dir (where the run was first made) is never written: the folder given is."""
    run = run_copy()
    elsewhere = tmp_path / "first" / "place"
    text = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(
        "\n".join(
            f"run_dir: {elsewhere}" if line.startswith("run_dir:") else line for line in text.splitlines()
        )
    )
    cli_ok(["evaluate", run])
    cli_ok(["train", "--resume", run, "trainer.max_epochs=4", "trainer.limit_train_batches=1"])
    assert not (tmp_path / "first").exists()
    assert f"run_dir: {run}" in (run / "config.yaml").read_text()


def test_a_resumed_copy_reads_its_own_best_checkpoint(run_copy, trained_run, monkeypatch):
    """Lightning restores best_model_path from last.ckpt: a path in the folder the run was copied
    from. The copy reads its own best.ckpt, never that folder's."""
    from types import SimpleNamespace

    import mir101.tasks.runner as runner

    run = run_copy()
    plan = runner.prepare_run(resume=run, overrides=["trainer.max_epochs=9"])
    task = runner.make_task(plan.cfg)
    system = task.system(task.build_model())
    elsewhere = trained_run / "checkpoints" / "best.ckpt"
    trainer = SimpleNamespace(
        checkpoint_callback=SimpleNamespace(best_model_path=str(elsewhere)), current_epoch=3, global_step=9
    )
    read = []
    load = runner.load_checkpoint
    monkeypatch.setattr(
        runner, "load_checkpoint", lambda path, **kw: read.append(Path(path)) or load(path, **kw)
    )
    runner.finish_run(trainer, system, plan, 1.0)
    assert read == [run / "checkpoints" / "best.ckpt"]
