"""Mixtures and their stems from a store: the stem index, training patches with remixing, evaluation excerpts.

A separation store holds, for every mixture item (``role: mix``), one item per source whose
``mix_key`` names the mixture and whose ``role`` names the source (the chorales corpus: soprano,
alto, tenor, bass; a MUSDB18 store: vocals, drums, bass, other). The mixture is the sum of its
stems.

Training patches are drawn at random offsets; with probability ``remix`` each source of a patch
comes from another item of the same musical key (the ``key`` annotation; a store without one
remixes across all items), at its own offset, with its own gain: new mixtures the training set
never held, with exact targets (Uhlich et al., "Improving music source separation based on deep
neural networks through data augmentation and network blending", ICASSP 2017). Every epoch
draws new patches: a draw depends on the seed, the item index and the epoch's torch seed
(``torch.initial_seed()``, which the runner resets at each epoch from the run's seed and the epoch
number, :class:`~mir101.tasks.runner.EpochSeed`), so a resumed run sees the same patches as an
uninterrupted one. (Until 2026-12-03 the draw ignored the epoch: every epoch replayed the same
``length`` patches, 512 seconds of audio for the chorale rows, which the networks learnt by heart.)

Book page: ``book/separation.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from mir101.data.store import Store
from mir101.errors import AnnotationError

__all__ = ["stem_index", "SeparationPatches", "FixedPatches", "load_sources"]


def stem_index(
    store: Store, mixes: Sequence[str], sources: Sequence[str], role: str = "role"
) -> dict[str, list[str]]:
    """Mixture key -> its stem keys in the order of ``sources``.

    Raises:
        AnnotationError: a mixture lacks a stem of some source (naming both), or the store has no
            ``mix_key`` annotations at all.
    """
    wanted = set(mixes)
    found: dict[str, dict[str, str]] = {m: {} for m in mixes}
    for key in store.keys:
        mix = store.value(key, "mix_key")
        if mix is not None and str(mix) in wanted:
            found[str(mix)][str(store.value(key, role))] = key
    if mixes and not any(found.values()):
        raise AnnotationError(
            f"{store.pyjama_path}: no item has a 'mix_key' annotation naming one of the mixtures "
            "(each stem names its mixture with mix_key and its source with role)"
        )
    out = {}
    for mix in mixes:
        missing = [s for s in sources if s not in found[mix]]
        if missing:
            raise AnnotationError(
                f"{store.pyjama_path}: mixture '{mix}' has no stem for source(s) {missing} "
                f"(its stems: {sorted(found[mix])}); task.sources must name roles of its stems"
            )
        out[mix] = [found[mix][s] for s in sources]
    return out


def load_sources(store: Store, stems: Sequence[str], start: int = 0, stop: int | None = None) -> np.ndarray:
    """The stems' audio ``(n_sources, samples)`` (mono, float32) between ``start`` and ``stop``."""
    parts = [np.asarray(store.audio(k, start, stop)[0], np.float32) for k in stems]
    parts = [p.mean(axis=0) if p.ndim == 2 else p for p in parts]  # stereo stems mixed down
    n = min(len(p) for p in parts)
    return np.stack([p[:n] for p in parts])


class SeparationPatches(Dataset):
    """Random training patches ``{"mix": (samples,), "stems": (n_sources, samples)}``.

    Args:
        store: the store.
        index: mixture key -> stem keys (:func:`stem_index`), the training mixtures.
        patch: samples per patch.
        length: patches per pass over the dataset (the training "epoch" in Lightning's sense).
        remix: probability that a patch's sources come from different items of the same key.
        gain: each source is scaled by a factor drawn uniformly in ``[1 - gain, 1 + gain]``.
        groups: mixture key -> remixing group (the musical key); ``None``: one group.
        seed: the seed of every draw (with the epoch's torch seed and the index).
    """

    def __init__(
        self,
        store: Store,
        index: dict[str, list[str]],
        patch: int,
        length: int = 1000,
        remix: float = 0.5,
        gain: float = 0.25,
        groups: dict[str, str] | None = None,
        seed: int = 0,
    ):
        self.store, self.index, self.patch, self.length = store, index, int(patch), int(length)
        self.remix, self.gain, self.seed = float(remix), float(gain), int(seed)
        self.mixes = sorted(index)
        self.samples = {m: int(round(store.duration(m) * store.sr(m))) for m in self.mixes}
        by_group: dict[str, list[str]] = {}
        for m in self.mixes:
            by_group.setdefault((groups or {}).get(m, ""), []).append(m)
        self.group_of = {m: by_group[(groups or {}).get(m, "")] for m in self.mixes}

    def __len__(self) -> int:
        return self.length

    def _offset(self, rng: np.random.Generator, mix: str) -> int:
        return int(rng.integers(0, max(1, self.samples[mix] - self.patch)))

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, torch.initial_seed() % 2**32, int(i)))
        mix = self.mixes[int(rng.integers(len(self.mixes)))]
        n_src = len(self.index[mix])
        if rng.random() < self.remix:
            donors = [self.group_of[mix][int(rng.integers(len(self.group_of[mix])))] for _ in range(n_src)]
        else:
            donors = [mix] * n_src
        offsets = {d: self._offset(rng, d) for d in dict.fromkeys(donors)}
        stems = np.zeros((n_src, self.patch), np.float32)
        for k, donor in enumerate(donors):
            start = offsets[donor]
            seg = load_sources(self.store, [self.index[donor][k]], start, start + self.patch)[0]
            stems[k, : len(seg)] = seg
        if self.gain:
            stems *= rng.uniform(1 - self.gain, 1 + self.gain, (n_src, 1)).astype(np.float32)
        return {"mix": torch.from_numpy(stems.sum(axis=0)), "stems": torch.from_numpy(stems)}


class FixedPatches(Dataset):
    """Validation patches: ``per_item`` evenly spaced patches of each mixture, no augmentation."""

    def __init__(self, store: Store, index: dict[str, list[str]], patch: int, per_item: int = 4):
        self.store, self.index, self.patch = store, index, int(patch)
        self.items = []
        for mix in sorted(index):
            n = int(round(store.duration(mix) * store.sr(mix)))
            for s in np.linspace(0, max(0, n - self.patch), per_item).astype(int):
                self.items.append((mix, int(s)))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        mix, start = self.items[i]
        stems = np.zeros((len(self.index[mix]), self.patch), np.float32)
        seg = load_sources(self.store, self.index[mix], start, start + self.patch)
        stems[:, : seg.shape[1]] = seg
        return {"mix": torch.from_numpy(stems.sum(axis=0)), "stems": torch.from_numpy(stems)}
