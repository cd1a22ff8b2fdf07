"""FiLM: per-channel scale and shift from a condition, on any layout."""

from __future__ import annotations

import pytest
import torch

from mir101.bricks import FiLM
from mir101.errors import ShapeError


@pytest.mark.parametrize("shape,dim", [((2, 6, 5, 4), 1), ((2, 6, 9), 1), ((2, 9, 6), -1), ((2, 6), 1)])
def test_shapes_and_per_channel_affine(shape, dim):
    film = FiLM(num_features=6, cond_dim=3, dim=dim)
    x, c = torch.randn(*shape), torch.randn(2, 3)
    y = film(x, c)
    assert y.shape == x.shape
    d_gamma, beta = film.to_gamma_beta(c).chunk(2, dim=-1)
    view = [2] + [1] * (x.dim() - 1)
    view[dim] = 6
    torch.testing.assert_close(y, (1 + d_gamma.view(view)) * x + beta.view(view))


def test_different_conditions_give_different_outputs_and_gradients_reach_both():
    film = FiLM(num_features=4, cond_dim=2)
    x = torch.randn(1, 4, 7, requires_grad=True)
    c = torch.randn(1, 2, requires_grad=True)
    y = film(x, c)
    assert not torch.allclose(y, film(x, c + 1))
    y.pow(2).sum().backward()
    assert x.grad.abs().sum() > 0 and c.grad.abs().sum() > 0


def test_get_config_rebuilds():
    film = FiLM(num_features=4, cond_dim=2, dim=-1)
    assert FiLM(**film.get_config()).get_config() == {"num_features": 4, "cond_dim": 2, "dim": -1}


def test_shape_errors():
    film = FiLM(num_features=4, cond_dim=2)
    with pytest.raises(ShapeError, match="num_features=4"):
        film(torch.randn(1, 5, 7), torch.randn(1, 2))
    with pytest.raises(ShapeError, match="condition"):
        film(torch.randn(1, 4, 7), torch.randn(2, 2))
