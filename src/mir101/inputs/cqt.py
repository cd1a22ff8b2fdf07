"""Constant-Q transform as a torch filterbank, one octave at a time on a decimated signal.

Brown, "Calculation of a constant Q spectral transform", JASA 1991
(https://doi.org/10.1121/1.400476); Schörkhuber & Klapuri, "Constant-Q transform toolbox for
music processing", SMC 2010 (https://www.researchgate.net/publication/228523955).

Book page: ``book/inputs.md``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

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
from mir101.inputs.resample import decimate2, halfband_kernel
from mir101.utils.pitch import midi_to_hz

__all__ = ["CQT", "cqt_frequencies", "relative_bandwidth", "wavelet_kernels", "C1_HZ"]

logger = logging.getLogger(__name__)

#: C1 = MIDI 24, the default lowest CQT bin (librosa's default ``fmin`` too).
C1_HZ = float(midi_to_hz(24))
#: Equivalent noise bandwidth of the Hann window, in bins (librosa's ``window_bandwidth("hann")``).
HANN_BANDWIDTH = 1.50018310546875


def cqt_frequencies(fmin: float, n_bins: int, bins_per_octave: int) -> np.ndarray:
    """Centre frequencies ``fmin * 2 ** (k / bins_per_octave)``, ``k = 0 .. n_bins - 1`` (Hz)."""
    return fmin * 2.0 ** (np.arange(n_bins) / bins_per_octave)


def relative_bandwidth(bins_per_octave: int) -> float:
    """Bandwidth over centre frequency, ``alpha``, of a filter whose neighbours are ``2 ** (1 / bpo)`` away.

    ``alpha = (r**2 - 1) / (r**2 + 1)`` with ``r = 2 ** (1 / bpo)``: the filters of bins ``k - 1`` and
    ``k + 1`` just touch. ``Q = filter_scale / alpha`` is the quality factor of every filter.
    """
    r2 = 2.0 ** (2.0 / bins_per_octave)
    return (r2 - 1.0) / (r2 + 1.0)


def wavelet_kernels(freqs: np.ndarray, sr: float, q: float) -> tuple[np.ndarray, int]:
    """Complex kernels ``psi_k[m]`` of the CQT at sample rate ``sr``, on one common time grid.

    ``psi_k[m] = hann(m) · exp(2 pi i f_k m / sr) / sum(hann)``, of length ``l_k = Q sr / f_k``
    samples: Q periods of the centre frequency (Brown 1991). Each kernel has unit L1 norm, so a
    sinusoid of amplitude ``A`` at ``f_k`` gives a response of about ``A / 2`` at any rate. The
    samples are placed exactly as :func:`librosa.filters.wavelet` places them (``m`` from
    ``floor(-l/2)`` to ``floor(l/2) - 1``, periodic Hann), which keeps parity with ``librosa.cqt``.

    Returns:
        ``(kernels (n_bins, L) complex128, m_hi)``: column ``j`` holds time ``m = m_hi - j`` (the time
        axis is reversed, so that ``conv1d``, which correlates, computes the convolution
        ``sum_m psi_k[m] x[c - m]``).
    """
    lengths = q * sr / np.asarray(freqs, dtype=float)
    m_lo = int(np.floor(-lengths.max() / 2))
    m_hi = int(np.floor(lengths.max() / 2)) - 1
    kernels = np.zeros((len(freqs), m_hi - m_lo + 1), dtype=complex)
    for k, (f, length) in enumerate(zip(freqs, lengths)):
        m = np.arange(np.floor(-length / 2), np.floor(length / 2))
        window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(len(m)) / len(m))  # periodic Hann
        psi = window * np.exp(2j * np.pi * f * m / sr) / window.sum()
        kernels[k, (m_hi - m).astype(int)] = psi
    return kernels, m_hi


class CQT(InputModule):
    """Constant-Q transform magnitude: a bank of complex filters, ``bins_per_semitone`` per semitone.

    Bin ``k`` is centred on ``fmin * 2 ** (k / bins_per_octave)``; with the default ``fmin`` (C1)
    that is MIDI pitch ``24 + k / bins_per_semitone``. Its filter lasts ``Q`` periods of that
    frequency, so low bins are long (sharp in frequency) and high bins short (sharp in time).

    How it is computed (Schörkhuber & Klapuri 2010): octaves are processed from the top. An octave
    is analysed at the lowest sample rate ``sr / 2**d`` whose Nyquist frequency is still at least
    twice the octave's highest filter cut-off (and with ``2**d`` dividing ``hop_length``): every
    octave then has short kernels (a few hundred taps), and one strided ``conv1d`` per octave
    computes all its bins at all frames. Between octaves the signal is low-passed by a 33-tap
    half-band filter and decimated by 2 (:func:`~mir101.inputs.resample.decimate2`).

    Normalisation: ``C[k, t] = sqrt(l_k) · |sum_m psi_k[m] x[t·hop - m]|`` where ``psi_k`` has unit L1
    norm and ``l_k = Q·sr/f_k`` is its length at the input rate. This is librosa's default
    (``norm=1, scale=True``): white noise gives the same expected level in every bin, and a
    sinusoid of amplitude ``A`` on a bin gives about ``A · sqrt(l_k) / 2``.

    Args:
        sr: sample rate (Hz) of the input audio.
        hop_length: samples between frames; frames are centred on ``t * hop_length``.
        fmin: centre frequency (Hz) of the lowest bin (default C1, MIDI 24).
        n_octaves: number of octaves analysed.
        bins_per_semitone: bins per semitone (``bins_per_octave = 12 * bins_per_semitone``).
        filter_scale: filter length factor (1: neighbouring bins just touch; < 1: shorter filters).
        log: ``None`` (magnitude), ``"log1p"`` (``log(1 + log_gain · C)``) or ``"db"`` (``20 log10 C``).
        log_gain: the ``C`` of ``"log1p"``.
        trainable: make the kernels ``nn.Parameter`` (initialised to the CQT) instead of buffers.

    Shape:
        - input: ``(samples,)``, ``(batch, samples)`` or ``(batch, 1, samples)``
        - output: ``(batch, 1, n_bins, frames)``, ``n_bins = 12 * bins_per_semitone * n_octaves``,
          ``frames = 1 + samples // hop_length``

    Examples:
        >>> cqt = CQT(sr=22050, hop_length=512, n_octaves=6, bins_per_semitone=3)
        >>> cqt(torch.zeros(2, 22050)).shape
        torch.Size([2, 1, 216, 44])

    References:
        Brown 1991 (above); Schörkhuber & Klapuri 2010 (above); McFee et al., "librosa: audio and
        music signal analysis in python", SciPy 2015 (``librosa.cqt``, the parity reference).
    """

    def __init__(
        self,
        sr: int = 22050,
        hop_length: int = 512,
        fmin: float = C1_HZ,
        n_octaves: int = 6,
        bins_per_semitone: int = 3,
        filter_scale: float = 1.0,
        log: str | None = None,
        log_gain: float = LOG_GAIN,
        trainable: bool = False,
    ):
        super().__init__()
        self.sr = _check_positive_int("sr", sr)
        self.hop_length = _check_positive_int("hop_length", hop_length)
        self.fmin = _check_positive("fmin", fmin)
        self.n_octaves = _check_positive_int("n_octaves", n_octaves)
        self.bins_per_semitone = _check_positive_int("bins_per_semitone", bins_per_semitone)
        self.filter_scale = _check_positive("filter_scale", filter_scale)
        _check_log(log, log_gain)
        self.log, self.log_gain, self.trainable = log, float(log_gain), bool(trainable)
        self.bins_per_octave = 12 * self.bins_per_semitone
        self.n_channels = 1
        self.n_bins = self.bins_per_octave * self.n_octaves
        self.q = self.filter_scale / relative_bandwidth(self.bins_per_octave)

        freqs = self.frequencies()
        cutoff = freqs[-1] * (1 + 0.5 * HANN_BANDWIDTH / self.q)
        if cutoff > self.sr / 2:
            raise ParameterError(
                f"CQT: the top bin ({freqs[-1]:.1f} Hz, filter cut-off {cutoff:.1f} Hz) exceeds the "
                f"Nyquist frequency sr/2 = {self.sr / 2:.1f} Hz; lower fmin={self.fmin:.2f} or "
                f"n_octaves={self.n_octaves}, or raise sr"
            )
        # One entry per octave, from the top: (decimation exponent d, left padding)
        self._octaves: list[tuple[int, int]] = []
        d = 0
        for j in range(self.n_octaves):
            stop = self.n_bins - j * self.bins_per_octave
            f_oct = freqs[stop - self.bins_per_octave : stop]
            cutoff = f_oct[-1] * (1 + 0.5 * HANN_BANDWIDTH / self.q)
            while self.hop_length % 2 ** (d + 1) == 0 and cutoff <= self.sr / 2 ** (d + 3):
                d += 1
            kernels, m_hi = wavelet_kernels(f_oct, self.sr / 2**d, self.q)
            kernels *= np.sqrt(self.q * self.sr / f_oct)[:, None]  # sqrt(l_k) at the input rate
            weight = torch.as_tensor(
                np.concatenate([kernels.real, kernels.imag])[:, None], dtype=torch.float32
            )
            self._add_kernel(f"kernel_{j}", weight)
            self._octaves.append((d, m_hi))
        if d < self.n_octaves - 1 and self.hop_length % 2 ** (d + 1) != 0:
            logger.debug(
                "CQT: hop_length=%d allows only %d decimations; the lowest octaves use long kernels",
                self.hop_length,
                d,
            )
        self.register_buffer("halfband", torch.as_tensor(halfband_kernel(), dtype=torch.float32)[None, None])

    def _add_kernel(self, name: str, weight: Tensor) -> None:
        if self.trainable:
            self.register_parameter(name, nn.Parameter(weight))
        else:
            self.register_buffer(name, weight)

    def frequencies(self) -> np.ndarray:
        """Centre frequency (Hz) of each bin: ``fmin * 2 ** (k / bins_per_octave)``."""
        return cqt_frequencies(self.fmin, self.n_bins, self.bins_per_octave)

    def get_config(self) -> dict[str, Any]:
        return {
            "sr": self.sr,
            "hop_length": self.hop_length,
            "fmin": self.fmin,
            "n_octaves": self.n_octaves,
            "bins_per_semitone": self.bins_per_semitone,
            "filter_scale": self.filter_scale,
            "log": self.log,
            "log_gain": self.log_gain,
            "trainable": self.trainable,
        }

    def magnitude(self, pyramid: list[Tensor], n_frames: int) -> Tensor:
        """Linear CQT magnitude ``(batch, n_bins, n_frames)`` from a decimation pyramid.

        ``pyramid[d]`` is the audio ``(batch, 1, samples / 2**d)`` decimated ``d`` times; missing
        levels are appended (so that several CQTs, e.g. the groups of a :class:`HarmonicCQT`, share them).
        """
        octaves = []
        for j, (d, pad_left) in enumerate(self._octaves):
            while len(pyramid) <= d:
                pyramid.append(decimate2(pyramid[-1], self.halfband))
            x, kernel, hop = pyramid[d], getattr(self, f"kernel_{j}"), self.hop_length >> d
            # frames t = 0 .. n_frames - 1 centred on sample t * hop (zeros beyond the edges)
            pad_right = (n_frames - 1) * hop + kernel.shape[-1] - pad_left - x.shape[-1]
            y = F.conv1d(F.pad(x, (pad_left, pad_right)), kernel, stride=hop)
            re, im = y.chunk(2, dim=1)
            octaves.append(torch.complex(re, im).abs())  # abs of complex: gradient 0 (not NaN) at 0
        return torch.cat(octaves[::-1], dim=1)

    def forward(self, x: Tensor) -> Tensor:
        """Audio ``(batch, [1,] samples)`` -> CQT ``(batch, 1, n_bins, frames)``."""
        x = as_batch(x, "CQT", self.kernel_0.dtype, self.kernel_0.device)
        c = self.magnitude([x], self.n_frames(x.shape[-1]))
        return compress(c[:, None], self.log, self.log_gain, power=1.0)
