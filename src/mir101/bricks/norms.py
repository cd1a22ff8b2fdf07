"""Normalisations: the 2-D bricks' ``norm=`` registry, a channel LayerNorm, a checked GroupNorm, a time-distributed BatchNorm.

Papers:
    - Ioffe & Szegedy, "Batch Normalization: Accelerating Deep Network Training by Reducing
      Internal Covariate Shift", ICML 2015, https://arxiv.org/abs/1502.03167
    - Ba, Kiros & Hinton, "Layer Normalization", 2016, https://arxiv.org/abs/1607.06450
      (over channels, "channels first": Liu et al., "A ConvNet for the 2020s", CVPR 2022,
      https://arxiv.org/abs/2201.03545)
    - Ulyanov, Vedaldi & Lempitsky, "Instance Normalization: The Missing Ingredient for Fast
      Stylization", 2016, https://arxiv.org/abs/1607.08022
    - Wu & He, "Group Normalization", ECCV 2018, https://arxiv.org/abs/1803.08494

A normalisation rescales features to zero mean and unit variance, then applies a learned scale
and shift. They differ in what the statistics are taken over, for a ``(batch, channels, freq,
time)`` tensor: batch norm over batch, freq and time (one mean per channel, estimated on the
batch, frozen at evaluation); layer norm over the channels at each time-frequency bin; instance
norm over freq and time, per item and channel; group norm over freq, time and a group of
channels, per item. The last three do not depend on the batch, so they behave the same in
training and evaluation and with a batch of one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim
from mir101.errors import ParameterError
from mir101.utils.registry import Registry

__all__ = [
    "ChannelNorm",
    "TimeDistributedBatchNorm",
    "group_norm",
    "default_groups",
    "NORMS",
    "make_norm",
]

#: the largest number of groups :func:`default_groups` picks (Wu & He use 32 groups on 64+ channels;
#: the tutorial's networks are narrower)
MAX_DEFAULT_GROUPS = 8


class ChannelNorm(Brick):
    """LayerNorm over the channel axis of a ``(batch, channels, ...)`` tensor, at every position.

    ``nn.LayerNorm`` normalises the *last* axes; convolutional features keep channels on axis 1.
    This is ConvNeXt's "LayerNorm, channels first".

    Args:
        num_channels: size of axis 1.
        eps: added to the variance.

    Shape:
        - input: ``(batch, channels, *)``
        - output: same as input

    Examples:
        >>> y = ChannelNorm(num_channels=8)(torch.randn(2, 8, 5, 7))
        >>> bool(y.mean(dim=1).abs().max() < 1e-5)
        True

    References:
        Ba, Kiros & Hinton, "Layer Normalization", 2016, https://arxiv.org/abs/1607.06450;
        Liu et al., "A ConvNet for the 2020s", CVPR 2022, https://arxiv.org/abs/2201.03545
    """

    def __init__(self, *, num_channels: int = 64, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(dim=1, keepdim=True)
        var = x.var(dim=1, keepdim=True, unbiased=False)
        x = (x - mean) / torch.sqrt(var + self.eps)
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return x * self.weight.view(shape) + self.bias.view(shape)


class TimeDistributedBatchNorm(Brick):
    """Batch normalisation of the features of every frame of a ``(batch, time, features)`` sequence.

    ``nn.BatchNorm1d`` expects features on axis 1; after a linear layer they are on the last
    axis. Statistics are over batch and time, as for a convolution.

    Args:
        num_features: size of the last axis.
        affine: learn a scale and a shift.

    Shape:
        - input: ``(batch, time, num_features)``
        - output: same as input

    Examples:
        >>> TimeDistributedBatchNorm(num_features=16)(torch.randn(4, 10, 16)).shape
        torch.Size([4, 10, 16])

    References:
        Ioffe & Szegedy, "Batch Normalization", ICML 2015, https://arxiv.org/abs/1502.03167
    """

    def __init__(self, *, num_features: int = 128, affine: bool = True):
        super().__init__()
        if num_features < 1:
            raise ParameterError(f"num_features={num_features} must be positive")
        self.norm = nn.BatchNorm1d(num_features, affine=affine)

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, time, features)", "TimeDistributedBatchNorm")
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


def default_groups(num_channels: int) -> int:
    """The largest divisor of ``num_channels`` that is at most 8: the groups of a default group norm.

    Examples:
        >>> [default_groups(c) for c in (4, 8, 12, 20, 64, 7)]
        [4, 8, 6, 5, 8, 7]
    """
    if num_channels < 1:
        raise ParameterError(f"num_channels={num_channels} must be a positive integer")
    return max(g for g in range(1, min(MAX_DEFAULT_GROUPS, num_channels) + 1) if num_channels % g == 0)


def group_norm(
    num_channels: int, *, num_groups: int | None = None, eps: float = 1e-5, affine: bool = True
) -> nn.GroupNorm:
    """A ``nn.GroupNorm`` whose group count is checked: it must divide the channels.

    Args:
        num_channels: size of axis 1.
        num_groups: groups of channels normalised together (1: layer norm over channels, freq and
            time; ``num_channels``: instance norm). ``None`` picks :func:`default_groups`, the
            largest divisor of ``num_channels`` that is at most 8.
        eps: added to the variance.
        affine: learn a scale and a shift per channel.

    Returns:
        ``nn.GroupNorm(num_groups, num_channels)``, for ``(batch, num_channels, *)`` tensors.

    Raises:
        ParameterError: ``num_groups`` does not divide ``num_channels`` (the message lists the
            divisors that would).

    Examples:
        >>> gn = group_norm(12)
        >>> gn.num_groups, gn.num_channels
        (6, 12)
        >>> group_norm(12, num_groups=8)
        Traceback (most recent call last):
        ...
        mir101.errors.ParameterError: num_groups=8 must divide num_channels=12 (a group norm splits the channels into equal groups); divisors of 12: [1, 2, 3, 4, 6, 12]

    References:
        Wu & He, "Group Normalization", ECCV 2018, https://arxiv.org/abs/1803.08494
    """
    if num_groups is None:
        num_groups = default_groups(num_channels)
    if num_channels < 1 or num_groups < 1 or num_channels % num_groups:
        divisors = [g for g in range(1, num_channels + 1) if num_channels % g == 0]
        raise ParameterError(
            f"num_groups={num_groups} must divide num_channels={num_channels} (a group norm splits the "
            f"channels into equal groups); divisors of {num_channels}: {divisors}"
        )
    return nn.GroupNorm(num_groups, num_channels, eps=eps, affine=affine)


#: Normalisations a 2-D brick accepts by name (``norm="batch"``), as factories ``(channels) -> module``
#: for ``(batch, channels, freq, time)`` tensors; ``norm=None`` is the identity (see :func:`make_norm`).
NORMS: Registry[Callable[[int], nn.Module]] = Registry("norm")
NORMS.add("batch", nn.BatchNorm2d)
NORMS.add("layer", lambda channels: ChannelNorm(num_channels=channels))
NORMS.add("instance", partial(nn.InstanceNorm2d, affine=True))
NORMS.add("group", group_norm)


def make_norm(norm: str | None, channels: int) -> nn.Module:
    """A normalisation of ``(batch, channels, freq, time)`` by name: one of :data:`NORMS`, or ``None``.

    Args:
        norm: ``"batch"``, ``"layer"`` (:class:`ChannelNorm`), ``"instance"``, ``"group"``
            (:func:`group_norm` with its default groups) or ``None`` (``nn.Identity``).
        channels: size of axis 1.

    Raises:
        UnknownNameError: ``norm`` is not in :data:`NORMS` (a ``ParameterError`` and a ``ConfigError``).

    Examples:
        >>> make_norm("group", 16).num_groups
        8
        >>> make_norm(None, 16)
        Identity()
    """
    if norm is None:
        return nn.Identity()
    return NORMS.get(norm)(channels)
