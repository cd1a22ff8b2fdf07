"""The MUSDB18 converter, on a tiny WAV tree the test writes: stems and mixture in, a separation store out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mir101.data.musdb import MUSDB_SOURCES, musdb_to_store
from mir101.data.store import Store
from mir101.errors import StoreError
from mir101.tasks.separation.data import load_sources, stem_index


def _tree(root: Path, tracks: int = 2, sr: int = 8000) -> Path:
    rng = np.random.default_rng(0)
    for subset in ("train", "test"):
        for t in range(tracks):
            folder = root / subset / f"Artist - Song {t}"
            folder.mkdir(parents=True)
            stems = {s: 0.1 * rng.standard_normal((sr, 2)).astype(np.float32) for s in MUSDB_SOURCES}
            for s, x in stems.items():
                sf.write(folder / f"{s}.wav", x, sr, subtype="FLOAT")
            sf.write(folder / "mixture.wav", sum(stems.values()), sr, subtype="FLOAT")
    return root


def test_musdb_tree_becomes_a_separation_store(tmp_path):
    prefix = musdb_to_store(_tree(tmp_path / "musdb"), tmp_path / "store" / "musdb")
    store = Store(prefix)
    mixes = [k for k in store.keys if store.value(k, "role") == "mix"]
    assert len(mixes) == 4 and "train-Artist_-_Song_0-mix" in mixes
    index = stem_index(store, mixes, list(MUSDB_SOURCES))
    stems = load_sources(store, index[mixes[0]])  # stereo stems, mixed down to mono
    mix, _ = store.audio(mixes[0])
    assert stems.shape == (4, 8000)
    assert np.allclose(stems.sum(0), mix, atol=1e-5)  # Store.audio mixes stereo down
    assert store.value(mixes[0], "subset") in ("train", "test")


def test_stem_mp4_files_and_missing_stems_are_refused(tmp_path):
    (tmp_path / "mp4" / "train").mkdir(parents=True)
    (tmp_path / "mp4" / "train" / "a.stem.mp4").write_bytes(b"x")
    with pytest.raises(StoreError, match="musdbconvert"):
        musdb_to_store(tmp_path / "mp4", tmp_path / "out1")
    root = _tree(tmp_path / "broken", tracks=1)
    (root / "test" / "Artist - Song 0" / "bass.wav").unlink()
    with pytest.raises(StoreError, match="missing"):
        musdb_to_store(root, tmp_path / "out2")
