"""Waveform front-ends: shapes, WaveNet's causality and receptive field."""

from __future__ import annotations

import pytest
import torch

from mir101.bricks import SampleCNN, WaveformConv, WaveNet
from mir101.errors import ParameterError


@pytest.mark.parametrize("kernel_size,stride", [(16, 16), (32, 8), (5, 1)])
@pytest.mark.parametrize("norm", [True, False])
def test_waveform_conv_frames(kernel_size, stride, norm):
    y = WaveformConv(out_channels=6, kernel_size=kernel_size, stride=stride, norm=norm)(
        torch.randn(2, 1, 300)
    )
    assert y.shape == (2, 6, (300 - kernel_size) // stride + 1)


@pytest.mark.parametrize("channels", [(4,), (4, 8), (4, 4, 8, 8)])
@pytest.mark.parametrize("pool", [2, 3])
def test_samplecnn_divides_time_by_pool_per_block(channels, pool):
    n = pool ** (len(channels) + 1)
    y = SampleCNN(channels=channels, pool=pool)(torch.randn(2, 1, n))
    assert y.shape == (2, channels[-1], pool)


@pytest.mark.parametrize("n_layers,n_stacks", [(1, 1), (3, 1), (2, 2)])
def test_wavenet_is_causal_with_its_receptive_field(n_layers, n_stacks):
    torch.manual_seed(0)
    net = WaveNet(channels=8, skip_channels=8, out_channels=4, n_layers=n_layers, n_stacks=n_stacks)
    x = torch.randn(8, 1, 64, requires_grad=True)  # 8 items: some ReLUs are active
    y = net(x)
    assert y.shape == (8, 4, 64)
    y[:, :, 50].sum().backward()
    seen = x.grad.abs().sum(dim=(0, 1)).nonzero().flatten()
    assert seen.max() == 50  # nothing after t = 50
    assert 50 - seen.min() + 1 == net.receptive_field == sum(2**i for i in range(n_layers)) * n_stacks + 1


def test_non_causal_wavenet_sees_both_sides():
    torch.manual_seed(0)
    net = WaveNet(channels=8, skip_channels=8, out_channels=4, n_layers=2, kernel_size=3, causal=False)
    x = torch.randn(8, 1, 40, requires_grad=True)
    net(x)[:, :, 20].sum().backward()
    seen = x.grad.abs().sum(dim=(0, 1)).nonzero().flatten()
    assert seen.min() == 20 - 3 and seen.max() == 20 + 3


def test_wavenet_rejects_even_centred_kernels():
    with pytest.raises(ParameterError, match="odd"):
        WaveNet(kernel_size=2, causal=False)
