"""The multi-scale STFT discriminator of EnCodec: 2-D convolutions on complex spectrograms at several resolutions.

Paper: Défossez, Copet, Synnaeve & Adi, "High Fidelity Neural Audio Compression" (EnCodec),
2022, https://arxiv.org/abs/2210.13438 (section 3.4, figure 4)

A GAN-trained codec has a second network that tells real audio from decoded audio; its
judgement, and the distance between its inner activations on both (feature matching), train the
decoder to produce detail a reconstruction loss averages away. EnCodec's discriminator reads the
complex STFT (real and imaginary parts as two channels, so phase is judged too) at several
window sizes, each through a small 2-D convolution stack: a ``(3, 9)`` kernel (time, freq),
three layers that halve the frequency axis with time dilations 1, 2, 4, and a ``(3, 3)``
convolution to one logit per (frame, bin). The losses are in :mod:`mir101.losses.adversarial`;
the training paradigm is :class:`~mir101.paradigms.adversarial.Adversarial`.

Book page: ``book/bottlenecks.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from mir101.bricks._base import Brick
from mir101.bricks.results import BrickOutput
from mir101.errors import ParameterError, ShapeError

__all__ = ["STFTDiscriminator", "MultiScaleSTFTDiscriminator", "DiscriminatorOutput"]


@dataclass
class DiscriminatorOutput(BrickOutput):
    """What a discriminator returns.

    Args:
        output: every logit of every scale, flattened and concatenated: ``(batch, n)``.
        logits: one logit map per scale, ``(batch, 1, frames, bins)``.
        features: the activations of every layer of every scale, in order (feature matching).
    """

    logits: list[Tensor] = field(default_factory=list)
    features: list[Tensor] = field(default_factory=list)


def _waveform(x: Tensor, who: str) -> Tensor:
    if x.dim() == 3 and x.shape[1] == 1:
        return x[:, 0]
    if x.dim() == 2:
        return x
    raise ShapeError(
        f"{who} expects audio (batch, samples) or (batch, 1, samples), got shape {tuple(x.shape)}"
    )


class STFTDiscriminator(Brick):
    """One scale: complex STFT ``(batch, 2, frames, bins)`` -> 2-D conv stack -> logit map.

    Args:
        n_fft: window and FFT size (hop ``n_fft // 4``).
        filters: channels of the convolutions.
        dilations: time dilations of the frequency-halving layers.

    Shape:
        - input: ``(batch, 1, samples)`` or ``(batch, samples)``
        - output: :class:`DiscriminatorOutput` with ``logits[0]`` ``(batch, 1, frames, bins')``

    Examples:
        >>> d = STFTDiscriminator(n_fft=256, filters=8)
        >>> r = d(torch.randn(2, 1, 4000))
        >>> r.logits[0].shape, len(r.features)
        (torch.Size([2, 1, 63, 17]), 5)

    References:
        Défossez et al., "High Fidelity Neural Audio Compression", 2022, https://arxiv.org/abs/2210.13438
    """

    def __init__(self, *, n_fft: int = 1024, filters: int = 32, dilations: tuple[int, ...] = (1, 2, 4)):
        super().__init__()
        if n_fft < 16:
            raise ParameterError(f"n_fft={n_fft} must be at least 16")
        self.n_fft, self.hop_length = n_fft, n_fft // 4
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        layers = [nn.Conv2d(2, filters, (3, 9), padding=(1, 4))]
        for d in dilations:
            layers.append(nn.Conv2d(filters, filters, (3, 9), stride=(1, 2), dilation=(d, 1), padding=(d, 4)))
        layers.append(nn.Conv2d(filters, filters, (3, 3), padding=(1, 1)))
        self.convs = nn.ModuleList(nn.utils.parametrizations.weight_norm(c) for c in layers)
        self.activation = nn.LeakyReLU(0.2)
        self.post = nn.utils.parametrizations.weight_norm(nn.Conv2d(filters, 1, (3, 3), padding=(1, 1)))

    def spectrogram(self, x: Tensor) -> Tensor:
        """``(batch, [1,] samples) -> (batch, 2, frames, bins)``: real and imaginary parts."""
        spec = torch.stft(
            _waveform(x, type(self).__name__),
            self.n_fft,
            self.hop_length,
            window=self.window,
            normalized=True,
            return_complex=True,
        )  # (batch, bins, frames)
        return torch.stack([spec.real, spec.imag], dim=1).transpose(2, 3)

    def forward(self, x: Tensor) -> DiscriminatorOutput:
        y = self.spectrogram(x)
        features = []
        for conv in self.convs:
            y = self.activation(conv(y))
            features.append(y)
        logits = self.post(y)
        return DiscriminatorOutput(logits.flatten(1), logits=[logits], features=features)


class MultiScaleSTFTDiscriminator(Brick):
    """One :class:`STFTDiscriminator` per FFT size; their logits and features are concatenated.

    Args:
        fft_sizes: the window sizes (EnCodec at 24 kHz: 2048, 1024, 512, 256, 128).
        filters: channels of every scale's convolutions.

    Shape:
        - input: ``(batch, 1, samples)`` or ``(batch, samples)``
        - output: :class:`DiscriminatorOutput` (one logit map per scale)

    Examples:
        >>> d = MultiScaleSTFTDiscriminator(fft_sizes=(512, 256), filters=8)
        >>> r = d(torch.randn(2, 1, 4000))
        >>> len(r.logits), len(r.features), r.output.shape[0]
        (2, 10, 2)

    References:
        Défossez et al., "High Fidelity Neural Audio Compression", 2022, https://arxiv.org/abs/2210.13438
    """

    def __init__(self, *, fft_sizes: tuple[int, ...] = (1024, 512, 256), filters: int = 32):
        super().__init__()
        if not fft_sizes:
            raise ParameterError("fft_sizes must name at least one FFT size")
        self.scales = nn.ModuleList(STFTDiscriminator(n_fft=int(n), filters=filters) for n in fft_sizes)

    def forward(self, x: Tensor) -> DiscriminatorOutput:
        outs = [d(x) for d in self.scales]
        return DiscriminatorOutput(
            torch.cat([o.output for o in outs], dim=1),
            logits=[lg for o in outs for lg in o.logits],
            features=[f for o in outs for f in o.features],
        )
