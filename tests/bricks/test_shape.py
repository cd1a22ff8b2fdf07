"""Shape helpers."""

from __future__ import annotations

import pytest
import torch

from mir101.bricks import Flatten, Permute, RepeatChannels, Reshape, Squeeze, Transpose, Unsqueeze
from mir101.errors import ParameterError, ShapeError


@pytest.mark.parametrize("dim,shape,expected", [(2, (4, 3, 1, 7), (4, 3, 7)), ((2, 3), (4, 3, 1, 1), (4, 3))])
def test_squeeze(dim, shape, expected):
    assert Squeeze(dim=dim)(torch.zeros(shape)).shape == expected


def test_squeeze_refuses_an_axis_that_is_not_1():
    with pytest.raises(ShapeError, match="size 1 on axis 2"):
        Squeeze(dim=2)(torch.zeros(4, 3, 5, 7))


def test_unsqueeze_then_squeeze_round_trip():
    x = torch.randn(2, 3, 4)
    torch.testing.assert_close(Squeeze(dim=2)(Unsqueeze(dim=2)(x)), x)


def test_permute_and_transpose_agree():
    x = torch.randn(2, 3, 4)
    torch.testing.assert_close(Permute(dims=(0, 2, 1))(x), Transpose(dim0=1, dim1=2)(x))
    with pytest.raises(ShapeError, match="3 axes"):
        Permute(dims=(0, 2, 1))(torch.zeros(2, 3, 4, 5))
    with pytest.raises(ParameterError, match="batch"):
        Permute(dims=(1, 0, 2))
    with pytest.raises(ParameterError, match="batch"):
        Transpose(dim0=0, dim1=1)


def test_flatten_and_reshape_round_trip():
    x = torch.randn(2, 3, 4, 5)
    flat = Flatten()(x)
    assert flat.shape == (2, 60)
    torch.testing.assert_close(Reshape(shape=(3, 4, 5))(flat), x)
    with pytest.raises(ParameterError, match="batch"):
        Flatten(start_dim=0)
    with pytest.raises(ShapeError, match="cannot reshape"):
        Reshape(shape=(7,))(x)


def test_repeat_channels():
    x = torch.randn(2, 3, 4)
    y = RepeatChannels(repeats=2)(x)
    assert y.shape == (2, 6, 4)
    torch.testing.assert_close(y[:, 3:], x)
