"""Projections: the conv-2D block, the depthwise-separable convolution, the MLP and a channel LayerNorm.

Paper (depthwise-separable): Chollet, "Xception: Deep Learning with Depthwise Separable
Convolutions", CVPR 2017, https://arxiv.org/abs/1610.02357

A conv-2D on a ``(batch, channels, freq, time)`` time-frequency patch is the workhorse of the
tutorial's networks (deep salience, tagging, chords, covers). Its cost is
``in * out * kf * kt`` weights. A depthwise-separable convolution splits it in two: one
``kf x kt`` filter per input channel (depthwise), then a 1x1 mix of the channels (pointwise), for
``in * kf * kt + in * out`` weights, about ``kf * kt`` times fewer when ``out`` is large.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim, make_activation, pair
from mir101.errors import ParameterError

__all__ = ["ConvBlock2d", "DepthwiseSeparableConv2d", "MLP", "ChannelNorm", "make_norm2d", "NORMS_2D"]

#: normalisations a 2-D brick accepts by name (``norm="batch"``)
NORMS_2D = ("batch", "layer", "instance", "group")


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


def make_norm2d(norm: str | None, channels: int) -> nn.Module:
    """A normalisation of ``(batch, channels, freq, time)`` by name: one of :data:`NORMS_2D` or ``None``."""
    if norm is None:
        return nn.Identity()
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "layer":
        return ChannelNorm(num_channels=channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if norm == "group":
        return nn.GroupNorm(min(8, channels), channels)
    raise ParameterError(f"norm={norm!r} must be one of {NORMS_2D} or None")


class ConvBlock2d(Brick):
    """Conv-2D, normalisation, activation, then optional max-pooling and dropout.

    Args:
        in_channels: input channels (e.g. the harmonics of an HCQT).
        out_channels: output channels.
        kernel_size: ``(freq, time)`` extent of the filters, or one int for both.
        stride: ``(freq, time)`` step, or one int.
        padding: ``"same"`` (stride 1 only), ``"valid"``, or explicit ints.
        norm: one of ``"batch"``, ``"layer"`` (over channels), ``"instance"``, ``"group"``, or ``None``.
        activation: an activation name (``"relu"``, ``"gelu"``, ...) or ``None``.
        pool: ``(freq, time)`` max-pooling factors after the activation, or ``None``.
        dropout: dropout probability at the end.

    Shape:
        - input: ``(batch, in_channels, freq, time)``
        - output: ``(batch, out_channels, freq', time')``; ``freq' = freq``, ``time' = time`` with
          ``"same"`` padding and no pooling

    Examples:
        >>> block = ConvBlock2d(in_channels=6, out_channels=16, kernel_size=(5, 5), pool=(2, 1))
        >>> block(torch.zeros(2, 6, 72, 20)).shape
        torch.Size([2, 16, 36, 20])
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        out_channels: int = 64,
        kernel_size: int | tuple[int, int] = (3, 3),
        stride: int | tuple[int, int] = 1,
        padding: str | int | tuple[int, int] = "same",
        norm: str | None = "batch",
        activation: str | None = "relu",
        pool: tuple[int, int] | None = None,
        dropout: float = 0.0,
    ):
        super().__init__()
        layers = [
            nn.Conv2d(
                in_channels,
                out_channels,
                pair(kernel_size, "kernel_size"),
                stride=stride,
                padding=padding,
                bias=norm is None,
            ),
            make_norm2d(norm, out_channels),
            make_activation(activation),
        ]
        if pool is not None:
            layers.append(nn.MaxPool2d(pair(pool, "pool")))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        self.block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 4, "(batch, channels, freq, time)", "ConvBlock2d")
        return self.block(x)


class DepthwiseSeparableConv2d(Brick):
    """A depthwise conv (one filter per channel) followed by a pointwise 1x1 conv that mixes channels.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: ``(freq, time)`` extent of the depthwise filters, or one int.
        stride: step of the depthwise convolution.
        padding: ``"same"`` (stride 1 only), ``"valid"`` or explicit ints.
        depth_multiplier: depthwise filters per input channel.
        bias: add a bias to both convolutions.

    Shape:
        - input: ``(batch, in_channels, freq, time)``
        - output: ``(batch, out_channels, freq', time')`` (``freq' = freq``, ``time' = time`` with ``"same"``)

    Examples:
        >>> ds = DepthwiseSeparableConv2d(in_channels=64, out_channels=64, kernel_size=5)
        >>> sum(p.numel() for p in ds.parameters()) < sum(p.numel() for p in nn.Conv2d(64, 64, 5).parameters())
        True

    References:
        Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017,
        https://arxiv.org/abs/1610.02357
    """

    def __init__(
        self,
        *,
        in_channels: int = 64,
        out_channels: int = 64,
        kernel_size: int | tuple[int, int] = (3, 3),
        stride: int | tuple[int, int] = 1,
        padding: str | int | tuple[int, int] = "same",
        depth_multiplier: int = 1,
        bias: bool = True,
    ):
        super().__init__()
        mid = in_channels * depth_multiplier
        self.depthwise = nn.Conv2d(
            in_channels,
            mid,
            pair(kernel_size, "kernel_size"),
            stride=stride,
            padding=padding,
            groups=in_channels,
            bias=bias,
        )
        self.pointwise = nn.Conv2d(mid, out_channels, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 4, "(batch, channels, freq, time)", "DepthwiseSeparableConv2d")
        return self.pointwise(self.depthwise(x))


class MLP(Brick):
    """Linear layers with activations in between, applied to the last axis (a multi-layer perceptron).

    Args:
        in_features: size of the last axis of the input.
        hidden_features: sizes of the hidden layers (empty: a single linear layer).
        out_features: size of the output's last axis.
        activation: activation between layers (none after the last).
        dropout: dropout probability after each hidden activation.

    Shape:
        - input: ``(batch, *, in_features)``
        - output: ``(batch, *, out_features)``

    Examples:
        >>> MLP(in_features=32, hidden_features=(64,), out_features=10)(torch.zeros(4, 100, 32)).shape
        torch.Size([4, 100, 10])
    """

    def __init__(
        self,
        *,
        in_features: int = 128,
        hidden_features: tuple[int, ...] = (128,),
        out_features: int = 128,
        activation: str | None = "relu",
        dropout: float = 0.0,
    ):
        super().__init__()
        sizes = (in_features, *hidden_features, out_features)
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:
                layers += [make_activation(activation), nn.Dropout(dropout)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)
