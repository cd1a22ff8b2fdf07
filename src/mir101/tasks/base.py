"""What every task shares: the store(s), the split, the input and its feature cache, the model.

A task subclass adds what makes it a task: its targets, its loss and paradigm, its evaluation
with the field's metrics, its plots and its ``predict``. The training loop itself lives in
:mod:`mir101.tasks.runner` and is the same for every task.

Book page: ``book/intro.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from torch import nn

from mir101.config import to_container
from mir101.data.splits import split_groups
from mir101.data.store import Store
from mir101.errors import ConfigError, StoreError
from mir101.utils.registry import Registry

__all__ = ["Task", "TASKS", "open_store", "select_keys"]

log = logging.getLogger(__name__)

#: task name -> Task subclass
TASKS: Registry[type[Task]] = Registry("task")


def open_store(node: Mapping[str, Any], where: str = "data") -> Store:
    """Open ``node.store`` or build / reuse the embedded corpus ``node.corpus`` (with ``corpus_args``)."""
    store, corpus = node.get("store"), node.get("corpus")
    if bool(store) == bool(corpus):
        raise ConfigError(f"{where}: give exactly one of 'store' (a path) or 'corpus' (e.g. chorales)")
    if store:
        return Store(store)
    from mir101.data.corpora import get_corpus_store

    return Store(get_corpus_store(str(corpus), **dict(to_container(node.get("corpus_args")) or {})))


def select_keys(store: Store, where: Mapping[str, Any] | None, max_items: int | None = None) -> list[str]:
    """Keys whose first global value of each ``where`` name equals the given value."""
    where = dict(where or {})
    keys = [k for k in store.keys if all(str(store.value(k, n)) == str(v) for n, v in where.items())]
    if not keys:
        raise StoreError(
            f"{store.pyjama_path}: no entry matches data.where={where} ({len(store)} entries in all)"
        )
    return keys[:max_items] if max_items else keys


class Task:
    """Base class of the tasks. Subclasses set ``name``, ``Options`` and the abstract methods.

    Args:
        cfg: the resolved experiment config (see :mod:`mir101.config`).
    """

    name: ClassVar[str] = ""
    #: a dataclass of the task's own options (the config's ``task`` section minus ``name``)
    Options: ClassVar[type] = object
    #: lightning metric to monitor for early stopping / best checkpoint, and its mode
    monitor: ClassVar[tuple[str, str]] = ("val/loss", "min")

    def __init__(self, cfg: DictConfig):
        self.cfg = cfg
        self.options = self._parse_options(cfg.task)

    # ------------------------------------------------------------------ options
    def _parse_options(self, node: Any) -> Any:
        raw = {k: v for k, v in (to_container(node) or {}).items() if k != "name"}
        if not is_dataclass(self.Options):
            if raw:
                raise ConfigError(f"task '{self.name}' takes no options, got {sorted(raw)}")
            return None
        try:
            merged = OmegaConf.merge(OmegaConf.structured(self.Options), raw)
        except OmegaConfBaseException as err:
            allowed = sorted(f.name for f in fields(self.Options))
            key = getattr(err, "full_key", "?")
            raise ConfigError(
                f"task '{self.name}': bad option '{key}' ({str(err).splitlines()[0]}); allowed: {allowed}"
            ) from err
        return OmegaConf.to_object(merged)

    # ------------------------------------------------------------------ data
    @cached_property
    def store(self) -> Store:
        return open_store(self.cfg.data)

    @cached_property
    def keys(self) -> list[str]:
        return select_keys(self.store, to_container(self.cfg.data.where), self.cfg.data.max_items)

    def groups(self, store: Store, keys: list[str]) -> dict[str, str]:
        """Item key -> split group (``data.split.by`` annotation; the key itself when missing)."""
        by = self.cfg.data.split.by
        return {k: str(store.value(k, by, default=k)) for k in keys}

    def make_split(self) -> dict[str, list[str]]:
        s = self.cfg.data.split
        return split_groups(self.groups(self.store, self.keys), valid=s.valid, test=s.test, seed=s.seed)

    @cached_property
    def input(self) -> nn.Module:
        from mir101.inputs import build_input

        if not self.cfg.input:
            raise ConfigError(f"task '{self.name}' needs an 'input' section (e.g. input: {{name: hcqt}})")
        return build_input(to_container(self.cfg.input))

    def features(self, store: Store, keys: list[str] | None = None) -> Any:
        """The feature cache of ``keys`` of a store (default: the task's selected keys of its own
        store) for this task's input; built on first use, then reused."""
        from mir101.inputs import FeatureCache

        if keys is None:
            if store is not self.store:
                raise ValueError("features(store) needs keys for a store other than the task's own")
            keys = self.keys
        memo = self.__dict__.setdefault("_feature_caches", {})
        ident = (str(store.pyjama_path), tuple(keys))
        if ident not in memo:
            memo[ident] = FeatureCache(store, self.input, dtype=self.cfg.data.feature_dtype, keys=keys)
        return memo[ident]

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one training patch without the batch dim: (channels, freq, patch_frames), or
        (1, patch samples) for the waveform."""
        shape = self.input.output_shape(self.input.hop_length * (self.cfg.data.patch_frames - 1))
        return tuple(shape[:-1]) + (self.cfg.data.patch_frames,)

    def test_stores(self) -> dict[str, tuple[Store, list[str]]]:
        """Extra held-out stores (``data.test_stores``) with the keys to evaluate."""
        out = {}
        for name, node in (to_container(self.cfg.data.test_stores) or {}).items():
            if not isinstance(node, Mapping):
                raise ConfigError(f"data.test_stores.{name} must be a mapping with 'store' or 'corpus'")
            store = open_store(node, where=f"data.test_stores.{name}")
            keys = select_keys(store, node.get("where", to_container(self.cfg.data.where)))
            out[name] = (store, keys)
        return out

    # ------------------------------------------------------------------ model
    def build_model(self) -> nn.Module:
        from mir101.models import build_model

        if not self.cfg.model or "layers" not in self.cfg.model:
            raise ConfigError(
                "the config needs a 'model' section with a 'layers' list (or a path to a model YAML)"
            )
        return build_model(to_container(self.cfg.model.layers), self.input_shape)

    # ------------------------------------------------------------------ to implement
    def datamodule(self, split: Mapping[str, list[str]]) -> Any:
        raise NotImplementedError

    def system(self, model: nn.Module) -> Any:
        raise NotImplementedError

    def evaluate(self, model: nn.Module, split: Mapping[str, list[str]], run_dir: Path) -> dict[str, Any]:
        raise NotImplementedError

    def predict(self, model: nn.Module, run_dir: Path, audio_path: Path, out_dir: Path) -> dict[str, Any]:
        raise NotImplementedError(f"task '{self.name}' has no predict command")


def load_audio(path: str | Path, sr: int) -> np.ndarray:
    """Read an audio file as mono float32 at ``sr``.

    What can be repaired safely is repaired and logged: several channels are mixed down, another
    sample rate is resampled, a truncated WAV (the header announces more audio than the file
    holds) is read up to where it stops. Integer formats (8, 16, 24, 32 bits) are scaled to
    [-1, 1]; silence is valid audio.

    Raises:
        AudioError: naming the file: missing, empty, unreadable (not audio, corrupt), no samples,
            or NaN/inf samples.
    """
    import soundfile as sf

    from mir101.errors import AudioError

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"audio file not found: {path}")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: the file is empty (0 bytes)")
    try:
        x, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises LibsndfileError / RuntimeError
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise AudioError(f"{path}: cannot read audio, corrupt or not an audio format ({first})") from err
    truncated = _truncated_wav(path)
    if truncated is not None:
        log.warning(
            "%s: truncated WAV: the header announces %d bytes of audio, the file holds %d; "
            "reading the %.2f s present",
            path,
            truncated[0],
            truncated[1],
            x.shape[0] / file_sr,
        )
    if x.shape[0] == 0:
        raise AudioError(f"{path}: the audio is empty (no samples)")
    if x.shape[1] > 1:
        log.info("%s: %d channels mixed down to mono", path, x.shape[1])
    x = x.mean(axis=1)
    bad = ~np.isfinite(x)
    if bad.any():
        first = int(np.argmax(bad))
        raise AudioError(
            f"{path}: the audio holds {int(bad.sum())} NaN or inf sample(s), the first at "
            f"{first / file_sr:.3f} s (sample {first})"
        )
    if file_sr != sr:
        import librosa

        log.info("%s: resampled from %d Hz to %d Hz", path, file_sr, sr)
        x = librosa.resample(x, orig_sr=file_sr, target_sr=sr).astype(np.float32)
    return x


def _truncated_wav(path: Path) -> tuple[int, int] | None:
    """``(announced, present)`` bytes of a RIFF/WAVE file's ``data`` chunk when the file stops
    before the end its header announces; ``None`` otherwise (other formats, streamed WAVs whose
    size field is 0 or 0xFFFFFFFF)."""
    size = path.stat().st_size
    with path.open("rb") as fid:
        head = fid.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        while pos + 8 <= size:
            fid.seek(pos)
            chunk = fid.read(8)
            n = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                present = size - pos - 8
                return (n, present) if 0 < n < 0xFFFFFFFF and n > present else None
            pos += 8 + n + (n & 1)
    return None


def device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")
