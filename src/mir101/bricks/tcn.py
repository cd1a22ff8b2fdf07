"""Temporal Convolutional Network: residual blocks of dilated causal convolutions with weight norm.

Paper: Bai, Kolter & Koltun, "An Empirical Evaluation of Generic Convolutional and Recurrent
Networks for Sequence Modeling", 2018, https://arxiv.org/abs/1803.01271

A TCN is a stack of :class:`TemporalBlock` whose dilation doubles at each level. Each block has
two causal convolutions (the output at time ``t`` only sees inputs up to ``t``), so the network
can be used for streaming or generation, and its receptive field grows exponentially with depth:
``1 + 2 * (kernel_size - 1) * (2**levels - 1)`` samples.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim
from mir101.bricks.causal import CausalConv1d
from mir101.errors import ParameterError

__all__ = ["TemporalBlock", "TCN"]


class TemporalBlock(Brick):
    """Two weight-normed dilated causal convolutions with ReLU and dropout, plus a residual path.

    ``y = relu(x' + dropout(relu(conv2(dropout(relu(conv1(x)))))))`` where ``x'`` is ``x`` or a
    1x1 convolution of ``x`` when the number of channels changes.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: taps of both convolutions.
        dilation: spacing between taps.
        dropout: dropout probability after each convolution.
        weight_norm: reparametrise both convolutions with weight normalisation.

    Shape:
        - input: ``(batch, in_channels, time)``
        - output: ``(batch, out_channels, time)``

    Examples:
        >>> TemporalBlock(in_channels=1, out_channels=8, dilation=2)(torch.zeros(2, 1, 50)).shape
        torch.Size([2, 8, 50])

    References:
        Bai et al., "An Empirical Evaluation of Generic Convolutional and Recurrent Networks for
        Sequence Modeling", 2018, https://arxiv.org/abs/1803.01271
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        out_channels: int = 32,
        kernel_size: int = 3,
        dilation: int = 1,
        dropout: float = 0.0,
        weight_norm: bool = True,
    ):
        super().__init__()
        conv = dict(kernel_size=kernel_size, dilation=dilation, weight_norm=weight_norm)
        self.net = nn.Sequential(
            CausalConv1d(in_channels=in_channels, out_channels=out_channels, **conv),
            nn.ReLU(),
            nn.Dropout(dropout),
            CausalConv1d(in_channels=out_channels, out_channels=out_channels, **conv),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.residual = (
            nn.Conv1d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()
        )

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, channels, time)", "TemporalBlock")
        return torch.relu(self.net(x) + self.residual(x))


class TCN(Brick):
    """A stack of :class:`TemporalBlock` with dilations ``1, 2, 4, ...``: one level per entry of ``channels``.

    Args:
        in_channels: input channels (1 for a waveform).
        channels: output channels of each level; the last is the output's.
        kernel_size: taps of every convolution.
        dropout: dropout probability inside the blocks.
        weight_norm: weight-normalise the convolutions.

    Shape:
        - input: ``(batch, in_channels, time)``
        - output: ``(batch, channels[-1], time)``

    Examples:
        >>> tcn = TCN(channels=(4, 8, 16, 32), kernel_size=2)
        >>> tcn(torch.zeros(2, 1, 100)).shape
        torch.Size([2, 32, 100])
        >>> tcn.receptive_field
        31

    References:
        Bai et al., "An Empirical Evaluation of Generic Convolutional and Recurrent Networks for
        Sequence Modeling", 2018, https://arxiv.org/abs/1803.01271
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        channels: tuple[int, ...] = (32, 32, 32, 32),
        kernel_size: int = 3,
        dropout: float = 0.0,
        weight_norm: bool = True,
    ):
        super().__init__()
        if len(channels) < 1:
            raise ParameterError(f"channels={channels!r} needs at least one level")
        self.kernel_size = kernel_size
        sizes = (in_channels, *channels)
        self.levels = nn.Sequential(
            *(
                TemporalBlock(
                    in_channels=sizes[i],
                    out_channels=sizes[i + 1],
                    kernel_size=kernel_size,
                    dilation=2**i,
                    dropout=dropout,
                    weight_norm=weight_norm,
                )
                for i in range(len(channels))
            )
        )

    @property
    def receptive_field(self) -> int:
        """Number of input samples one output sample depends on (two convolutions per level)."""
        return 1 + 2 * (self.kernel_size - 1) * (2 ** len(self.levels) - 1)

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, channels, time)", "TCN")
        return self.levels(x)
