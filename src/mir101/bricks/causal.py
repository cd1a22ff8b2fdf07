"""The causal convolution: a conv-1D whose output at time ``t`` sees only inputs up to ``t``.

Papers:
    - van den Oord et al., "WaveNet: A Generative Model for Raw Audio", 2016,
      https://arxiv.org/abs/1609.03499 (dilated causal convolutions)
    - Bai, Kolter & Koltun, "An Empirical Evaluation of Generic Convolutional and Recurrent
      Networks for Sequence Modeling", 2018, https://arxiv.org/abs/1803.01271 (TCN)
    - Salimans & Kingma, "Weight Normalization: A Simple Reparameterization to Accelerate Training
      of Deep Neural Networks", NeurIPS 2016, https://arxiv.org/abs/1602.07868

Padding on the left only makes a convolution causal: a generator or a streaming model can use
it, since no output waits for the future. Dilation (taps ``dilation`` samples apart) widens the
receptive field at no cost; doubling it at each layer, as WaveNet and TCN do, makes the receptive
field grow exponentially with depth.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim
from mir101.errors import ParameterError

__all__ = ["CausalConv1d"]


class CausalConv1d(Brick):
    """A conv-1D whose output at time ``t`` depends only on inputs at times ``<= t``.

    The input is padded on the left with ``(kernel_size - 1) * dilation`` zeros, so the output
    has as many frames as the input (for ``stride=1``) and never looks ahead.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: taps of the filter.
        dilation: spacing between taps (``2**layer`` in WaveNet and TCN).
        bias: add a learned bias.
        weight_norm: reparametrise the weight as ``g * v / ||v||`` (Salimans & Kingma 2016), as TCN does.

    Shape:
        - input: ``(batch, in_channels, time)``
        - output: ``(batch, out_channels, time)``

    Examples:
        >>> import torch
        >>> conv = CausalConv1d(in_channels=1, out_channels=8, kernel_size=3, dilation=4)
        >>> conv(torch.zeros(2, 1, 100)).shape
        torch.Size([2, 8, 100])

    References:
        van den Oord et al., "WaveNet: A Generative Model for Raw Audio", 2016,
        https://arxiv.org/abs/1609.03499
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        out_channels: int = 32,
        kernel_size: int = 2,
        dilation: int = 1,
        bias: bool = True,
        weight_norm: bool = False,
    ):
        super().__init__()
        if kernel_size < 1 or dilation < 1:
            raise ParameterError(f"kernel_size={kernel_size} and dilation={dilation} must be >= 1")
        self.left_padding = (kernel_size - 1) * dilation
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, dilation=dilation, bias=bias)
        if weight_norm:
            self.conv = nn.utils.parametrizations.weight_norm(self.conv)

    @property
    def receptive_field(self) -> int:
        """Number of input samples one output sample depends on."""
        return self.left_padding + 1

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, channels, time)", "CausalConv1d")
        return self.conv(F.pad(x, (self.left_padding, 0)))
