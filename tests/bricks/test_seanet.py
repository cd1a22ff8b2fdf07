"""SEANet blocks: exact down/up-sampling lengths, residual units keep the shape, the LSTM skip."""

from __future__ import annotations

import pytest
import torch

from mir101.bricks.seanet import SLSTM, SEANetDecoderBlock, SEANetEncoderBlock, SEANetResidualUnit
from mir101.errors import ParameterError, ShapeError


@pytest.mark.parametrize("stride", [1, 2, 3, 4, 5, 8])
def test_blocks_divide_and_multiply_the_length_exactly(stride):
    x = torch.randn(2, 4, 40 * stride)
    down = SEANetEncoderBlock(in_channels=4, out_channels=8, stride=stride)
    up = SEANetDecoderBlock(in_channels=8, out_channels=4, stride=stride)
    y = down(x)
    assert y.shape == (2, 8, 40)
    assert up(y).shape == x.shape


def test_a_residual_unit_starts_near_the_identity_path_and_keeps_the_shape():
    unit = SEANetResidualUnit(channels=6, kernel_size=5, dilation=9)
    x = torch.randn(1, 6, 50)
    assert unit(x).shape == x.shape
    torch.nn.init.zeros_(unit.block[-1].parametrizations.weight.original0)  # the last conv at zero
    torch.nn.init.zeros_(unit.block[-1].bias)
    torch.testing.assert_close(unit(x), x)


@pytest.mark.parametrize("norm", [True, False])
def test_get_config_rebuilds_and_gradients_flow(norm):
    for brick, shape in [
        (SEANetResidualUnit(channels=4, norm=norm), (2, 4, 12)),
        (
            SEANetEncoderBlock(in_channels=4, out_channels=6, stride=3, dilations=(1, 2), norm=norm),
            (2, 4, 12),
        ),
        (SEANetDecoderBlock(in_channels=4, out_channels=2, stride=2, norm=norm), (2, 4, 12)),
        (SLSTM(channels=4, num_layers=1), (2, 4, 12)),
    ]:
        clone = type(brick)(**brick.get_config())
        clone.load_state_dict(brick.state_dict())
        x = torch.randn(*shape, requires_grad=True)
        torch.testing.assert_close(clone(x), brick(x))
        brick(x).pow(2).sum().backward()
        assert x.grad.abs().sum() > 0


def test_slstm_adds_its_input():
    lstm = SLSTM(channels=3, num_layers=1)
    x = torch.randn(1, 3, 7)
    y, _ = lstm.lstm(x.transpose(1, 2))
    torch.testing.assert_close(lstm(x), x + y.transpose(1, 2))
    assert not SLSTM(channels=3, skip=False).get_config()["skip"]


def test_errors():
    with pytest.raises(ParameterError, match="stride=0"):
        SEANetEncoderBlock(stride=0)
    with pytest.raises(ParameterError, match="kernel_size=4"):
        SEANetResidualUnit(kernel_size=4)
    with pytest.raises(ShapeError, match=r"\(batch, channels, time\)"):
        SEANetResidualUnit(channels=4)(torch.randn(4, 10))
