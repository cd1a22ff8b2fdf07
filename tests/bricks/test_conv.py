"""Conv-2D projections: the conv block (every norm, pooling, padding) and the depthwise-separable conv."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mir101.bricks import ConvBlock2d, DepthwiseSeparableConv2d


@pytest.mark.parametrize("kernel_size", [3, (5, 3), (7, 1)])
@pytest.mark.parametrize("norm", ["batch", "layer", "instance", "group", None])
@pytest.mark.parametrize("pool", [None, (2, 1), (2, 2)])
def test_conv_block_shapes(kernel_size, norm, pool):
    y = ConvBlock2d(in_channels=3, out_channels=8, kernel_size=kernel_size, norm=norm, pool=pool)(
        torch.randn(2, 3, 12, 10)
    )
    pf, pt = pool or (1, 1)
    assert y.shape == (2, 8, 12 // pf, 10 // pt)


def test_conv_block_valid_padding_and_stride():
    y = ConvBlock2d(in_channels=1, out_channels=4, kernel_size=(5, 1), stride=(3, 1), padding=0)(
        torch.randn(2, 1, 72, 9)
    )
    assert y.shape == (2, 4, (72 - 5) // 3 + 1, 9)


@pytest.mark.parametrize("kernel_size", [3, (5, 5), (7, 3)])
@pytest.mark.parametrize("depth_multiplier", [1, 2])
def test_depthwise_separable_shape_and_cost(kernel_size, depth_multiplier):
    ds = DepthwiseSeparableConv2d(
        in_channels=16, out_channels=32, kernel_size=kernel_size, depth_multiplier=depth_multiplier
    )
    plain = nn.Conv2d(16, 32, kernel_size, padding="same")
    x = torch.randn(2, 16, 10, 9)
    assert ds(x).shape == plain(x).shape == (2, 32, 10, 9)
    n_ds, n_plain = (sum(p.numel() for p in m.parameters()) for m in (ds, plain))
    assert n_ds < n_plain
    kf, kt = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    mid = 16 * depth_multiplier
    assert n_ds == mid * kf * kt + mid + mid * 32 + 32


def test_depthwise_filters_see_one_channel_each():
    ds = DepthwiseSeparableConv2d(in_channels=4, out_channels=4, kernel_size=3)
    x = torch.zeros(1, 4, 6, 6)
    x[:, 2] = torch.randn(6, 6)
    y = ds.depthwise(x)
    assert torch.count_nonzero(y[:, [0, 1, 3]] - ds.depthwise.bias[[0, 1, 3]].view(1, 3, 1, 1)) == 0
