import numpy as np
import pytest

from mir101.data.datasets import ItemDataset, PatchDataset, patch_starts
from mir101.data.splits import load_split, save_split, split_groups
from mir101.errors import ParameterError


def test_split_by_group_never_by_item():
    groups = {f"k{i}": f"w{i // 3}" for i in range(30)}
    split = split_groups(groups, valid=0.2, test=0.2, seed=3)
    seen = {}
    for name, keys in split.items():
        for k in keys:
            assert seen.setdefault(groups[k], name) == name  # a work never spans two splits
    assert sum(len(v) for v in split.values()) == 30
    assert split == split_groups(groups, valid=0.2, test=0.2, seed=3)
    assert split != split_groups(groups, valid=0.2, test=0.2, seed=4)


def test_split_roundtrip(tmp_path):
    split = split_groups({"a": 1, "b": 2, "c": 3}, 0.3, 0.3)
    save_split(split, tmp_path / "split.json")
    assert load_split(tmp_path / "split.json") == split


def test_split_rejects_bad_fractions():
    with pytest.raises(ParameterError, match="sum is below 1"):
        split_groups({"a": 1}, 0.6, 0.5)


def test_patches_cover_every_frame_and_pad_short_items():
    feats = {
        "long": np.arange(2 * 3 * 10, dtype=np.float32).reshape(2, 3, 10),
        "short": np.ones((2, 3, 2), np.float32),
    }
    ds = PatchDataset(
        ["long", "short"],
        features=feats.__getitem__,
        targets=lambda k: np.ones((4, feats[k].shape[-1])),
        n_frames=lambda k: feats[k].shape[-1],
        patch_frames=4,
        hop_frames=4,
    )
    assert [s for k, s in ds.index if k == "long"] == [0, 4, 6] == patch_starts(10, 4, 4)
    x, y = ds[len(ds) - 1]
    assert x.shape == (2, 3, 4) and y.shape == (4, 4)
    assert y[:, 2:].sum() == 0 and x[..., 2:].sum() == 0  # zero padding, target too
    item = ItemDataset(["long"], feats.__getitem__)[0]
    assert item[0].shape == (2, 3, 10) and item[2] == "long"
