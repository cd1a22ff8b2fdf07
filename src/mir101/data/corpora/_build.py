"""What every corpus build shares: worker pools, cache keys, reuse of a finished store, versions."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import platform
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, TypeVar

from mir101.data.store import store_paths
from mir101.errors import ParameterError
from mir101.utils.io import cache_dir, stable_hash

__all__ = [
    "map_ordered",
    "library_versions",
    "default_workers",
    "store_target",
    "finished_store",
    "check_workers",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_VERSIONED = ("mir101", "music21", "tinysoundfont", "pretty_midi", "numpy", "scipy", "h5py")


def default_workers() -> int:
    """``min(2, cpu count)``: corpora build on a laptop without taking it over."""
    return max(1, min(2, os.cpu_count() or 1))


def check_workers(workers: int | None) -> int:
    workers = default_workers() if workers is None else workers
    if not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"workers={workers!r} must be a positive integer")
    return workers


def library_versions() -> dict[str, str]:
    """Versions of the libraries a corpus depends on (recorded in the store), and Python's."""
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def _context() -> multiprocessing.context.BaseContext:
    # fork starts workers at once on Linux; the workers never touch torch (which mir101.data
    # imports), so forking a parent that loaded it is safe. Elsewhere: spawn.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context(
        "fork" if sys.platform.startswith("linux") and "fork" in methods else "spawn"
    )


def map_ordered(
    fn: Callable[[T], R],
    jobs: Iterable[T],
    workers: int = 1,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    desc: str = "",
    progress: bool = True,
    total: int | None = None,
) -> Iterator[R]:
    """``fn`` over ``jobs`` in ``workers`` processes, results yielded in job order, with a bar.

    ``initializer(*initargs)`` runs once per worker (e.g. to load one synthesiser); with
    ``workers=1`` everything runs in this process (no pickling, easy debugging).
    """
    from tqdm.auto import tqdm

    jobs = list(jobs)
    bar = tqdm(total=total or len(jobs), desc=desc, disable=not progress, unit="job", leave=False)
    try:
        if workers <= 1 or len(jobs) <= 1:
            if initializer is not None:
                initializer(*initargs)
            for job in jobs:
                yield fn(job)
                bar.update(1)
            return
        with _context().Pool(min(workers, len(jobs)), initializer=initializer, initargs=initargs) as pool:
            for res in pool.imap(fn, jobs, chunksize=1):
                yield res
                bar.update(1)
    finally:
        bar.close()


def store_target(corpus: str, key: str, out: str | os.PathLike | None, name: str | None) -> Path:
    """The store prefix to build: ``out/name`` (name defaults to the corpus), or
    ``cache_dir('corpora')/<corpus>-<key>`` when ``out`` is None."""
    if out is None:
        return cache_dir("corpora") / (name or f"{corpus}-{key}")
    return Path(out) / (name or corpus)


def finished_store(prefix: Path, key: str) -> bool:
    """Whether ``prefix`` holds a complete store built with cache key ``key``."""
    hdf5, pyjama = store_paths(prefix)
    if not (hdf5.is_file() and pyjama.is_file()):
        return False
    try:
        with pyjama.open(encoding="utf-8") as fid:
            meta = json.load(fid).get("mir101", {})
    except (OSError, json.JSONDecodeError):
        return False
    return isinstance(meta, Mapping) and meta.get("build_key") == key


def build_key(corpus: str, version: int, params: Mapping[str, Any], soundfont: Mapping[str, Any]) -> str:
    """The cache key of a build: its parameters, the SoundFont's content and the versions of the
    libraries that shape the audio and labels."""
    versions = library_versions()
    return stable_hash(
        {
            "corpus": corpus,
            "version": version,
            "params": dict(params),
            "soundfont": soundfont["sha256"],
            "libs": {k: versions[k] for k in ("music21", "tinysoundfont")},
        }
    )
