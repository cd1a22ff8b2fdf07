"""Pooling over time: mean, max, attention weighting, AutoPool, MOVE's split-channel attention.

Papers:
    - McFee, Salamon & Bello, "Adaptive Pooling Operators for Weakly Labeled Sound Event
      Detection", IEEE/ACM TASLP 2018, https://arxiv.org/abs/1804.10070 (AutoPool)
    - Yesiler, Serrà & Gómez, "Accurate and Scalable Version Identification Using Musically-
      Motivated Embeddings", ICASSP 2020, https://arxiv.org/abs/1910.12551 (MOVE)

A tagging or cover network produces features for every frame but must output one vector per
patch: pooling summarises the time axis. The mean treats all frames alike, the max keeps the
strongest; attention learns which frames matter. AutoPool interpolates between the three with
one learned parameter ``alpha``: weights ``softmax(alpha * x)`` over time give the mean at
``alpha = 0``, a soft attention at ``alpha = 1`` and the max as ``alpha -> inf``.

Every pool reduces the axis ``dim`` (the last, time, by default) and keeps the others.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim
from mir101.errors import ShapeError

__all__ = [
    "GlobalMeanPool",
    "GlobalMaxPool",
    "AttentionPool",
    "AutoPool",
    "SplitAttentionPool",
]


class GlobalMeanPool(Brick):
    """The mean over one axis (by default the last: time).

    Args:
        dim: the axis to reduce, batch included.
        keepdim: keep the reduced axis with size 1.

    Shape:
        - input: ``(batch, channels, time)`` (or any layout)
        - output: ``(batch, channels)``

    Examples:
        >>> GlobalMeanPool()(torch.ones(2, 8, 100)).shape
        torch.Size([2, 8])
    """

    def __init__(self, *, dim: int = -1, keepdim: bool = False):
        super().__init__()
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x: Tensor) -> Tensor:
        return x.mean(dim=self.dim, keepdim=self.keepdim)


class GlobalMaxPool(Brick):
    """The maximum over one axis (by default the last: time).

    Args:
        dim: the axis to reduce, batch included.
        keepdim: keep the reduced axis with size 1.

    Shape:
        - input: ``(batch, channels, time)`` (or any layout)
        - output: ``(batch, channels)``

    Examples:
        >>> GlobalMaxPool(dim=1)(torch.ones(2, 100, 8)).shape
        torch.Size([2, 8])
    """

    def __init__(self, *, dim: int = -1, keepdim: bool = False):
        super().__init__()
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x: Tensor) -> Tensor:
        return x.amax(dim=self.dim, keepdim=self.keepdim)


def _weighted_sum(x: Tensor, scores: Tensor, dim: int, keepdim: bool) -> Tensor:
    """``sum_t softmax(scores)_t * x_t`` over ``dim``."""
    return (x * torch.softmax(scores, dim=dim)).sum(dim=dim, keepdim=keepdim)


class AttentionPool(Brick):
    """A weighted mean over time whose weights are a softmax of a learned score of each frame.

    The score of frame ``t`` is ``w . x[:, :, t] + b`` (one linear map of the channels, shared by
    all frames), so the network learns which frames to listen to.

    Args:
        channels: size of axis 1 (the features scored).
        dim: the axis to reduce (time).
        keepdim: keep the reduced axis with size 1.

    Shape:
        - input: ``(batch, channels, time)`` or ``(batch, channels, freq, time)``
        - output: ``(batch, channels)`` or ``(batch, channels, freq)``

    Examples:
        >>> AttentionPool(channels=8)(torch.randn(2, 8, 100)).shape
        torch.Size([2, 8])
    """

    def __init__(self, *, channels: int = 128, dim: int = -1, keepdim: bool = False):
        super().__init__()
        self.dim, self.keepdim = dim, keepdim
        self.score = nn.Linear(channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        scores = self.score(x.movedim(1, -1)).movedim(-1, 1)  # (batch, 1, ...)
        return _weighted_sum(x, scores, self.dim, self.keepdim)


class AutoPool(Brick):
    """Adaptive pooling: weights ``softmax(alpha * x)`` over time, with ``alpha`` learned.

    ``alpha = 0`` gives the mean, ``alpha = 1`` a softmax attention of each value on itself, and
    ``alpha -> inf`` the max; ``alpha < 0`` tends to the min.

    Args:
        channels: with an int, one ``alpha`` per channel (axis 1, e.g. one per tag, as in the
            paper); ``None`` shares one ``alpha``.
        alpha: initial value of ``alpha``.
        dim: the axis to reduce (time).
        keepdim: keep the reduced axis with size 1.

    Shape:
        - input: ``(batch, channels, time)`` or ``(batch, channels, freq, time)``
        - output: ``(batch, channels)`` or ``(batch, channels, freq)``

    Examples:
        >>> x = torch.randn(2, 8, 100)
        >>> bool(torch.allclose(AutoPool(alpha=0.0)(x), x.mean(-1), atol=1e-6))
        True

    References:
        McFee, Salamon & Bello, "Adaptive Pooling Operators for Weakly Labeled Sound Event
        Detection", TASLP 2018, https://arxiv.org/abs/1804.10070
    """

    def __init__(
        self, *, channels: int | None = None, alpha: float = 0.0, dim: int = -1, keepdim: bool = False
    ):
        super().__init__()
        self.dim, self.keepdim = dim, keepdim
        self.alpha = nn.Parameter(torch.full((channels,) if channels else (), float(alpha)))

    def forward(self, x: Tensor) -> Tensor:
        alpha = self.alpha
        if alpha.dim() == 1:
            if x.dim() < 2 or x.shape[1] != alpha.shape[0]:
                raise ShapeError(f"AutoPool(channels={alpha.shape[0]}) got shape {tuple(x.shape)}")
            alpha = alpha.view((1, -1) + (1,) * (x.dim() - 2))
        return _weighted_sum(x, alpha * x, self.dim, self.keepdim)


class SplitAttentionPool(Brick):
    """MOVE's pooling: half of the channels are values, the other half their attention scores over time.

    The input's ``2C`` channels are split: the first ``C`` are pooled with weights
    ``softmax(alpha * scores)`` over time computed from the last ``C``. The network thus decides,
    channel by channel, which frames to keep. ``alpha`` (a temperature) is learned, as in AutoPool.

    Args:
        alpha: initial value of the score scale.
        learn_alpha: learn ``alpha`` (``False`` keeps it fixed: a plain softmax attention at 1).
        dim: the axis to reduce (time).
        keepdim: keep the reduced axis with size 1.

    Shape:
        - input: ``(batch, 2 * C, time)`` or ``(batch, 2 * C, freq, time)``
        - output: ``(batch, C)`` or ``(batch, C, freq)``

    Examples:
        >>> SplitAttentionPool()(torch.randn(2, 16, 1, 100)).shape
        torch.Size([2, 8, 1])

    References:
        Yesiler, Serrà & Gómez, "Accurate and Scalable Version Identification Using
        Musically-Motivated Embeddings", ICASSP 2020, https://arxiv.org/abs/1910.12551
    """

    def __init__(self, *, alpha: float = 1.0, learn_alpha: bool = True, dim: int = -1, keepdim: bool = False):
        super().__init__()
        self.dim, self.keepdim = dim, keepdim
        alpha_t = torch.tensor(float(alpha))
        if learn_alpha:
            self.alpha = nn.Parameter(alpha_t)
        else:
            self.register_buffer("alpha", alpha_t)

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, (3, 4), "(batch, 2 * channels, [freq,] time)", "SplitAttentionPool")
        if x.shape[1] % 2:
            raise ShapeError(
                f"SplitAttentionPool needs an even number of channels, got shape {tuple(x.shape)}"
            )
        values, scores = x.chunk(2, dim=1)
        return _weighted_sum(values, self.alpha * scores, self.dim, self.keepdim)
