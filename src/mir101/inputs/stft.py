"""Short-time Fourier transform spectrogram (power or magnitude), the base of log-mel and STFT chroma.

Allen & Rabiner, "A unified approach to short-time Fourier analysis and synthesis", Proc. IEEE 1977
(https://doi.org/10.1109/PROC.1977.10770).

Book page: ``book/inputs.md``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from mir101.errors import ParameterError
from mir101.inputs.base import (
    LOG_GAIN,
    InputModule,
    _check_log,
    _check_positive,
    _check_positive_int,
    as_batch,
    compress,
)

__all__ = ["Spectrogram", "ComplexSTFT"]


class Spectrogram(InputModule):
    """``|STFT|**power`` with a Hann window, frames centred on ``t * hop_length`` (zero padding).

    The same conventions as :func:`librosa.stft` (periodic Hann window, ``center=True``,
    ``pad_mode="constant"``), so that ``librosa.stft(y) ** power`` and this module agree to float
    precision.

    Args:
        sr: sample rate (Hz), used for :meth:`frequencies` and :meth:`frame_times`.
        n_fft: FFT size; the output has ``n_fft // 2 + 1`` bins, ``k * sr / n_fft`` Hz.
        hop_length: samples between frames.
        win_length: Hann window length (``<= n_fft``, zero-padded on both sides); ``None``: ``n_fft``.
        power: 1 for the magnitude, 2 for the power.
        log: ``None``, ``"log1p"`` (``log(1 + log_gain · S)``) or ``"db"`` (``10 log10`` of the power).
        log_gain: the ``C`` of ``"log1p"``.

    Shape:
        - input: ``(samples,)``, ``(batch, samples)`` or ``(batch, 1, samples)``
        - output: ``(batch, 1, n_fft // 2 + 1, 1 + samples // hop_length)``

    Examples:
        >>> Spectrogram(n_fft=1024, hop_length=256)(torch.zeros(22050)).shape
        torch.Size([1, 1, 513, 87])
    """

    def __init__(
        self,
        sr: int = 22050,
        n_fft: int = 2048,
        hop_length: int = 512,
        win_length: int | None = None,
        power: float = 2.0,
        log: str | None = None,
        log_gain: float = LOG_GAIN,
    ):
        super().__init__()
        self.sr = _check_positive_int("sr", sr)
        self.n_fft = _check_positive_int("n_fft", n_fft)
        self.hop_length = _check_positive_int("hop_length", hop_length)
        self.win_length = self.n_fft if win_length is None else _check_positive_int("win_length", win_length)
        if self.win_length > self.n_fft:
            raise ParameterError(f"win_length={win_length} must be <= n_fft={n_fft}")
        self.power = _check_positive("power", power)
        _check_log(log, log_gain)
        self.log, self.log_gain = log, float(log_gain)
        self.n_channels = 1
        self.n_bins = self.n_fft // 2 + 1
        self.register_buffer("window", torch.hann_window(self.win_length, periodic=True, dtype=torch.float32))

    def frequencies(self) -> np.ndarray:
        """Frequency (Hz) of each FFT bin: ``k * sr / n_fft``."""
        return np.arange(self.n_bins) * self.sr / self.n_fft

    def get_config(self) -> dict[str, Any]:
        return {
            "sr": self.sr,
            "n_fft": self.n_fft,
            "hop_length": self.hop_length,
            "win_length": self.win_length,
            "power": self.power,
            "log": self.log,
            "log_gain": self.log_gain,
        }

    def spectrum(self, x: Tensor) -> Tensor:
        """Linear ``|STFT|**power`` ``(batch, n_bins, frames)`` of audio ``(batch, 1, samples)``."""
        stft = torch.stft(
            x[:, 0],
            self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        if self.power == 2.0:
            return stft.real**2 + stft.imag**2
        return stft.abs() ** self.power

    def forward(self, x: Tensor) -> Tensor:
        """Audio ``(batch, [1,] samples)`` -> spectrogram ``(batch, 1, n_fft // 2 + 1, frames)``."""
        x = as_batch(x, "Spectrogram", self.window.dtype, self.window.device)
        return compress(self.spectrum(x)[:, None], self.log, self.log_gain, power=self.power)


class ComplexSTFT(torch.nn.Module):
    """The complex STFT of :class:`Spectrogram`'s conventions, and its inverse (overlap-add).

    Source separation masks the mixture's complex STFT and goes back to the waveform;
    :meth:`inverse` undoes :meth:`forward` to float precision (a Hann window at hop ``<= n_fft / 2``
    satisfies the overlap-add condition; Griffin & Lim, "Signal estimation from modified
    short-time Fourier transform", IEEE TASSP 1984).

    Args:
        n_fft: FFT size (``n_fft // 2 + 1`` bins).
        hop_length: samples between frames.

    Shape:
        - forward: ``(..., samples)`` -> complex ``(..., n_fft // 2 + 1, 1 + samples // hop_length)``
        - inverse: complex ``(..., bins, frames)`` and ``length`` -> ``(..., length)``

    Examples:
        >>> stft = ComplexSTFT(n_fft=512, hop_length=128)
        >>> x = torch.randn(2, 3, 4000)
        >>> bool(torch.allclose(stft.inverse(stft(x), 4000), x, atol=1e-5))
        True
    """

    def __init__(self, n_fft: int = 1024, hop_length: int = 256):
        super().__init__()
        self.n_fft = _check_positive_int("n_fft", n_fft)
        self.hop_length = _check_positive_int("hop_length", hop_length)
        if self.hop_length > self.n_fft // 2:
            raise ParameterError(f"hop_length={hop_length} must be <= n_fft / 2 = {n_fft // 2} to invert")
        self.n_bins = self.n_fft // 2 + 1
        self.register_buffer("window", torch.hann_window(self.n_fft, periodic=True), persistent=False)

    def get_config(self) -> dict[str, Any]:
        return {"n_fft": self.n_fft, "hop_length": self.hop_length}

    def forward(self, x: Tensor) -> Tensor:
        lead = x.shape[:-1]
        spec = torch.stft(
            x.reshape(-1, x.shape[-1]).to(self.window.dtype),
            self.n_fft,
            hop_length=self.hop_length,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )
        return spec.reshape(*lead, *spec.shape[-2:])

    def inverse(self, spec: Tensor, length: int) -> Tensor:
        lead = spec.shape[:-2]
        x = torch.istft(
            spec.reshape(-1, *spec.shape[-2:]),
            self.n_fft,
            hop_length=self.hop_length,
            window=self.window,
            center=True,
            length=int(length),
        )
        return x.reshape(*lead, x.shape[-1])

    def extra_repr(self) -> str:
        return f"n_fft={self.n_fft}, hop_length={self.hop_length}"
