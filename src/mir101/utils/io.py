"""Atomic writes, the user cache folder and stable hashes of parameters."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "cache_dir", "stable_hash"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    An interrupted write (exception, SIGKILL) never leaves a half-written ``path``: at worst a
    ``.tmp-*`` file that nothing reads. The rename is atomic on POSIX file systems.

    Examples:
        >>> with atomic_path("store.hdf5") as tmp:   # doctest: +SKIP
        ...     write_hdf5(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def cache_dir(*parts: str) -> Path:
    """The mir101 cache folder (``$MIR101_CACHE`` or the platform's user cache dir) / parts."""
    root = os.environ.get("MIR101_CACHE")
    if not root:
        from platformdirs import user_cache_dir

        root = user_cache_dir("mir101")
    path = Path(root).joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def stable_hash(obj: Any, length: int = 12) -> str:
    """A short hash of a JSON-able object that does not change between runs or machines."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]
