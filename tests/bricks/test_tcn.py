"""TCN: shapes, causality, receptive field, residual path."""

from __future__ import annotations

import pytest
import torch

from mir101.bricks import TCN, TemporalBlock


@pytest.mark.parametrize("in_channels,out_channels", [(1, 4), (4, 4)])
@pytest.mark.parametrize("dilation", [1, 4])
def test_temporal_block_shape_and_residual(in_channels, out_channels, dilation):
    block = TemporalBlock(in_channels=in_channels, out_channels=out_channels, dilation=dilation)
    assert block(torch.randn(2, in_channels, 30)).shape == (2, out_channels, 30)
    assert isinstance(block.residual, torch.nn.Conv1d) == (in_channels != out_channels)


@pytest.mark.parametrize("channels", [(4,), (4, 8), (2, 4, 8, 8)])
@pytest.mark.parametrize("kernel_size", [2, 3])
def test_tcn_does_not_see_the_future(channels, kernel_size):
    torch.manual_seed(0)
    tcn = TCN(in_channels=2, channels=channels, kernel_size=kernel_size).eval()
    x = torch.randn(1, 2, 60)
    y = tcn(x)
    assert y.shape == (1, channels[-1], 60)
    for t in (0, 17, 40):
        x2 = x.clone()
        x2[..., t + 1 :] += torch.randn_like(x2[..., t + 1 :])
        torch.testing.assert_close(tcn(x2)[..., : t + 1], y[..., : t + 1])


@pytest.mark.parametrize("levels,kernel_size", [(1, 2), (3, 2), (3, 3)])
def test_tcn_receptive_field(levels, kernel_size):
    torch.manual_seed(0)
    tcn = TCN(in_channels=1, channels=(8,) * levels, kernel_size=kernel_size)
    x = torch.randn(8, 1, 80, requires_grad=True)  # 8 items: some ReLUs are active
    tcn(x)[:, :, 70].sum().backward()
    seen = x.grad.abs().sum(dim=(0, 1)).nonzero().flatten()
    assert seen.max() == 70
    assert 70 - seen.min() + 1 == tcn.receptive_field
    assert tcn.receptive_field == 1 + 2 * (kernel_size - 1) * (2**levels - 1)
