"""Positive pairs for self-supervised learning: two crops of one unlabelled item.

Papers: Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations"
(SimCLR), ICML 2020, https://arxiv.org/abs/2002.05709; Spijkervet & Burgoyne, "Contrastive
Learning of Musical Representations" (CLMR), ISMIR 2021, https://arxiv.org/abs/2103.09410 (two
random crops of one song are a positive pair; the other songs of the batch are the negatives).

No label is read: an item's two crops, taken at independent random places, share what is constant
over the item (the instruments, the room, the recording) and differ in what changes (the notes);
random augmentations (:mod:`mir101.data.waveform_augment`) then make the representation ignore
what they change.

Book page: ``book/ssl.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from mir101.errors import ParameterError

__all__ = ["PairDataset"]


class PairDataset(Dataset):
    """``views_per_item`` positive pairs of each item per epoch, cropped at random places.

    Args:
        keys: the items (one split); their labels are never read.
        features: ``key -> (channels, [freq,] frames)`` source; a ``window(key, start, length)``
            method, when it has one, reads only the crop (a :class:`~mir101.inputs.FeatureCache`).
        n_frames: ``key -> number of frames``.
        patch_frames: frames of a crop.
        views_per_item: pairs of each item per epoch (the dataset's length is this times the items).
        seed: ``None`` draws the crops from numpy's global generator (reseeded per epoch by the
            trainer); an integer fixes them (validation: the same pairs every epoch).

    Shape:
        item ``i`` is ``{"x1": (channels, [freq,] patch_frames), "x2": ..., "item": ()}`` (``item``:
        the index of the key, for checks; never a label).
    """

    def __init__(
        self,
        keys: Sequence[str],
        features: Callable[[str], np.ndarray],
        n_frames: Callable[[str], int],
        patch_frames: int,
        views_per_item: int = 4,
        seed: int | None = None,
    ):
        if not keys:
            raise ParameterError("PairDataset needs at least one item")
        if patch_frames <= 0 or views_per_item <= 0:
            raise ParameterError(
                f"patch_frames={patch_frames} and views_per_item={views_per_item} must be positive"
            )
        self.keys = list(keys)
        self.features = features
        self.lengths = [int(n_frames(k)) for k in self.keys]
        self.patch_frames = patch_frames
        self.views_per_item = views_per_item
        self.seed = seed

    def __len__(self) -> int:
        return len(self.keys) * self.views_per_item

    def _crop(self, key: str, n: int, start: int) -> np.ndarray:
        window = getattr(self.features, "window", None)
        if window is not None:
            return np.asarray(window(key, start, self.patch_frames), np.float32)
        x = np.asarray(self.features(key), np.float32)[..., start : start + self.patch_frames]
        if x.shape[-1] < self.patch_frames:
            x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, self.patch_frames - x.shape[-1])])
        return x

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        item = i % len(self.keys)
        key, n = self.keys[item], self.lengths[item]
        high = max(n - self.patch_frames, 0) + 1
        if self.seed is None:
            starts = np.random.randint(0, high, size=2)  # noqa: NPY002  (reseeded per epoch: EpochSeed)
        else:
            starts = np.random.default_rng((self.seed, i)).integers(0, high, size=2)
        s1, s2 = (int(s) for s in starts)
        return {
            "x1": torch.from_numpy(np.ascontiguousarray(self._crop(key, n, s1))),
            "x2": torch.from_numpy(np.ascontiguousarray(self._crop(key, n, s2))),
            "item": torch.tensor(item),
        }
