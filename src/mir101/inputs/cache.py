"""Features of a whole data store, computed once into HDF5 and reused by later runs.

Book page: ``book/inputs.md``.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from tqdm.auto import tqdm

from mir101.data.store import Store
from mir101.errors import AudioError, ParameterError, StoreError
from mir101.inputs.base import InputModule
from mir101.inputs.resample import resample
from mir101.utils.io import LazyHDF5, atomic_path, cache_dir, stable_hash

__all__ = ["FeatureCache"]

log = logging.getLogger(__name__)

#: Bump when the file layout or the way features are computed changes: old caches are then ignored.
CACHE_VERSION = 1
_DTYPES = ("float16", "float32")


class FeatureCache(LazyHDF5):
    """The output of one input module for every item of a store, stored in one HDF5 file.

    The file is named by a hash of everything the features depend on: the store's audio file
    (path, size, modification time), the item keys, the input's class and
    :meth:`~mir101.inputs.base.InputModule.get_config`, the storage dtype and a format version. A
    later run with the same store and input finds the file and reads it; any change gives a new
    file. The file is written atomically: a build interrupted by an exception or a kill leaves no
    file that a later run would trust.

    Items are computed in batches of about ``batch_seconds`` of audio: items of similar length
    are zero-padded to the longest and the extra frames dropped, which gives exactly the features
    of each item alone (every input treats samples beyond the end as zeros). Items whose sample
    rate differs from the input's are resampled first (logged).

    Args:
        store: a :class:`~mir101.data.Store` or its path.
        input_module: the input (any :class:`~mir101.inputs.base.InputModule`).
        path: where to keep the file; ``None``: ``cache_dir("features") / <store>-<input>-<hash>.hdf5``.
        dtype: storage type, ``"float16"`` (half the disk, ~3 significant digits) or ``"float32"``.
            Reading always returns float32.
        batch_seconds: audio per forward pass when building.
        keys: the items to cache (default: all items of the store).
        device: where to compute the features (``"cuda"`` for a GPU).
        progress: show a progress bar while building.

    Examples:
        >>> cache = FeatureCache("data/bach10", HarmonicCQT())          # doctest: +SKIP
        >>> cache(cache.keys[0]).shape           # (harmonics, bins, frames)  # doctest: +SKIP
        (6, 216, 1292)
    """

    def __init__(
        self,
        store: Store | str | os.PathLike,
        input_module: InputModule,
        path: str | os.PathLike | None = None,
        dtype: str = "float16",
        batch_seconds: float = 60.0,
        keys: Sequence[str] | None = None,
        device: str | torch.device = "cpu",
        progress: bool = True,
    ):
        self.store = store if isinstance(store, Store) else Store(store)
        self.input = input_module
        if str(dtype) not in _DTYPES:
            raise ParameterError(f"dtype={dtype!r} must be one of {list(_DTYPES)}")
        if not batch_seconds > 0:
            raise ParameterError(f"batch_seconds={batch_seconds!r} must be positive")
        self.dtype, self.batch_seconds, self.device = str(dtype), float(batch_seconds), torch.device(device)
        self.keys: list[str] = list(self.store.keys if keys is None else keys)
        known = set(self.store.keys)
        missing = [k for k in self.keys if k not in known]
        if missing:
            raise StoreError(f"{self.store.pyjama_path}: no item(s) {missing[:5]} to cache")
        self.id = stable_hash(self.identity())
        name = f"{self.store.hdf5_path.stem}-{type(input_module).__name__.lower()}-{self.id}.hdf5"
        self.path = Path(path) if path is not None else cache_dir("features") / name
        self.built = False  # True when this instance computed the features (False: reused)
        self._h5: h5py.File | None = None
        if not self._valid_file():
            self.build(progress)
        else:
            log.info("reusing feature cache %s", self.path)

    def identity(self) -> dict[str, Any]:
        """Everything the cached features depend on (hashed into the file name)."""
        stat = self.store.hdf5_path.stat()
        return {
            "version": CACHE_VERSION,
            "store": str(self.store.hdf5_path.resolve()),
            "store_size": stat.st_size,
            "store_mtime_ns": stat.st_mtime_ns,
            "keys": self.keys,
            "input": type(self.input).__name__,
            "config": self.input.get_config(),
            "dtype": self.dtype,
        }

    def _valid_file(self) -> bool:
        if not self.path.is_file():
            return False
        try:
            with h5py.File(self.path, "r") as f:
                if f.attrs.get("cache_id") == self.id:
                    return True
        except OSError:
            pass
        log.warning("%s was made for another store or input; rebuilding it", self.path)
        return False

    # ------------------------------------------------------------------ building
    def _batches(self) -> list[list[str]]:
        """Keys grouped by similar length, each group at most ``batch_seconds`` once padded."""
        by_length = sorted(self.keys, key=self.store.duration)
        batches: list[list[str]] = []
        for key in by_length:
            longest = self.store.duration(key)  # sorted: the new item is the longest of its batch
            if batches and (len(batches[-1]) + 1) * longest <= self.batch_seconds:
                batches[-1].append(key)
            else:
                batches.append([key])
        return batches

    def _audio(self, key: str) -> np.ndarray:
        audio, sr = self.store.audio(key)
        where = f"{self.store.hdf5_path}: item '{key}'"
        if audio.size == 0:
            raise AudioError(f"{where}: the audio is empty (mir101 data validate lists every problem)")
        if not np.all(np.isfinite(audio)):
            first = int(np.argmax(~np.isfinite(audio)))
            raise AudioError(
                f"{where}: the audio holds NaN or inf (first at sample {first}); features would be NaN "
                "(mir101 data validate lists every problem)"
            )
        if sr != self.input.sr:
            log.info("resampling '%s' from %d Hz to the input's %d Hz", key, sr, self.input.sr)
            audio = resample(torch.from_numpy(audio), sr, self.input.sr).numpy()
        return audio

    def build(self, progress: bool = True) -> None:
        """Compute the features of every item and write the file (atomically)."""
        log.info(
            "caching %s features of %d items into %s", type(self.input).__name__, len(self.keys), self.path
        )
        self.close()
        module = copy.deepcopy(self.input).to(self.device)  # the caller's module stays where it is
        with atomic_path(self.path) as tmp, h5py.File(tmp, "w") as f:
            f.attrs["cache_id"] = self.id
            f.attrs["identity"] = json.dumps(self.identity(), default=str)
            with tqdm(
                total=len(self.keys), desc=f"{type(self.input).__name__} features", disable=not progress
            ) as bar:
                for batch in self._batches():
                    audios = [self._audio(k) for k in batch]
                    x = np.zeros((len(audios), max(len(a) for a in audios)), dtype=np.float32)
                    for i, a in enumerate(audios):
                        x[i, : len(a)] = a
                    with torch.no_grad():
                        y = module(torch.from_numpy(x).to(self.device)).cpu().numpy()
                    for key, a, feats in zip(batch, audios, y):
                        f.create_dataset(key, data=feats[..., : module.n_frames(len(a))].astype(self.dtype))
                    bar.update(len(batch))
        self.built = True

    # ------------------------------------------------------------------ reading
    def _h5_path(self) -> Path:
        return self.path

    def __call__(self, key: str) -> np.ndarray:
        """Features of item ``key`` as float32 ``(channels, freq, frames)`` (waveform: ``(1, samples)``)."""
        if key not in self.h5:
            raise StoreError(f"{self.path}: no cached features for item '{key}'")
        return np.asarray(self.h5[key], dtype=np.float32)

    def window(self, key: str, start: int, length: int) -> np.ndarray:
        """Frames ``[start, start + length)`` of item ``key`` as float32, zero-padded past the end.

        Reads only that slab from disk (a training patch), not the whole item.
        """
        if key not in self.h5:
            raise StoreError(f"{self.path}: no cached features for item '{key}'")
        if start < 0 or length <= 0:
            raise ParameterError(f"window(start={start}, length={length}): start must be >= 0 and length > 0")
        ds = self.h5[key]
        x = np.asarray(ds[..., start : start + length], dtype=np.float32)
        if x.shape[-1] < length:
            x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, length - x.shape[-1])])
        return x

    def n_frames(self, key: str) -> int:
        """Number of frames of item ``key``."""
        return int(self.h5[key].shape[-1])

    def frame_times(self, key: str) -> np.ndarray:
        """Time (s) of each frame of item ``key``."""
        return self.input.frame_times(self.n_frames(key))

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys)

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def __repr__(self) -> str:
        return f"FeatureCache('{self.path}', input={type(self.input).__name__}, items={len(self)})"
