"""U-Net: a conv-2D encoder-decoder whose decoder concatenates the encoder's features at each resolution.

Paper: Ronneberger, Fischer & Brox, "U-Net: Convolutional Networks for Biomedical Image
Segmentation", MICCAI 2015, https://arxiv.org/abs/1505.04597 (for music: Jansson et al.,
"Singing Voice Separation with Deep U-Net Convolutional Networks", ISMIR 2017; Doras et al.,
"On the use of U-Net for dominant melody estimation in polyphonic music", 2019)

The encoder halves freq and time at each level while widening the channels; the decoder
upsamples back, and at each level concatenates the encoder's features of the same resolution
(the skip connections), so fine detail lost by pooling comes back. The output has the size of
the input: one value per time-frequency bin (a salience map, a separation mask).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim, make_activation
from mir101.bricks.norms import make_norm
from mir101.errors import ParameterError
from mir101.utils.registry import Registry

__all__ = ["UNet", "UPSAMPLING"]


def _double_conv(c_in: int, c_out: int, kernel_size: int, norm: str | None, activation: str) -> nn.Sequential:
    pad = kernel_size // 2
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size, padding=pad, bias=norm is None),
        make_norm(norm, c_out),
        make_activation(activation),
        nn.Conv2d(c_out, c_out, kernel_size, padding=pad, bias=norm is None),
        make_norm(norm, c_out),
        make_activation(activation),
    )


def _transpose(c_in: int, c_out: int) -> nn.Module:
    """A learned 2x2 transposed convolution of stride 2."""
    return nn.ConvTranspose2d(c_in, c_out, 2, stride=2)


def _interpolate(c_in: int, c_out: int) -> nn.Module:
    """Nearest-neighbour upsampling, then a 1x1 convolution (free of checkerboard artefacts)."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 1))


#: How :class:`UNet` doubles freq and time while mapping ``c_in`` to ``c_out`` channels, by name
#: (``upsample="interpolate"``): factories ``(c_in, c_out) -> module``.
UPSAMPLING: Registry[Callable[[int, int], nn.Module]] = Registry("upsample")
UPSAMPLING.add("transpose", _transpose)
UPSAMPLING.add("interpolate", _interpolate)


class _Up(nn.Module):
    """Double freq and time, mapping ``c_in`` to ``c_out`` channels, by a method of :data:`UPSAMPLING`."""

    def __init__(self, c_in: int, c_out: int, mode: str):
        super().__init__()
        self.up = UPSAMPLING.get(mode)(c_in, c_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.up(x)


class UNet(Brick):
    """A 2-D U-Net of ``len(channels)`` resolutions; the output has the input's freq and time.

    Inputs whose freq or time is not a multiple of ``2 ** (len(channels) - 1)`` are padded with
    zeros and the output is cropped back.

    Args:
        in_channels: input channels (e.g. HCQT harmonics).
        out_channels: output channels (e.g. 1 salience map, or one mask per source).
        channels: width of each level, from the finest to the bottleneck.
        kernel_size: odd kernel of the two convolutions of each level.
        upsample: a name of :data:`UPSAMPLING`: ``"transpose"`` (learned 2x2 transposed conv) or
            ``"interpolate"`` (nearest-neighbour then 1x1 conv, free of checkerboard artefacts).
        norm: ``"batch"``, ``"layer"``, ``"instance"``, ``"group"`` or ``None``.
        activation: activation inside the levels.

    Shape:
        - input: ``(batch, in_channels, freq, time)``
        - output: ``(batch, out_channels, freq, time)``

    Examples:
        >>> net = UNet(in_channels=6, out_channels=1, channels=(8, 16, 32))
        >>> net(torch.zeros(2, 6, 75, 50)).shape
        torch.Size([2, 1, 75, 50])

    References:
        Ronneberger et al., "U-Net: Convolutional Networks for Biomedical Image Segmentation",
        MICCAI 2015, https://arxiv.org/abs/1505.04597
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        out_channels: int = 1,
        channels: tuple[int, ...] = (16, 32, 64, 128),
        kernel_size: int = 3,
        upsample: str = "transpose",
        norm: str | None = "batch",
        activation: str = "relu",
    ):
        super().__init__()
        if len(channels) < 1:
            raise ParameterError(f"channels={channels!r} needs at least one level")
        UPSAMPLING.get(upsample)  # an unknown name fails here, with the valid ones
        if kernel_size % 2 == 0:
            raise ParameterError(f"kernel_size={kernel_size} must be odd")
        conv = dict(kernel_size=kernel_size, norm=norm, activation=activation)
        widths = (in_channels, *channels)
        self.down = nn.ModuleList(
            _double_conv(widths[i], widths[i + 1], **conv) for i in range(len(channels))
        )
        self.up = nn.ModuleList(_Up(channels[i + 1], channels[i], upsample) for i in range(len(channels) - 1))
        self.merge = nn.ModuleList(
            _double_conv(2 * channels[i], channels[i], **conv) for i in range(len(channels) - 1)
        )
        self.head = nn.Conv2d(channels[0], out_channels, 1)
        self.factor = 2 ** (len(channels) - 1)

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 4, "(batch, channels, freq, time)", "UNet")
        n_freq, n_time = x.shape[-2:]
        x = F.pad(x, (0, -n_time % self.factor, 0, -n_freq % self.factor))
        skips = []
        for i, level in enumerate(self.down):
            x = level(x)
            if i < len(self.down) - 1:
                skips.append(x)
                x = F.max_pool2d(x, 2)
        for up, merge in zip(reversed(self.up), reversed(self.merge)):
            x = merge(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)[..., :n_freq, :n_time]
