"""Feature-domain augmentation: shifts move the target with the features; the other changes keep
the target and stay within their definitions."""

from __future__ import annotations

import numpy as np
import pytest

from mir101.data.augment import FeatureAugment, shift_bins
from mir101.errors import ParameterError


def patch(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((3, 40, 8)).astype(np.float32)
    y = np.zeros((40, 8), np.float32)
    y[[10, 17, 25], :] = 1.0
    x[:, [10, 17, 25], :] += 2.0  # the active bins are the loud ones
    return x, y


def test_shift_bins_translates_and_fills_with_zeros():
    x = np.arange(5.0)
    assert shift_bins(x, 2, axis=0).tolist() == [0, 0, 0, 1, 2]
    assert shift_bins(x, -1, axis=0).tolist() == [1, 2, 3, 4, 0]
    assert not shift_bins(x, 9, axis=0).any()


def test_a_pitch_shift_moves_the_target_with_the_features():
    np.random.seed(3)  # noqa: NPY002 - FeatureAugment draws from the global generator (reseeded per epoch)
    x, y = patch()
    for _ in range(20):
        ax, ay = FeatureAugment(max_shift_bins=4)(x, y)
        rows = np.flatnonzero(ay[:, 0])
        k = int(rows[0]) - 10
        assert rows.tolist() == [10 + k, 17 + k, 25 + k] and abs(k) <= 4
        assert np.array_equal(ax, shift_bins(x, k, axis=-2))


def test_envelope_gain_and_harmonics_keep_the_target_and_nonnegativity():
    np.random.seed(0)  # noqa: NPY002 - FeatureAugment draws from the global generator (reseeded per epoch)
    x, y = patch()
    ax, ay = FeatureAugment(envelope=0.5, gain=0.5, harmonics=0.5)(x, y)
    assert ay is y and ax.shape == x.shape and ax.dtype == np.float32
    assert ax.min() >= 0 and not np.array_equal(ax, x)


def test_harmonics_offsets_each_channel_by_one_constant():
    np.random.seed(1)  # noqa: NPY002 - FeatureAugment draws from the global generator (reseeded per epoch)
    x = np.full((4, 30, 6), 5.0, np.float32)  # far from zero: no clipping
    ax, _ = FeatureAugment(harmonics=0.3)(x + np.linspace(0, 1, 30)[None, :, None], None)
    diff = ax - (x + np.linspace(0, 1, 30)[None, :, None])
    per_channel = diff.reshape(4, -1)
    assert np.allclose(per_channel, per_channel[:, :1], atol=1e-5)  # constant within a channel
    assert len(np.unique(np.round(per_channel[:, 0], 5))) == 4  # different across channels


def test_p_zero_is_the_identity():
    x, y = patch()
    ax, ay = FeatureAugment(max_shift_bins=3, envelope=1.0, gain=1.0, harmonics=1.0, p=0.0)(x, y)
    assert ax is x and ay is y


@pytest.mark.parametrize(
    "kwargs", [{"max_shift_bins": -1}, {"envelope": -0.1}, {"gain": -1.0}, {"harmonics": -0.2}, {"p": 1.5}]
)
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(ParameterError, match="non-negative"):
        FeatureAugment(**kwargs)
