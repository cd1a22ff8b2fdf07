"""Data: the HDF5 + pyjama store, targets, splits, datasets and the embedded corpora."""

from mir101.data.audio import load_audio
from mir101.data.splits import load_split, save_split, split_groups
from mir101.data.store import Segments, Series, Store, StoreWriter, store_paths
from mir101.data.targets import (
    CHORD_LABELS,
    LabelVocabulary,
    PitchGrid,
    chord_class,
    chord_frames,
    clique_ids,
    pitch_roll_from_segments,
    pitch_roll_from_series,
)

__all__ = [
    "load_audio",
    "Store",
    "StoreWriter",
    "store_paths",
    "Segments",
    "Series",
    "PitchGrid",
    "pitch_roll_from_segments",
    "pitch_roll_from_series",
    "LabelVocabulary",
    "CHORD_LABELS",
    "chord_class",
    "chord_frames",
    "clique_ids",
    "split_groups",
    "save_split",
    "load_split",
    "PatchDataset",
    "ItemDataset",
    "patch_starts",
]

_LAZY = {"PatchDataset", "ItemDataset", "patch_starts"}  # torch is imported only when these are used


def __getattr__(name: str):
    if name in _LAZY:
        from mir101.data import datasets

        return getattr(datasets, name)
    raise AttributeError(f"module 'mir101.data' has no attribute '{name}'")
