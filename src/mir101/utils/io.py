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

__all__ = ["atomic_path", "cache_dir", "stable_hash", "LazyHDF5"]


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


class LazyHDF5:
    """Mixin: a read-only HDF5 file opened on first use, closed by ``close()`` or ``with``.

    The open file is never pickled, so an object holding one can be sent to DataLoader worker
    processes, each of which reopens it. Subclasses set ``_h5 = None`` and define ``_h5_path()``.
    """

    _h5: Any = None

    def _h5_path(self) -> Path:
        raise NotImplementedError

    @property
    def h5(self) -> Any:
        """The open ``h5py.File`` (read-only)."""
        if self._h5 is None:
            import h5py

            from mir101.errors import StoreError

            try:
                self._h5 = h5py.File(self._h5_path(), "r")
            except OSError as err:
                raise StoreError(f"{self._h5_path()}: cannot open HDF5 file ({err})") from err
        return self._h5

    def close(self) -> None:
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_h5"] = None
        return state

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
