"""SincNet's front-end: a bank of band-pass filters of which only the two cut-off frequencies are learned.

Paper: Ravanelli & Bengio, "Speaker Recognition from Raw Waveform with SincNet", SLT 2018,
https://arxiv.org/abs/1808.00158

A free conv-1D filter of ``K`` taps has ``K`` parameters and may learn anything; a SincNet filter
has two, its low and high cut-off frequencies, and is always a band-pass. The impulse response of
an ideal band-pass ``[f1, f2]`` is the difference of two sinc low-passes,

    h[n] = (sin(2 pi f2 n / sr) - sin(2 pi f1 n / sr)) / (pi n),    h[0] = 2 (f2 - f1) / sr,

which has unit gain inside the band; it is truncated to ``K`` taps and smoothed by a Hamming
window. The filters start mel-spaced, like a mel filterbank, and move during training.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim
from mir101.errors import ParameterError, ShapeError
from mir101.utils.registry import Registry

__all__ = ["SincConv", "PADDINGS"]

#: :class:`SincConv`'s ``padding`` by name: the zeros added on each side of the signal, as a function
#: of ``kernel_size``: ``"valid"`` none, ``"same"`` half a kernel (as many frames as samples at stride 1).
PADDINGS: Registry[Callable[[int], int]] = Registry("padding")
PADDINGS.add("valid", lambda kernel_size: 0)
PADDINGS.add("same", lambda kernel_size: kernel_size // 2)


def _hz_to_mel(hz: Tensor | float) -> Tensor:
    return 2595.0 * torch.log10(1.0 + torch.as_tensor(hz, dtype=torch.float64) / 700.0)


def _mel_to_hz(mel: Tensor) -> Tensor:
    return 700.0 * (10 ** (mel / 2595.0) - 1.0)


class SincConv(Brick):
    """A conv-1D whose filters are parametrised band-passes ``[low_hz, high_hz]`` (learned).

    Args:
        out_channels: number of band-pass filters.
        kernel_size: taps of each filter (odd, so that filters are symmetric around their centre).
        sample_rate: sample rate of the input in Hz (cut-offs are in Hz).
        in_channels: must be 1 (SincNet filters a mono waveform).
        stride: hop between output frames, in samples.
        padding: ``"valid"`` (no padding) or ``"same"`` (as many frames as samples when ``stride=1``).
        min_low_hz: smallest possible low cut-off.
        min_band_hz: smallest possible bandwidth.
        f_min: lowest edge of the initial mel-spaced bands (``None``: ``min_low_hz``).
        f_max: highest edge of the initial bands (``None``: ``sample_rate / 2 - min_band_hz``).
            The initial bands tile ``[f_min, f_max]`` on the mel scale, each at least
            ``min_band_hz`` wide.

    Shape:
        - input: ``(batch, 1, samples)``
        - output: ``(batch, out_channels, frames)``; ``frames = (samples - kernel_size) // stride + 1``
          for ``"valid"``

    Examples:
        >>> sinc = SincConv(out_channels=8, kernel_size=101, sample_rate=16000)
        >>> sinc(torch.zeros(2, 1, 1000)).shape
        torch.Size([2, 8, 900])
        >>> low, high = sinc.band_edges()
        >>> bool((high > low).all())
        True

    References:
        Ravanelli & Bengio, "Speaker Recognition from Raw Waveform with SincNet", SLT 2018,
        https://arxiv.org/abs/1808.00158
    """

    def __init__(
        self,
        *,
        out_channels: int = 80,
        kernel_size: int = 251,
        sample_rate: int = 16000,
        in_channels: int = 1,
        stride: int = 1,
        padding: str = "valid",
        min_low_hz: float = 50.0,
        min_band_hz: float = 50.0,
        f_min: float | None = None,
        f_max: float | None = None,
    ):
        super().__init__()
        if in_channels != 1:
            raise ParameterError(f"in_channels={in_channels}: SincConv filters a mono waveform (1 channel)")
        if kernel_size % 2 == 0 or kernel_size < 3:
            raise ParameterError(f"kernel_size={kernel_size} must be odd and >= 3 (symmetric filters)")
        self.pad = PADDINGS.get(padding)(kernel_size)
        nyquist = sample_rate / 2
        f_min = min_low_hz if f_min is None else f_min
        f_max = nyquist - min_band_hz if f_max is None else f_max
        if not min_low_hz <= f_min < f_max <= nyquist:
            raise ParameterError(
                f"need min_low_hz={min_low_hz} <= f_min={f_min} < f_max={f_max} <= sample_rate / 2 = {nyquist}"
            )
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.sample_rate, self.min_low_hz, self.min_band_hz = sample_rate, min_low_hz, min_band_hz

        edges = _mel_to_hz(
            torch.linspace(_hz_to_mel(f_min).item(), _hz_to_mel(f_max).item(), out_channels + 1)
        )
        # the learned parameters; the actual cut-offs are made valid in band_edges()
        self.low_hz_ = nn.Parameter((edges[:-1] - min_low_hz).float().view(-1, 1))
        self.band_hz_ = nn.Parameter((edges[1:] - edges[:-1] - min_band_hz).clamp(min=0).float().view(-1, 1))
        # time axis of the filters (in samples, centred) and the Hamming window
        half = (kernel_size - 1) // 2
        self.register_buffer("n", torch.arange(-half, half + 1, dtype=torch.float32), persistent=False)
        self.register_buffer("window", torch.hamming_window(kernel_size, periodic=False), persistent=False)

    def band_edges(self) -> tuple[Tensor, Tensor]:
        """The cut-off frequencies in Hz, each of shape ``(out_channels,)``: ``(low_hz, high_hz)``."""
        low = self.min_low_hz + self.low_hz_.abs()
        high = torch.clamp(
            low + self.min_band_hz + self.band_hz_.abs(), self.min_low_hz, self.sample_rate / 2
        )
        return low.view(-1), high.view(-1)

    def filters(self) -> Tensor:
        """The impulse responses of the filters, shape ``(out_channels, kernel_size)``."""
        low, high = (f.view(-1, 1) / self.sample_rate for f in self.band_edges())  # cycles per sample
        n = self.n.view(1, -1)
        safe_n = torch.where(n == 0, torch.ones_like(n), n)
        band = (torch.sin(2 * math.pi * high * safe_n) - torch.sin(2 * math.pi * low * safe_n)) / (
            math.pi * safe_n
        )
        band = torch.where(n == 0, 2 * (high - low), band)  # the limit at n = 0
        return band * self.window

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, 1, samples)", "SincConv")
        if x.shape[1] != 1:
            raise ShapeError(f"SincConv filters a mono waveform (batch, 1, samples), got {tuple(x.shape)}")
        weight = self.filters().unsqueeze(1)
        return F.conv1d(x, weight, stride=self.stride, padding=self.pad)

    def extra_repr(self) -> str:
        return (
            f"out_channels={self.low_hz_.shape[0]}, kernel_size={self.kernel_size}, "
            f"sample_rate={self.sample_rate}, stride={self.stride}"
        )
