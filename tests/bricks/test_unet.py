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


@pytest.mark.parametrize("upsample", ["transpose", "interpolate"])
def test_skip_connections_carry_fine_detail(upsample):
    """The output has more degrees of freedom than the bottleneck: the Jacobian of the 16 x 16
    output with respect to the 16 x 16 input has a rank above the bottleneck's 8 channels x 4 x 4
    bins = 128, which only the full-resolution skip connections can give (measured: 256, and ~50
    with the skips zeroed)."""
    torch.manual_seed(0)
    net = UNet(in_channels=1, out_channels=1, channels=(4, 8, 8), norm=None, upsample=upsample).eval()
    x = torch.randn(16 * 16)
    jac = torch.autograd.functional.jacobian(lambda v: net(v.view(1, 1, 16, 16)).flatten(), x, vectorize=True)
    s = torch.linalg.svdvals(jac)
    assert (s > 1e-4 * s[0]).sum() > 8 * 4 * 4, s
    assert net.merge[0][0].in_channels == 2 * 4  # upsampled + skip


def test_bad_arguments():
    with pytest.raises(ParameterError, match="upsample"):
        UNet(upsample="pixelshuffle")
    with pytest.raises(ParameterError, match="level"):
        UNet(channels=())
