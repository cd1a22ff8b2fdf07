"""U-Net: output size equals input size for any size, skip connections, upsampling modes."""

from __future__ import annotations

import pytest
import torch

from mir101.bricks import UNet
from mir101.errors import ParameterError


@pytest.mark.parametrize("channels", [(4,), (4, 8), (4, 8, 8)])
@pytest.mark.parametrize("upsample", ["transpose", "interpolate"])
@pytest.mark.parametrize("size", [(16, 16), (15, 9), (7, 33)])
def test_output_size_equals_input_size(channels, upsample, size):
    net = UNet(in_channels=3, out_channels=2, channels=channels, upsample=upsample)
    assert net(torch.randn(2, 3, *size)).shape == (2, 2, *size)


def test_skip_connections_carry_fine_detail():
    # the finest skip reaches the head without pooling: a one-bin change moves the output there
    torch.manual_seed(0)
    net = UNet(in_channels=1, out_channels=1, channels=(4, 8, 8), norm=None).eval()
    x = torch.randn(1, 1, 16, 16, requires_grad=True)
    net(x)[0, 0, 5, 5].backward()
    assert x.grad[0, 0, 5, 5].abs() > 0
    assert net.merge[0][0].in_channels == 2 * 4  # upsampled + skip


def test_bad_arguments():
    with pytest.raises(ParameterError, match="upsample"):
        UNet(upsample="pixelshuffle")
    with pytest.raises(ParameterError, match="level"):
        UNet(channels=())
