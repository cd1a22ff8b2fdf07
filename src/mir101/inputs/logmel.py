"""Log-mel spectrogram: STFT power -> triangular mel filterbank -> log compression.

Stevens, Volkmann & Newman, "A scale for the measurement of the psychological magnitude pitch",
JASA 1937 (the mel scale); Slaney, "Auditory Toolbox", Interval Research TR 1998-010 (the
filterbank used here, as in librosa).

Book page: ``book/inputs.md``.
"""

from __future__ import annotations

from typing import Any

import librosa
import numpy as np
import torch
from torch import Tensor, nn

from mir101.errors import ParameterError
from mir101.inputs.base import LOG_GAIN, InputModule, _check_log, _check_positive_int, as_batch, compress
from mir101.inputs.stft import Spectrogram

__all__ = ["LogMel"]


class LogMel(InputModule):
    """Log-compressed mel spectrogram, the usual input of tagging and many other tasks.

    ``M = log(1 + log_gain · B · |STFT|**power)`` where ``B`` is ``n_mels`` triangular filters
    equally spaced on the mel scale between ``fmin`` and ``fmax``, with Slaney's area normalisation
    (the filters of :func:`librosa.filters.mel`, which designs them here). Before the log, this is
    :func:`librosa.feature.melspectrogram` with the same arguments.

    Args:
        sr: sample rate (Hz).
        n_fft: FFT size.
        hop_length: samples between frames.
        win_length: Hann window length (``None``: ``n_fft``).
        n_mels: number of mel bands.
        fmin, fmax: frequency range of the filterbank (``fmax=None``: ``sr / 2``).
        power: 2 (power spectrum, default) or 1 (magnitude).
        log: ``"log1p"`` (``log(1 + log_gain · x)``, the tutorial's), ``"db"`` or ``None`` (linear).
        log_gain: the ``C`` of ``"log1p"`` (the tutorial uses 10000).
        trainable: make the filterbank an ``nn.Parameter``.

    Shape:
        - input: ``(samples,)``, ``(batch, samples)`` or ``(batch, 1, samples)``
        - output: ``(batch, 1, n_mels, 1 + samples // hop_length)``

    Examples:
        >>> LogMel(n_mels=96)(torch.zeros(2, 22050)).shape
        torch.Size([2, 1, 96, 44])

    References:
        Choi, Fazekas & Sandler, "Automatic tagging using deep convolutional neural networks",
        ISMIR 2016 (https://arxiv.org/abs/1606.00298), log-mel inputs for tagging.
    """

    def __init__(
        self,
        sr: int = 22050,
        n_fft: int = 2048,
        hop_length: int = 512,
        win_length: int | None = None,
        n_mels: int = 128,
        fmin: float = 0.0,
        fmax: float | None = None,
        power: float = 2.0,
        log: str | None = "log1p",
        log_gain: float = LOG_GAIN,
        trainable: bool = False,
    ):
        super().__init__()
        _check_log(log, log_gain)
        self.spectrogram = Spectrogram(sr, n_fft, hop_length, win_length, power)
        self.sr, self.n_fft, self.hop_length = (
            self.spectrogram.sr,
            self.spectrogram.n_fft,
            self.spectrogram.hop_length,
        )
        self.win_length, self.power = self.spectrogram.win_length, self.spectrogram.power
        n_mels = _check_positive_int("n_mels", n_mels)
        fmax_hz = self.sr / 2 if fmax is None else float(fmax)
        if not 0 <= fmin < fmax_hz <= self.sr / 2:
            raise ParameterError(f"need 0 <= fmin < fmax <= sr/2, got fmin={fmin}, fmax={fmax}, sr={sr}")
        self.n_mels, self.fmin, self.fmax = n_mels, float(fmin), None if fmax is None else float(fmax)
        self.log, self.log_gain, self.trainable = log, float(log_gain), bool(trainable)
        self.n_channels, self.n_bins = 1, n_mels
        basis = librosa.filters.mel(sr=self.sr, n_fft=self.n_fft, n_mels=n_mels, fmin=self.fmin, fmax=fmax_hz)
        basis_t = torch.as_tensor(basis, dtype=torch.float32)  # (n_mels, n_fft // 2 + 1)
        if self.trainable:
            self.mel_basis = nn.Parameter(basis_t)
        else:
            self.register_buffer("mel_basis", basis_t)

    def frequencies(self) -> np.ndarray:
        """Centre frequency (Hz) of each mel band (the peaks of the triangles)."""
        fmax = self.sr / 2 if self.fmax is None else self.fmax
        return librosa.mel_frequencies(self.n_mels + 2, fmin=self.fmin, fmax=fmax)[1:-1]

    def get_config(self) -> dict[str, Any]:
        return {
            "sr": self.sr,
            "n_fft": self.n_fft,
            "hop_length": self.hop_length,
            "win_length": self.win_length,
            "n_mels": self.n_mels,
            "fmin": self.fmin,
            "fmax": self.fmax,
            "power": self.power,
            "log": self.log,
            "log_gain": self.log_gain,
            "trainable": self.trainable,
        }

    def forward(self, x: Tensor) -> Tensor:
        """Audio ``(batch, [1,] samples)`` -> log-mel ``(batch, 1, n_mels, frames)``."""
        x = as_batch(x, "LogMel", self.mel_basis.dtype, self.mel_basis.device)
        mel = torch.matmul(self.mel_basis, self.spectrogram.spectrum(x))  # (batch, n_mels, frames)
        return compress(mel[:, None], self.log, self.log_gain, power=self.power)
