"""The files of a run folder, read guarded, and the lock a run holds on its folder.

Everything :mod:`mir101.tasks.runner` reads back from a run folder (``training.json``,
``split.json``, ``logs/metrics.csv``, ``metrics.json``, the weights of ``model.pt`` and of
``checkpoints/last.ckpt``) goes through a function here that names the file and what is wrong in
one :class:`~mir101.errors.CheckpointError`, before any work starts: a truncated, foreign or
hand-edited file never reaches a library as a traceback.

:func:`run_lock` keeps two commands (two trainings, a training and an evaluation) from writing
into one run folder at once: a lock file holding the owner's pid, host and command; a lock whose
process is gone is taken over.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import socket
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from mir101.data.splits import load_split
from mir101.errors import CheckpointError, ConfigError
from mir101.tasks.result import EvalResult

if TYPE_CHECKING:
    from mir101.tasks.base import Task

__all__ = [
    "LOCK_NAME",
    "run_lock",
    "make_run_dir",
    "read_json_file",
    "read_training_info",
    "check_csv_log",
    "read_split",
    "check_state_dict",
    "check_lightning_checkpoint",
    "check_weights_fit",
    "check_metrics_file",
]

log = logging.getLogger(__name__)

#: the lock file of a run folder
LOCK_NAME = "run.lock"
#: run folders this process holds (resolved path -> depth: train() then evaluate_run() nest)
_HELD: dict[Path, int] = {}


# ----------------------------------------------------------------------------- the lock
def make_run_dir(run_dir: Path) -> None:
    """Create the run folder, or say in one line why it cannot be."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            f"run_dir={str(run_dir)!r}: cannot create the run folder ({err.strerror or err}); "
            "give a writable place (run_dir=...)"
        ) from err


def _rank_zero() -> bool:
    """Whether this process is the one that owns the run folder (not a DDP worker rank)."""
    for var in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK"):
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) != 0:
            return False
    return True


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except OSError:
        return False
    try:  # a zombie (killed, not yet reaped) is gone
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True


def _read_lock(path: Path) -> dict[str, Any] | None:
    try:
        owner = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return owner if isinstance(owner, dict) and isinstance(owner.get("pid"), int) else None


def _stale(owner: dict[str, Any] | None) -> bool:
    """A lock nobody holds any more: unreadable, or its process on this host is gone."""
    if owner is None:
        return True
    if owner.get("host") not in (None, socket.gethostname()):
        return False  # another machine's process: cannot be checked, so it is not stale
    return not _alive(int(owner["pid"]))


def _acquire(lock: Path, mine: dict[str, Any]) -> None:
    text = json.dumps(mine)
    for _attempt in range(5):
        tmp = lock.with_name(f".{LOCK_NAME}.tmp-{uuid.uuid4().hex[:8]}")
        tmp.write_text(text, encoding="utf-8")
        try:
            os.link(tmp, lock)  # atomic: the lock appears with its content, or not at all
            return
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w", encoding="utf-8") as fid:
                    fid.write(text)
                return
        finally:
            tmp.unlink(missing_ok=True)
        owner = _read_lock(lock)
        if owner == {}:
            continue  # released meanwhile
        if not _stale(owner):
            assert owner is not None
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(owner.get("started", 0)))
            where = f" on {owner['host']}" if owner.get("host") not in (None, socket.gethostname()) else ""
            raise ConfigError(
                f"{lock.parent} is in use by another mir101 run (pid {owner['pid']}{where}, started {started}: "
                f"{owner.get('command', '?')}); wait for it to end or give another run folder (if no such "
                f"run exists any more, delete {lock})"
            )
        # a stale lock: move it aside (one taker wins the rename), check it is the one judged stale
        aside = lock.with_name(f".{LOCK_NAME}.stale-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(lock, aside)
        except FileNotFoundError:
            continue
        if _read_lock(aside) != owner:  # another taker replaced it in between: put it back
            with contextlib.suppress(OSError):
                os.link(aside, lock)
            aside.unlink(missing_ok=True)
            continue
        aside.unlink(missing_ok=True)
        what = f"of pid {owner['pid']} (no longer running)" if owner else "(unreadable)"
        log.debug("%s: taking over the stale lock %s", lock.parent, what)  # a killed run: expected
    raise ConfigError(f"{lock}: cannot take the lock of the run folder (it keeps changing hands)")


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold ``RUN/run.lock`` while a command writes into the run folder ``run_dir``.

    The folder is created if needed (and removed again if the command leaves it empty). A second
    command on the same folder fails at once, in one line naming the first (pid, start time,
    command); a lock left by a process that is gone (killed) is taken over (said with -vv). The
    lock is re-entrant within a process (``train`` then ``evaluate_run``) and taken by rank 0
    only under DDP.

    Raises:
        ConfigError: the folder is in use, or cannot be created.
    """
    run_dir = Path(run_dir)
    if not _rank_zero():
        yield run_dir
        return
    created = not run_dir.exists()
    make_run_dir(run_dir)
    key = run_dir.resolve()
    lock = run_dir / LOCK_NAME
    if _HELD.get(key, 0) == 0:
        mine = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.time(),
            "command": " ".join(["mir101", *sys.argv[1:]]) if sys.argv else "mir101",
        }
        try:
            _acquire(lock, mine)
        except BaseException:
            if created:
                with contextlib.suppress(OSError):
                    run_dir.rmdir()
            raise
    _HELD[key] = _HELD.get(key, 0) + 1
    try:
        yield run_dir
    finally:
        _HELD[key] -= 1
        if _HELD[key] == 0:
            del _HELD[key]
            owner = _read_lock(lock)
            if owner and owner.get("pid") == os.getpid():
                lock.unlink(missing_ok=True)
            if created:
                with contextlib.suppress(OSError):
                    run_dir.rmdir()  # only if empty: a command that failed before writing anything


# ----------------------------------------------------------------------------- guarded reads
def read_json_file(path: Path, what: str) -> Any:
    """A JSON file of the run folder; anything unreadable is a CheckpointError naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        reason = (
            "not UTF-8 text"
            if isinstance(err, UnicodeDecodeError)
            else "JSON nested too deeply"
            if isinstance(err, RecursionError)
            else f"not valid JSON ({err})"
        )
        raise CheckpointError(f"{path}: cannot read {what}: {reason}") from err


def read_training_info(path: Path) -> dict[str, Any]:
    """``training.json`` (``{}`` when there is none): a mapping whose steps, epochs and seconds are numbers."""
    if not path.is_file():
        return {}
    info = read_json_file(path, "the training summary")
    if not isinstance(info, dict):
        raise CheckpointError(
            f"{path}: not a training summary (expected an object with 'steps', 'epochs', 'train_seconds'); "
            "delete it or restore it"
        )
    for key in ("steps", "epochs", "train_seconds"):
        value = info.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise CheckpointError(
                f"{path}: '{key}' = {value!r} is not a number of {key.replace('train_', '')}"
            )
    return info


def check_csv_log(path: Path) -> None:
    """``logs/metrics.csv`` (what the report plots and a resumed run extends): UTF-8 text whose
    cells are numbers, under one header row."""
    if not path.is_file():
        return
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    except (UnicodeDecodeError, csv.Error) as err:
        raise CheckpointError(
            f"{path}: cannot read the CSV log of the training ({err}); delete it (the curves are lost) or restore it"
        ) from err
    for i, row in enumerate(rows[1:], start=2):
        for cell in row:
            try:
                float(cell or 0)
            except ValueError:
                raise CheckpointError(
                    f"{path}, line {i}: {cell!r} is not a number; the CSV log of the training is damaged: "
                    "delete it (the curves are lost) or restore it"
                ) from None


def read_split(path: Path, task: Task) -> dict[str, list[str]]:
    """``split.json``: train / valid / test lists of keys the task's store holds."""
    if not path.is_file():
        raise CheckpointError(f"{path.parent} has no split.json: it is not a (finished) run folder")
    data = read_json_file(path, "the split")
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: not a split (expected an object with 'train', 'valid', 'test' lists)")
    split = load_split(path)  # the keys it lacks, named
    known = set(task.store.keys)
    for name, keys in split.items():
        if not isinstance(data[name], list) or not all(isinstance(k, str) for k in keys):
            raise CheckpointError(f"{path}: '{name}' must be a list of item keys (strings)")
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise CheckpointError(
                f"{path}: '{name}' names item(s) {unknown[:3]} that the store {task.store.pyjama_path.with_suffix('')} "
                "does not hold: the run was made with another store"
            )
    return split


def check_state_dict(state: Any, path: Path) -> None:
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: not a mir101 model file ('state_dict' is not a mapping of tensors)")


def check_lightning_checkpoint(state: Any, path: Path) -> dict[str, tuple[int, ...]]:
    """What Lightning needs to resume from ``state``; returns the shape of each weight."""
    if not isinstance(state, dict) or "epoch" not in state:
        raise CheckpointError(f"{path}: not a Lightning checkpoint of a mir101 run (no 'epoch')")
    for key in ("epoch", "global_step"):
        if isinstance(state.get(key), bool) or not isinstance(state.get(key), int) or state[key] < 0:
            raise CheckpointError(
                f"{path}: not a Lightning checkpoint of a mir101 run ('{key}' = {state.get(key)!r})"
            )
    for key, kind in (("state_dict", dict), ("optimizer_states", list), ("pytorch-lightning_version", str)):
        if not isinstance(state.get(key), kind):
            raise CheckpointError(f"{path}: not a Lightning checkpoint of a mir101 run (no '{key}')")
    check_state_dict(state["state_dict"], path)
    return {k: tuple(v.shape) for k, v in state["state_dict"].items()}


def check_weights_fit(
    shapes: dict[str, tuple[int, ...]], system: torch.nn.Module, path: Path, run_dir: Path
) -> None:
    """The checkpoint to resume holds the weights of the model the run's config builds."""
    expected = {k: tuple(v.shape) for k, v in system.state_dict().items()}
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    wrong = [k for k in expected if k in shapes and shapes[k] != expected[k]]
    if missing or unexpected or wrong:
        detail = (
            f"size mismatch for {wrong[0]}: {shapes[wrong[0]]} in the checkpoint, {expected[wrong[0]]} in the model"
            if wrong
            else f"missing {missing[:3]}"
            if missing
            else f"unexpected {unexpected[:3]}"
        )
        raise CheckpointError(
            f"{path}: the checkpoint holds another model than the one {run_dir / 'config.yaml'} builds ({detail})"
        )


def check_metrics_file(path: Path, task_name: str) -> None:
    """``metrics.json``, when there is one: an evaluation of this task whose extras ``predict``
    reads (the decision threshold, the classes) have the right types."""
    if not path.is_file():
        return
    try:
        result = EvalResult.load(path)
    except RecursionError as err:
        raise CheckpointError(f"{path}: cannot read the evaluation: JSON nested too deeply") from err
    if result.task and result.task != task_name:
        raise CheckpointError(
            f"{path}: an evaluation of a '{result.task}' run, not of this '{task_name}' run"
        )
    threshold = result.extras.get("threshold", 0.5)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        raise CheckpointError(
            f"{path}: extras.threshold = {threshold!r} is not a threshold in [0, 1]; run `mir101 evaluate "
            f"{path.parent}` to write it again"
        )
    classes = result.extras.get("classes")
    if classes is not None and (
        not isinstance(classes, list) or not all(isinstance(c, str) for c in classes)
    ):
        raise CheckpointError(
            f"{path}: extras.classes is not a list of labels; run `mir101 evaluate {path.parent}` to write it again"
        )
