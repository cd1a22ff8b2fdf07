"""Conv-2D block, depthwise-separable conv, MLP, channel LayerNorm."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mir101.bricks import MLP, ChannelNorm, ConvBlock2d, DepthwiseSeparableConv2d
from mir101.errors import ParameterError


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


def test_unknown_norm_lists_the_choices():
    with pytest.raises(ParameterError, match="batch"):
        ConvBlock2d(norm="batchnorm")


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


@pytest.mark.parametrize("hidden", [(), (8,), (8, 8)])
def test_mlp_acts_on_the_last_axis(hidden):
    mlp = MLP(in_features=5, hidden_features=hidden, out_features=3)
    assert mlp(torch.randn(2, 7, 5)).shape == (2, 7, 3)
    assert sum(isinstance(m, nn.Linear) for m in mlp.modules()) == len(hidden) + 1


def test_channel_norm_normalises_each_position_over_channels():
    x = 3 + 2 * torch.randn(2, 8, 5, 4)
    y = ChannelNorm(num_channels=8)(x)
    torch.testing.assert_close(y.mean(1), torch.zeros(2, 5, 4), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(1, unbiased=False), torch.ones(2, 5, 4), atol=1e-3, rtol=0)
    ref = nn.functional.layer_norm(x.permute(0, 2, 3, 1), (8,), eps=1e-6).permute(0, 3, 1, 2)
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=1e-5)
