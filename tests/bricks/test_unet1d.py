"""The 1-D U-Net of the flow: shapes, config rebuild, conditions and time change the output, gradients."""

from __future__ import annotations

import pytest
import torch

from mir101.bricks.unet1d import TimeEmbedding, UNet1d
from mir101.errors import ShapeError


@pytest.mark.parametrize("frames", [25, 32, 7])
def test_shape_and_rebuild(frames):
    torch.manual_seed(0)
    net = UNet1d(in_channels=4, channels=(8, 16, 16), n_classes=(10, 3), emb_dim=16)
    torch.nn.init.normal_(net.head[-1].weight)  # the head starts at zero velocity
    x, t, c = torch.randn(2, 4, frames), torch.rand(2), torch.tensor([[1, 2], [10, 3]])
    y = net(x, t, c)
    assert y.shape == x.shape
    clone = UNet1d(**net.get_config())
    clone.load_state_dict(net.state_dict())
    torch.testing.assert_close(clone(x, t, c), y)
    assert not torch.allclose(net(x, t, c[[1, 0]]), y)  # conditions matter
    assert not torch.allclose(net(x, 1 - t, c), y)  # time matters
    x.requires_grad_(True)
    net(x, t, c).square().sum().backward()
    assert x.grad.abs().sum() > 0


def test_fresh_model_predicts_zero_velocity_and_checks_shapes():
    net = UNet1d(in_channels=2, channels=(8,), n_classes=(4,), emb_dim=8)
    assert net(torch.randn(1, 2, 5), torch.rand(1), torch.tensor([[0]])).abs().max() == 0
    assert net.null_conditions(3).tolist() == [[4], [4], [4]]
    assert TimeEmbedding(dim=8)(torch.rand(5)).shape == (5, 8)
    with pytest.raises(ShapeError, match=r"conditions must be \(batch, 1\)"):
        net(torch.randn(1, 2, 5), torch.rand(1), torch.tensor([[0, 1]]))
    with pytest.raises(ShapeError, match="UNet1d expects"):
        net(torch.randn(2, 5), torch.rand(1), torch.tensor([[0]]))
