"""Pooling over time: AutoPool interpolates mean..max, attention weights sum to one, MOVE's split."""

from __future__ import annotations

import pytest
import torch

from mir101.bricks import (
    AttentionPool,
    AutoPool,
    GlobalMaxPool,
    GlobalMeanPool,
    SplitAttentionPool,
)
from mir101.errors import ShapeError


@pytest.mark.parametrize("cls", [GlobalMeanPool, GlobalMaxPool, AutoPool, SplitAttentionPool])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape", [(2, 8, 10), (2, 8, 1, 10)])
def test_pools_reduce_time(cls, keepdim, shape):
    y = cls(keepdim=keepdim)(torch.randn(*shape))
    channels = 4 if cls is SplitAttentionPool else 8
    expected = (2, channels, *shape[2:-1]) + ((1,) if keepdim else ())
    assert y.shape == expected


def test_attention_pool_shapes_and_weights():
    pool = AttentionPool(channels=4)
    assert pool(torch.randn(2, 4, 3, 10)).shape == (2, 4, 3)
    x = torch.randn(2, 4, 10)
    y = pool(x)
    assert (y <= x.amax(-1) + 1e-6).all() and (y >= x.amin(-1) - 1e-6).all()  # a convex combination
    with torch.no_grad():  # no score: the plain mean
        pool.score.weight.zero_()
    torch.testing.assert_close(pool(x), x.mean(-1))


@pytest.mark.parametrize("channels", [None, 6])
def test_autopool_alpha_zero_is_the_mean(channels):
    x = torch.randn(3, 6, 20)
    torch.testing.assert_close(AutoPool(channels=channels, alpha=0.0)(x), x.mean(-1))


@pytest.mark.parametrize("channels", [None, 6])
def test_autopool_large_alpha_approaches_max_and_negative_the_min(channels):
    x = torch.stack([torch.randperm(20) * 0.1 for _ in range(18)]).view(3, 6, 20)  # values >= 0.1 apart
    torch.testing.assert_close(AutoPool(channels=channels, alpha=200.0)(x), x.amax(-1), atol=1e-3, rtol=0)
    torch.testing.assert_close(AutoPool(channels=channels, alpha=-200.0)(x), x.amin(-1), atol=1e-3, rtol=0)


def test_autopool_is_monotonic_in_alpha():
    x = torch.randn(3, 6, 20)
    values = torch.stack([AutoPool(alpha=a)(x) for a in (0.0, 0.5, 1.0, 2.0, 8.0)])
    assert (values.diff(dim=0) >= -1e-6).all()


def test_autopool_learns_alpha_per_channel():
    """Fitting the max on channels 0-2 and the min on 3-5: every SGD step lowers the loss, and
    each channel's alpha goes its own way (positive towards the max, negative towards the min)."""
    torch.manual_seed(0)
    x = torch.randn(4, 6, 20)
    target = torch.cat([x[:, :3].amax(-1), x[:, 3:].amin(-1)], 1)
    pool = AutoPool(channels=6)
    opt = torch.optim.SGD(pool.parameters(), lr=1.0)
    losses = []
    for _ in range(20):
        loss = (pool(x) - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(b < a for a, b in zip(losses, losses[1:])) and losses[-1] < 0.1 * losses[0], losses
    assert pool.alpha.shape == (6,) and (pool.alpha[:3] > 1).all() and (pool.alpha[3:] < -1).all(), pool.alpha
    with pytest.raises(ShapeError, match="channels=6"):
        pool(torch.randn(3, 5, 20))


def test_split_attention_uses_one_half_as_weights_of_the_other():
    values = torch.randn(2, 4, 10)
    scores = torch.full((2, 4, 10), -1e4)
    scores[..., 3] = 0.0  # all attention on frame 3
    y = SplitAttentionPool(alpha=1.0)(torch.cat([values, scores], dim=1))
    torch.testing.assert_close(y, values[..., 3])
    with pytest.raises(ShapeError, match="even"):
        SplitAttentionPool()(torch.randn(2, 5, 10))


def test_split_attention_alpha_can_be_fixed():
    pool = SplitAttentionPool(learn_alpha=False)
    assert not list(pool.parameters()) and "alpha" in dict(pool.named_buffers())
