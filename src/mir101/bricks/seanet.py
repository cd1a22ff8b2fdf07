"""SEANet blocks: the residual units, strided down- and up-sampling blocks and LSTM of neural audio codecs.

Papers: Tagliasacchi et al., "SEANet: A Multi-modal Speech Enhancement Network", Interspeech
2020, https://arxiv.org/abs/2009.02095; its codec form in Zeghidour et al., "SoundStream: An
End-to-End Neural Audio Codec", IEEE/ACM TASLP 2021, https://arxiv.org/abs/2107.03312 (figure 3)
and Défossez et al., "High Fidelity Neural Audio Compression" (EnCodec), 2022,
https://arxiv.org/abs/2210.13438 (the residual units' 2x channel compression, the LSTM)

A SoundStream / EnCodec encoder is a 7-tap convolution followed by ``B`` blocks, each made of
residual units with dilations 1, 3, 9 (a receptive field that grows fast at full resolution)
and a strided convolution that divides the time axis by the block's stride and doubles the
channels; the strides' product is the *hop*: strides (2, 4, 5, 8) turn 16 kHz audio into 50 latent
frames per second. The decoder mirrors it with transposed convolutions. The layers of this file,
in a YAML layer list::

    - conv1d: {out_channels: 32, kernel_size: 7, padding: 3}
    - seanetencoderblock: {out_channels: 64, stride: 2}     # (batch, 64, samples / 2)
    - seanetencoderblock: {out_channels: 128, stride: 4}    # (batch, 128, samples / 8)
    - slstm: {}                                              # optional (EnCodec)

Padding is computed so that a block maps ``time`` frames to exactly ``time / stride`` (encoder)
or ``time * stride`` (decoder) when ``time`` is a multiple of the stride: a codec's output then
has its input's length. Convolutions are weight-normalised, as in both papers.

Book page: ``book/bottlenecks.md``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm

from mir101.bricks._base import Brick, check_ndim, make_activation
from mir101.errors import ParameterError

__all__ = ["SEANetResidualUnit", "SEANetEncoderBlock", "SEANetDecoderBlock", "SLSTM"]


def _conv(in_channels: int, out_channels: int, kernel_size: int, norm: bool, **kw: int) -> nn.Module:
    conv = nn.Conv1d(in_channels, out_channels, kernel_size, **kw)
    return weight_norm(conv) if norm else conv


def _check_stride(stride: int) -> None:
    if not isinstance(stride, int) or stride < 1:
        raise ParameterError(f"stride={stride!r} must be a positive integer")


class SEANetResidualUnit(Brick):
    """``x + conv1x1(act(conv_k,dilated(act(x))))`` at constant channels and length.

    Args:
        channels: input and output channels.
        kernel_size: odd extent of the dilated convolution.
        dilation: its dilation (1, 3, 9 in a block).
        compress: the hidden channels are ``channels // compress`` (EnCodec: 2).
        activation: a name of :data:`~mir101.bricks._base.ACTIVATIONS` (``"elu"`` in both papers).
        norm: weight-normalise the convolutions.

    Shape:
        - input: ``(batch, channels, time)``
        - output: ``(batch, channels, time)``

    Examples:
        >>> SEANetResidualUnit(channels=8, dilation=3)(torch.zeros(2, 8, 100)).shape
        torch.Size([2, 8, 100])

    References:
        Zeghidour et al., "SoundStream", https://arxiv.org/abs/2107.03312
    """

    def __init__(
        self,
        *,
        channels: int = 32,
        kernel_size: int = 3,
        dilation: int = 1,
        compress: int = 2,
        activation: str = "elu",
        norm: bool = True,
    ):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ParameterError(f"kernel_size={kernel_size} must be odd so the unit keeps the length")
        hidden = max(channels // compress, 1)
        self.block = nn.Sequential(
            make_activation(activation),
            _conv(
                channels,
                hidden,
                kernel_size,
                norm,
                dilation=dilation,
                padding=(kernel_size - 1) * dilation // 2,
            ),
            make_activation(activation),
            _conv(hidden, channels, 1, norm),
        )

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, channels, time)", type(self).__name__)
        return x + self.block(x)


class SEANetEncoderBlock(Brick):
    """Residual units at ``in_channels`` (dilations 1, 3, 9), then a strided convolution.

    The strided convolution has a kernel of ``2 * stride`` taps and ``stride`` samples of padding
    in all, so ``time`` frames become ``time / stride`` (``time`` a multiple of ``stride``).

    Args:
        in_channels: input channels.
        out_channels: output channels (usually ``2 * in_channels``).
        stride: the down-sampling factor.
        dilations: one residual unit per dilation.
        kernel_size: extent of the residual units' dilated convolutions.
        activation: see :class:`SEANetResidualUnit`.
        norm: weight-normalise the convolutions.

    Shape:
        - input: ``(batch, in_channels, time)``
        - output: ``(batch, out_channels, time // stride)``

    Examples:
        >>> SEANetEncoderBlock(in_channels=8, out_channels=16, stride=4)(torch.zeros(2, 8, 100)).shape
        torch.Size([2, 16, 25])

    References:
        Zeghidour et al., "SoundStream", https://arxiv.org/abs/2107.03312
    """

    def __init__(
        self,
        *,
        in_channels: int = 32,
        out_channels: int = 64,
        stride: int = 2,
        dilations: tuple[int, ...] = (1, 3, 9),
        kernel_size: int = 3,
        activation: str = "elu",
        norm: bool = True,
    ):
        super().__init__()
        _check_stride(stride)
        self.stride = stride
        self.units = nn.Sequential(
            *(
                SEANetResidualUnit(
                    channels=in_channels,
                    kernel_size=kernel_size,
                    dilation=d,
                    activation=activation,
                    norm=norm,
                )
                for d in dilations
            )
        )
        self.activation = make_activation(activation)
        self.down = _conv(in_channels, out_channels, 2 * stride, norm, stride=stride)

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, channels, time)", type(self).__name__)
        y = self.activation(self.units(x))
        left = self.stride - self.stride // 2  # kernel - stride = stride samples of padding in all
        return self.down(F.pad(y, (left, self.stride // 2)))


class SEANetDecoderBlock(Brick):
    """A transposed convolution that up-samples by ``stride``, then residual units at ``out_channels``.

    The transposed convolution has ``2 * stride`` taps; the ``stride`` extra output samples are
    trimmed, so ``time`` frames become exactly ``time * stride``.

    Args:
        in_channels: input channels.
        out_channels: output channels (usually ``in_channels // 2``).
        stride: the up-sampling factor.
        dilations, kernel_size, activation, norm: see :class:`SEANetEncoderBlock`.

    Shape:
        - input: ``(batch, in_channels, time)``
        - output: ``(batch, out_channels, time * stride)``

    Examples:
        >>> SEANetDecoderBlock(in_channels=16, out_channels=8, stride=4)(torch.zeros(2, 16, 25)).shape
        torch.Size([2, 8, 100])

    References:
        Zeghidour et al., "SoundStream", https://arxiv.org/abs/2107.03312
    """

    def __init__(
        self,
        *,
        in_channels: int = 64,
        out_channels: int = 32,
        stride: int = 2,
        dilations: tuple[int, ...] = (1, 3, 9),
        kernel_size: int = 3,
        activation: str = "elu",
        norm: bool = True,
    ):
        super().__init__()
        _check_stride(stride)
        self.stride = stride
        self.activation = make_activation(activation)
        up = nn.ConvTranspose1d(in_channels, out_channels, 2 * stride, stride=stride)
        self.up = weight_norm(up) if norm else up
        self.units = nn.Sequential(
            *(
                SEANetResidualUnit(
                    channels=out_channels,
                    kernel_size=kernel_size,
                    dilation=d,
                    activation=activation,
                    norm=norm,
                )
                for d in dilations
            )
        )

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, channels, time)", type(self).__name__)
        y = self.up(self.activation(x))  # (batch, out, time * stride + stride)
        left = self.stride - self.stride // 2
        return self.units(y[..., left : y.shape[-1] - self.stride // 2])


class SLSTM(Brick):
    """An LSTM over the time axis of ``(batch, channels, time)``, added to its input (EnCodec).

    Args:
        channels: input and output channels (the LSTM's input and hidden size).
        num_layers: stacked LSTM layers.
        skip: add the input to the LSTM's output.

    Shape:
        - input: ``(batch, channels, time)``
        - output: ``(batch, channels, time)``

    Examples:
        >>> SLSTM(channels=8)(torch.zeros(2, 8, 30)).shape
        torch.Size([2, 8, 30])

    References:
        Défossez et al., "High Fidelity Neural Audio Compression", 2022, https://arxiv.org/abs/2210.13438
    """

    def __init__(self, *, channels: int = 64, num_layers: int = 2, skip: bool = True):
        super().__init__()
        self.skip = skip
        self.lstm = nn.LSTM(channels, channels, num_layers, batch_first=True)

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, channels, time)", type(self).__name__)
        y, _ = self.lstm(x.transpose(1, 2))
        y = y.transpose(1, 2)
        return x + y if self.skip else y
