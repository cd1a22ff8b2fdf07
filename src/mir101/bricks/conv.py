"""Conv-2D projections: the conv-norm-activation-pool block and the depthwise-separable convolution.

Paper (depthwise-separable): Chollet, "Xception: Deep Learning with Depthwise Separable
Convolutions", CVPR 2017, https://arxiv.org/abs/1610.02357

A conv-2D on a ``(batch, channels, freq, time)`` time-frequency patch is the workhorse of the
tutorial's networks (deep salience, tagging, chords, covers). Its cost is
``in * out * kf * kt`` weights. A depthwise-separable convolution splits it in two: one
``kf x kt`` filter per input channel (depthwise), then a 1x1 mix of the channels (pointwise), for
``in * kf * kt + in * out`` weights, about ``kf * kt`` times fewer when ``out`` is large.
"""

from __future__ import annotations

from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim, make_activation, pair
from mir101.bricks.norms import make_norm

__all__ = ["ConvBlock2d", "DepthwiseSeparableConv2d"]


class ConvBlock2d(Brick):
    """Conv-2D, normalisation, activation, then optional max-pooling and dropout.

    Args:
        in_channels: input channels (e.g. the harmonics of an HCQT).
        out_channels: output channels.
        kernel_size: ``(freq, time)`` extent of the filters, or one int for both.
        stride: ``(freq, time)`` step, or one int.
        padding: ``"same"`` (stride 1 only), ``"valid"``, or explicit ints.
        norm: a name of :data:`~mir101.bricks.norms.NORMS` (``"batch"``, ``"layer"`` over channels,
            ``"instance"``, ``"group"``) or ``None``.
        activation: an activation name (``"relu"``, ``"gelu"``, ...) or ``None``.
        pool: ``(freq, time)`` max-pooling factors after the activation, or ``None``.
        dropout: dropout probability at the end.

    Shape:
        - input: ``(batch, in_channels, freq, time)``
        - output: ``(batch, out_channels, freq', time')``; ``freq' = freq``, ``time' = time`` with
          ``"same"`` padding and no pooling

    Examples:
        >>> import torch
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
            make_norm(norm, out_channels),
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
