"""The causal convolution: it never sees the future, its receptive field, weight norm."""

from __future__ import annotations

import pytest
import torch

from mir101.bricks import CausalConv1d
from mir101.errors import ParameterError


@pytest.mark.parametrize("kernel_size,dilation", [(2, 1), (3, 2), (5, 4)])
def test_causal_conv_does_not_see_the_future(kernel_size, dilation):
    torch.manual_seed(0)
    conv = CausalConv1d(in_channels=2, out_channels=3, kernel_size=kernel_size, dilation=dilation)
    x = torch.randn(1, 2, 40)
    y = conv(x)
    assert y.shape == (1, 3, 40)
    for t in (0, 10, 25):
        x2 = x.clone()
        x2[..., t + 1 :] = torch.randn_like(x2[..., t + 1 :])
        y2 = conv(x2)
        torch.testing.assert_close(y2[..., : t + 1], y[..., : t + 1])
        assert not torch.allclose(y2[..., t + 1 :], y[..., t + 1 :])


@pytest.mark.parametrize("kernel_size,dilation", [(2, 1), (3, 2), (5, 4)])
def test_causal_conv_receptive_field(kernel_size, dilation):
    conv = CausalConv1d(in_channels=1, out_channels=1, kernel_size=kernel_size, dilation=dilation, bias=False)
    torch.nn.init.constant_(conv.conv.weight, 1.0)
    x = torch.zeros(1, 1, 50, requires_grad=True)
    conv(x)[0, 0, 40].backward()
    seen = x.grad[0, 0].nonzero().flatten()
    assert (
        seen.max() == 40 and 40 - seen.min() + 1 == conv.receptive_field == (kernel_size - 1) * dilation + 1
    )


def test_weight_norm_is_a_parametrisation():
    conv = CausalConv1d(in_channels=1, out_channels=2, kernel_size=3, weight_norm=True)
    names = {n for n, _ in conv.named_parameters()}
    assert any("original0" in n for n in names) and any("original1" in n for n in names)


def test_bad_arguments():
    with pytest.raises(ParameterError, match="dilation=0"):
        CausalConv1d(kernel_size=2, dilation=0)
