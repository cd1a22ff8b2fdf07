"""A codec that works on STFT frames: analysis in, ConvNeXt-1D at the frame rate, an inverse-STFT head out.

A SEANet codec (``seanet.py``) reaches its latent frame rate by strided convolutions on the
waveform and comes back by transposed convolutions: most of its computation runs at the audio
rate, and the decoder must learn to draw every sample of every period. Vocos (Siuzdak 2023)
keeps the network at the *frame* rate and lets the Fourier transform do the up-sampling: the
decoder predicts, for each frame, a magnitude and a phase per frequency bin, and an inverse STFT
(overlap-add) turns them into samples. WavTokenizer (Ji et al. 2024) puts such a decoder behind
a quantiser. Here the encoder is its mirror image: a fixed STFT analysis (no parameters) and the
same ConvNeXt blocks. With a hop of 320 samples at 16 kHz both sides run at 50 frames per second,
some 300 times fewer positions than the waveform, which is what makes a codec trainable on a CPU.

- :class:`STFTAnalysis`: ``(batch, 1, samples) -> (batch, 2 * (n_fft // 2 + 1), samples / hop)``,
  the real and imaginary parts of a magnitude-compressed STFT (``|X| ** 0.3`` keeps the quiet
  partials of a decaying note in view);
- :class:`ConvNeXt1d`: a ConvNeXt block over time (depthwise conv, LayerNorm, MLP, layer scale);
- :class:`ISTFTHead`: ``(batch, channels, frames) -> (batch, 1, frames * hop)``, magnitude
  (``exp`` of a clamped log) and phase (an angle) per bin, then the inverse STFT.

The frames are "same"-padded: a signal of ``n * hop`` samples has exactly ``n`` frames and comes
back with exactly ``n * hop`` samples, so the codec's hop is the STFT hop.

References:
    Siuzdak, "Vocos: Closing the gap between time-domain and Fourier-based neural vocoders for
    high-quality audio synthesis", ICLR 2024, https://arxiv.org/abs/2306.00814
    Ji et al., "WavTokenizer: an efficient acoustic discrete codec tokenizer for audio language
    modeling", 2024, https://arxiv.org/abs/2408.16532
    Liu et al., "A ConvNet for the 2020s", CVPR 2022, https://arxiv.org/abs/2201.03545

Book page: ``book/bottlenecks.md``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim
from mir101.errors import ParameterError, ShapeError

__all__ = ["STFTAnalysis", "ConvNeXt1d", "ISTFTHead", "same_padding_istft"]


def _check_sizes(n_fft: int, hop_length: int, who: str) -> None:
    if hop_length < 1 or n_fft < hop_length or (n_fft - hop_length) % 2:
        raise ParameterError(
            f"{who}: n_fft ({n_fft}) must be >= hop_length ({hop_length}) >= 1, with an even difference "
            f"(the frames are padded by (n_fft - hop_length) / 2 on each side)"
        )


def same_padding_istft(spectrum: Tensor, n_fft: int, hop_length: int, window: Tensor) -> Tensor:
    """Inverse STFT of ``(batch, bins, frames)`` complex frames -> ``(batch, frames * hop_length)``.

    Each frame is inverse-transformed, windowed and overlap-added (``F.fold``); the sum is divided
    by the overlap-added squared window (the least-squares inverse of a windowed STFT, Griffin &
    Lim 1984), then ``(n_fft - hop_length) / 2`` samples are cut from each end: the inverse of
    :class:`STFTAnalysis`'s padding.
    """
    frames = spectrum.shape[-1]
    chunks = torch.fft.irfft(spectrum, n=n_fft, dim=1) * window[:, None]  # (batch, n_fft, frames)
    length = (frames - 1) * hop_length + n_fft
    signal = F.fold(chunks, output_size=(1, length), kernel_size=(1, n_fft), stride=(1, hop_length))
    envelope = F.fold(
        (window**2)[None, :, None].expand(1, n_fft, frames),
        output_size=(1, length),
        kernel_size=(1, n_fft),
        stride=(1, hop_length),
    )
    pad = (n_fft - hop_length) // 2
    signal = signal.flatten(1)[:, pad : length - pad]
    envelope = envelope.flatten(1)[:, pad : length - pad]
    return signal / envelope.clamp(min=1e-11)


class STFTAnalysis(Brick):
    """Waveform -> real and imaginary parts of a magnitude-compressed STFT, one frame per hop.

    No parameters: the encoder side of a Vocos-style codec starts from it.

    Args:
        n_fft: window and FFT size (Hann window).
        hop_length: samples per frame; ``n_fft - hop_length`` must be even.
        compress: exponent applied to the magnitude (phase kept): ``|X| ** compress``.

    Shape:
        - input: ``(batch, 1, samples)``, samples a multiple of ``hop_length``
        - output: ``(batch, 2 * (n_fft // 2 + 1), samples // hop_length)``

    Examples:
        >>> STFTAnalysis(n_fft=64, hop_length=16)(torch.zeros(2, 1, 160)).shape
        torch.Size([2, 66, 10])
    """

    def __init__(self, *, n_fft: int = 1280, hop_length: int = 320, compress: float = 0.3):
        super().__init__()
        _check_sizes(n_fft, hop_length, "STFTAnalysis")
        if not 0 < compress <= 1:
            raise ParameterError(f"STFTAnalysis: compress must be in (0, 1], got {compress}")
        self.n_fft, self.hop_length, self.compress = n_fft, hop_length, compress
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, 1, samples)", "STFTAnalysis")
        if x.shape[1] != 1 or x.shape[-1] % self.hop_length:
            raise ShapeError(
                f"STFTAnalysis expects (batch, 1, samples) with samples a multiple of the hop "
                f"{self.hop_length}, got {tuple(x.shape)}"
            )
        pad = (self.n_fft - self.hop_length) // 2
        padded = F.pad(x[:, 0], (pad, pad))
        spec = torch.stft(
            padded, self.n_fft, self.hop_length, window=self.window, center=False, return_complex=True
        )  # (batch, bins, frames)
        magnitude = spec.abs()
        spec = spec * (magnitude.clamp(min=1e-8) ** (self.compress - 1))
        return torch.cat([spec.real, spec.imag], dim=1)


class ConvNeXt1d(Brick):
    """ConvNeXt block over time: depthwise conv, LayerNorm, 1x1 expand, GELU, 1x1 project, layer scale, residual.

    Vocos's backbone block; ``residual.ConvNeXtBlock`` is its 2-D sibling.

    Args:
        channels: input and output channels.
        kernel_size: odd extent of the depthwise convolution over frames.
        expansion: width of the inverted bottleneck, as a multiple of ``channels``.
        layer_scale: initial value of the branch's learned per-channel scale (``0`` disables it).

    Shape:
        - input: ``(batch, channels, time)``
        - output: same as input

    Examples:
        >>> ConvNeXt1d(channels=8)(torch.zeros(2, 8, 30)).shape
        torch.Size([2, 8, 30])
    """

    def __init__(self, *, channels: int = 256, kernel_size: int = 7, expansion: int = 3, layer_scale: float = 0.1):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ParameterError(f"ConvNeXt1d: kernel_size must be odd (same padding), got {kernel_size}")
        self.depthwise = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels)
        self.norm = nn.LayerNorm(channels, eps=1e-6)
        self.expand = nn.Linear(channels, expansion * channels)
        self.act = nn.GELU()
        self.project = nn.Linear(expansion * channels, channels)
        self.gamma = nn.Parameter(torch.full((channels,), float(layer_scale))) if layer_scale > 0 else None

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, channels, time)", "ConvNeXt1d")
        y = self.depthwise(x).transpose(1, 2)  # (batch, time, channels)
        y = self.project(self.act(self.expand(self.norm(y))))
        if self.gamma is not None:
            y = y * self.gamma
        return x + y.transpose(1, 2)


class ISTFTHead(Brick):
    """Frames of features -> waveform: a magnitude and a phase per bin, then the inverse STFT.

    A 1x1 convolution gives ``2 * bins`` values per frame: a log-magnitude (clamped at
    ``max_log_magnitude`` before ``exp``, as Vocos does, so an early large value cannot overflow)
    and a phase angle ``p`` (the spectrum is ``m * (cos p + i sin p)``: any real ``p`` is a valid
    phase, no wrapping needed).

    Args:
        in_channels: feature channels per frame.
        n_fft: window and FFT size (Hann window).
        hop_length: samples per frame; ``n_fft - hop_length`` must be even.
        max_log_magnitude: the clamp of the predicted log-magnitude.

    Shape:
        - input: ``(batch, in_channels, frames)``
        - output: ``(batch, 1, frames * hop_length)``

    Examples:
        >>> ISTFTHead(in_channels=8, n_fft=64, hop_length=16)(torch.zeros(2, 8, 10)).shape
        torch.Size([2, 1, 160])
    """

    def __init__(self, *, in_channels: int, n_fft: int = 1280, hop_length: int = 320, max_log_magnitude: float = 4.0):
        super().__init__()
        _check_sizes(n_fft, hop_length, "ISTFTHead")
        self.n_fft, self.hop_length, self.max_log_magnitude = n_fft, hop_length, max_log_magnitude
        self.bins = n_fft // 2 + 1
        self.proj = nn.Conv1d(in_channels, 2 * self.bins, 1)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, channels, frames)", "ISTFTHead")
        log_magnitude, phase = self.proj(x).float().chunk(2, dim=1)
        magnitude = torch.exp(log_magnitude.clamp(max=self.max_log_magnitude))
        spectrum = torch.polar(magnitude, phase)
        return same_padding_istft(spectrum, self.n_fft, self.hop_length, self.window)[:, None]
