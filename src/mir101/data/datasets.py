"""Torch datasets over (cached) features: fixed-length patches for training, whole items for
evaluation.

The data layer knows no input transform: a dataset receives a *feature source* (a callable
``key -> array (channels, freq, frames)``, e.g. a :class:`mir101.inputs.FeatureCache`) and a
*target source* (``key -> array (..., frames)`` or a per-item value), so the same datasets serve
every task and every input.

Book page: ``book/intro.md`` (patches and dataloaders).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from mir101.errors import ParameterError

__all__ = ["PatchDataset", "ItemDataset", "patch_starts"]

log = logging.getLogger(__name__)

FeatureSource = Callable[[str], np.ndarray]
TargetSource = Callable[[str], Any]


def patch_starts(n_frames: int, patch_frames: int, hop_frames: int) -> list[int]:
    """Start frames of the patches of an item; an item shorter than a patch gives ``[0]``
    (the patch is zero-padded), and the last frames are covered by a final patch.

    Examples:
        >>> patch_starts(10, 4, 3)
        [0, 3, 6]
        >>> patch_starts(11, 4, 3)
        [0, 3, 6, 7]
    """
    if patch_frames <= 0 or hop_frames <= 0:
        raise ParameterError(f"patch_frames={patch_frames} and hop_frames={hop_frames} must be positive")
    if n_frames <= patch_frames:
        return [0]
    starts = list(range(0, n_frames - patch_frames + 1, hop_frames))
    if starts[-1] + patch_frames < n_frames:
        starts.append(n_frames - patch_frames)
    return starts


def _crop(x: np.ndarray, start: int, length: int) -> np.ndarray:
    """Frames ``[start, start + length)`` of the last axis, zero-padded at the end if short."""
    out = x[..., start : start + length]
    if out.shape[-1] < length:
        pad = [(0, 0)] * (out.ndim - 1) + [(0, length - out.shape[-1])]
        out = np.pad(out, pad)
    return out


class PatchDataset(Dataset):
    """Fixed-length patches of every item, for training.

    Args:
        keys: the items (one split).
        features: ``key -> (channels, freq, frames)`` array source.
        targets: ``key -> (..., frames)`` frame targets, or a per-item target (class index,
            multi-hot vector) when ``frame_targets=False``.
        n_frames: ``key -> number of frames`` (to index patches without loading features).
        patch_frames, hop_frames: patch length and step, in frames.
        frame_targets: whether targets are cropped with the patch.
        transform: ``(x, y) -> (x, y)`` applied to each patch (augmentation, training only).

    Shape:
        item ``i`` is ``(x, y)`` with ``x`` (channels, freq, patch_frames) float32 and ``y``
        (..., patch_frames) or the item target.
    """

    def __init__(
        self,
        keys: Sequence[str],
        features: FeatureSource,
        targets: TargetSource,
        n_frames: Callable[[str], int],
        patch_frames: int = 64,
        hop_frames: int = 32,
        frame_targets: bool = True,
        transform: Callable[[np.ndarray, Any], tuple[np.ndarray, Any]] | None = None,
    ):
        self.keys = list(keys)
        self.transform = transform
        self.features = features
        self.targets = targets
        self.patch_frames = patch_frames
        self.frame_targets = frame_targets
        self.index: list[tuple[str, int]] = []
        for key in self.keys:
            n = n_frames(key)
            if n < patch_frames:
                log.warning(
                    "item '%s' has %d frames, fewer than one patch (%d): zero-padded", key, n, patch_frames
                )
            self.index.extend((key, s) for s in patch_starts(n, patch_frames, hop_frames))
        self._target_cache: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.index)

    def _target(self, key: str) -> Any:
        if key not in self._target_cache:
            self._target_cache[key] = self.targets(key)
        return self._target_cache[key]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        key, start = self.index[i]
        window = getattr(self.features, "window", None)  # a source that reads only the patch
        if window is not None:
            x = window(key, start, self.patch_frames)
        else:
            x = _crop(np.asarray(self.features(key), dtype=np.float32), start, self.patch_frames)
        y = self._target(key)
        if self.frame_targets:
            y = _crop(np.asarray(y), start, self.patch_frames)
        if self.transform is not None:
            x, y = self.transform(x, y)
        return torch.from_numpy(np.ascontiguousarray(x)), torch.as_tensor(y)


class ItemDataset(Dataset):
    """Whole items, for evaluation and prediction: item ``i`` is ``(x, y, key)``."""

    def __init__(self, keys: Sequence[str], features: FeatureSource, targets: TargetSource | None = None):
        self.keys = list(keys)
        self.features = features
        self.targets = targets

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, Any, str]:
        key = self.keys[i]
        x = torch.from_numpy(np.ascontiguousarray(np.asarray(self.features(key), dtype=np.float32)))
        y = self.targets(key) if self.targets is not None else None
        return x, (torch.as_tensor(y) if y is not None else None), key
