"""Waveform front-ends: a strided conv-1D filterbank, the sample-level CNN, and WaveNet's dilated causal stack.

Papers:
    - Dieleman & Schrauwen, "End-to-end learning for music audio", ICASSP 2014,
      https://doi.org/10.1109/ICASSP.2014.6854950
    - Lee, Park, Kim & Nam, "Sample-level Deep Convolutional Neural Networks for Music
      Auto-tagging Using Raw Waveforms", SMC 2017, https://arxiv.org/abs/1703.01789
    - van den Oord et al., "WaveNet: A Generative Model for Raw Audio", 2016,
      https://arxiv.org/abs/1609.03499

A front-end is the first layer that sees the signal. On a waveform, a convolution whose kernel
spans a frame and whose stride is the hop learns its own filterbank in place of the STFT
(:class:`WaveformConv`); many tiny kernels with pooling build that filterbank hierarchically
(:class:`SampleCNN`); dilated causal convolutions (:class:`~mir101.bricks.causal.CausalConv1d`)
grow the receptive field exponentially with depth without ever looking at the future (:class:`WaveNet`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim, make_activation
from mir101.bricks.causal import CausalConv1d
from mir101.errors import ParameterError

__all__ = ["WaveformConv", "SampleCNN", "WaveNet"]


class WaveformConv(Brick):
    """A learned filterbank: one conv-1D whose kernel is a frame and whose stride is the hop.

    Args:
        in_channels: audio channels (1 for mono).
        out_channels: number of learned filters (the "frequency" axis of the result).
        kernel_size: frame length in samples.
        stride: hop length in samples.
        norm: apply batch normalisation after the convolution.
        activation: ``"relu"`` or any name of ``mir101.bricks.ACTIVATIONS``; ``None`` for none.

    Shape:
        - input: ``(batch, in_channels, samples)``
        - output: ``(batch, out_channels, frames)``, ``frames = (samples - kernel_size) // stride + 1``

    Examples:
        >>> WaveformConv(out_channels=32, kernel_size=256, stride=256)(torch.zeros(2, 1, 2560)).shape
        torch.Size([2, 32, 10])

    References:
        Dieleman & Schrauwen, "End-to-end learning for music audio", ICASSP 2014.
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        out_channels: int = 64,
        kernel_size: int = 256,
        stride: int = 256,
        norm: bool = True,
        activation: str | None = "relu",
    ):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride, bias=not norm)
        self.norm = nn.BatchNorm1d(out_channels) if norm else nn.Identity()
        self.activation = make_activation(activation)

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, channels, samples)", "WaveformConv")
        return self.activation(self.norm(self.conv(x)))


class SampleCNN(Brick):
    """Sample-level CNN: a strided conv of 3 samples, then blocks of conv-3 + BN + ReLU + max-pool 3.

    Each block divides the time resolution by ``pool``, so ``n`` blocks see ``3 * pool**n`` samples
    per output frame: the network builds its filterbank from sample-level kernels.

    Args:
        in_channels: audio channels.
        channels: output channels of the strided stem followed by one entry per block.
        kernel_size: kernel of every block's convolution (odd, "same" padding).
        pool: max-pooling factor of every block (and stride of the stem).

    Shape:
        - input: ``(batch, in_channels, samples)``
        - output: ``(batch, channels[-1], samples // pool ** len(channels))``

    Examples:
        >>> net = SampleCNN(channels=(16, 16, 32))
        >>> net(torch.zeros(2, 1, 729)).shape
        torch.Size([2, 32, 27])

    References:
        Lee et al., "Sample-level Deep Convolutional Neural Networks for Music Auto-tagging
        Using Raw Waveforms", SMC 2017, https://arxiv.org/abs/1703.01789
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        channels: tuple[int, ...] = (64, 64, 64, 128, 128),
        kernel_size: int = 3,
        pool: int = 3,
    ):
        super().__init__()
        if len(channels) < 1:
            raise ParameterError(f"channels={channels!r} needs at least one entry (the stem)")
        if kernel_size % 2 == 0:
            raise ParameterError(f"kernel_size={kernel_size} must be odd ('same' padding)")
        stem = nn.Sequential(
            nn.Conv1d(in_channels, channels[0], pool, stride=pool), nn.BatchNorm1d(channels[0]), nn.ReLU()
        )
        blocks = [
            nn.Sequential(
                nn.Conv1d(c_in, c_out, kernel_size, padding=kernel_size // 2),
                nn.BatchNorm1d(c_out),
                nn.ReLU(),
                nn.MaxPool1d(pool),
            )
            for c_in, c_out in zip(channels[:-1], channels[1:])
        ]
        self.layers = nn.Sequential(stem, *blocks)

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, channels, samples)", "SampleCNN")
        return self.layers(x)


class _WaveNetLayer(nn.Module):
    """One gated residual layer of WaveNet: ``z = tanh(W_f * x) . sigmoid(W_g * x)``."""

    def __init__(self, channels: int, skip_channels: int, kernel_size: int, dilation: int, causal: bool):
        super().__init__()
        if causal:
            self.conv: nn.Module = CausalConv1d(
                in_channels=channels, out_channels=2 * channels, kernel_size=kernel_size, dilation=dilation
            )
        else:  # centred: sees (kernel_size - 1) * dilation / 2 frames on each side
            if kernel_size % 2 == 0:
                raise ParameterError(f"kernel_size={kernel_size} must be odd when causal=False")
            pad = (kernel_size - 1) * dilation // 2
            self.conv = nn.Conv1d(channels, 2 * channels, kernel_size, dilation=dilation, padding=pad)
        self.residual = nn.Conv1d(channels, channels, 1)
        self.skip = nn.Conv1d(channels, skip_channels, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        filt, gate = self.conv(x).chunk(2, dim=1)
        z = torch.tanh(filt) * torch.sigmoid(gate)
        return x + self.residual(z), self.skip(z)


class WaveNet(Brick):
    """WaveNet's stack of dilated, gated, residual convolutions; returns the summed skip connections.

    Layer ``i`` of each stack has dilation ``2**i``, so ``n_layers`` layers of ``kernel_size=2``
    see ``2**n_layers`` samples: the receptive field doubles with each layer at a constant cost.

    Args:
        in_channels: input channels (1 for a waveform).
        channels: residual channels inside the stack.
        skip_channels: channels of the skip connections that are summed.
        out_channels: channels of the output head (``relu -> 1x1 -> relu -> 1x1``).
        kernel_size: taps of each dilated convolution.
        n_layers: layers per stack (dilations ``1, 2, ..., 2**(n_layers - 1)``).
        n_stacks: how many times the dilation cycle repeats.
        causal: pad on the left only (generation); ``False`` centres the kernels (analysis).

    Shape:
        - input: ``(batch, in_channels, time)``
        - output: ``(batch, out_channels, time)``

    Examples:
        >>> net = WaveNet(channels=16, skip_channels=16, out_channels=8, n_layers=4)
        >>> net(torch.zeros(2, 1, 100)).shape
        torch.Size([2, 8, 100])
        >>> net.receptive_field
        16

    References:
        van den Oord et al., "WaveNet: A Generative Model for Raw Audio", 2016,
        https://arxiv.org/abs/1609.03499
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        channels: int = 32,
        skip_channels: int = 32,
        out_channels: int = 32,
        kernel_size: int = 2,
        n_layers: int = 8,
        n_stacks: int = 1,
        causal: bool = True,
    ):
        super().__init__()
        if n_layers < 1 or n_stacks < 1:
            raise ParameterError(f"n_layers={n_layers} and n_stacks={n_stacks} must be >= 1")
        self.dilations = [2**i for _ in range(n_stacks) for i in range(n_layers)]
        self.kernel_size = kernel_size
        self.input = nn.Conv1d(in_channels, channels, 1)
        self.layers = nn.ModuleList(
            _WaveNetLayer(channels, skip_channels, kernel_size, d, causal) for d in self.dilations
        )
        self.head = nn.Sequential(
            nn.ReLU(),
            nn.Conv1d(skip_channels, out_channels, 1),
            nn.ReLU(),
            nn.Conv1d(out_channels, out_channels, 1),
        )

    @property
    def receptive_field(self) -> int:
        """Number of input samples one output sample depends on."""
        return (self.kernel_size - 1) * sum(self.dilations) + 1

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, channels, time)", "WaveNet")
        x = self.input(x)
        skips = 0
        for layer in self.layers:
            x, skip = layer(x)
            skips = skips + skip
        return self.head(skips)
