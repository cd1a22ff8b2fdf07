"""ResNet basic / bottleneck blocks, ConvNeXt, DropPath."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mir101.bricks import BottleneckBlock, ConvNeXtBlock, DropPath, ResidualBlock
from mir101.errors import ParameterError


@pytest.mark.parametrize("cls", [ResidualBlock, BottleneckBlock])
@pytest.mark.parametrize("in_channels,out_channels", [(8, 8), (4, 8)])
@pytest.mark.parametrize("stride", [1, 2, (2, 1)])
def test_resnet_block_shapes(cls, in_channels, out_channels, stride):
    block = cls(in_channels=in_channels, out_channels=out_channels, stride=stride)
    y = block(torch.randn(2, in_channels, 9, 8))
    sf, st = (stride, stride) if isinstance(stride, int) else stride
    assert y.shape == (2, out_channels, -(-9 // sf), -(-8 // st))
    identity = in_channels == out_channels and (sf, st) == (1, 1)
    assert isinstance(block.shortcut, nn.Identity) == identity


@pytest.mark.parametrize("cls", [ResidualBlock, BottleneckBlock])
def test_resnet_block_is_identity_plus_a_correction(cls):
    block = cls(in_channels=8, out_channels=8).eval()
    for m in block.residual.modules():  # zero the last BN scale: the branch outputs 0
        if isinstance(m, nn.BatchNorm2d):
            last = m
    nn.init.zeros_(last.weight)
    x = torch.randn(2, 8, 5, 6)
    torch.testing.assert_close(block(x), torch.relu(x))


def test_even_kernels_are_refused():
    with pytest.raises(ParameterError, match="odd"):
        ResidualBlock(kernel_size=4)


@pytest.mark.parametrize("kernel_size", [3, 7, (7, 3)])
@pytest.mark.parametrize("layer_scale", [0.0, 1e-6])
def test_convnext_keeps_shape_and_starts_near_identity(kernel_size, layer_scale):
    block = ConvNeXtBlock(channels=8, kernel_size=kernel_size, layer_scale=layer_scale)
    x = torch.randn(2, 8, 9, 10)
    y = block(x)
    assert y.shape == x.shape
    if layer_scale:
        assert (y - x).abs().max() < 1e-4


def test_convnext_has_fewer_parameters_than_two_plain_convs():
    block = ConvNeXtBlock(channels=64)
    plain = sum(p.numel() for p in nn.Conv2d(64, 64, 3).parameters()) * 2
    assert sum(p.numel() for p in block.parameters()) < 2 * plain


def test_drop_path_drops_whole_items_and_keeps_the_mean():
    torch.manual_seed(0)
    drop = DropPath(p=0.5).train()
    y = drop(torch.ones(4000, 3))
    assert set(y[:, 0].unique().tolist()) == {0.0, 2.0}
    assert (y == y[:, :1]).all()  # all-or-nothing per item
    assert y.mean().item() == pytest.approx(1.0, abs=0.05)
