"""Chroma: spectral energy folded onto the 12 pitch classes (or a finer division of the octave).

Fujishima, "Realtime chord recognition of musical sound: a system using Common Lisp Music",
ICMC 1999 (the pitch class profile); Müller, "Fundamentals of Music Processing", Springer 2015,
section 3.1.2 (chroma from a log-frequency spectrogram).

Book page: ``book/inputs.md``.
"""

from __future__ import annotations

import math
from typing import Any

import librosa
import numpy as np
import torch
from torch import Tensor

from mir101.errors import ParameterError
from mir101.inputs.base import InputModule, _check_positive_int, as_batch
from mir101.inputs.cqt import C1_HZ, CQT
from mir101.inputs.stft import Spectrogram

__all__ = ["Chroma"]

_NORMS = (None, 1, 2, math.inf)


class Chroma(InputModule):
    """Chromagram: the energy of each pitch class per frame, optionally normalised per frame.

    - ``source="cqt"`` (default): the CQT magnitude (``fmin``, ``n_octaves``, ``bins_per_semitone``),
      whose ``bins_per_semitone`` neighbouring bins around each semitone are summed, then summed
      over octaves (the folding matrix of :func:`librosa.filters.cq_to_chroma`). As
      :func:`librosa.feature.chroma_cqt` with ``tuning=0``.
    - ``source="stft"``: the STFT power folded by Gaussian pitch-class filters
      (:func:`librosa.filters.chroma`, ``n_fft``). As :func:`librosa.feature.chroma_stft` with ``tuning=0``.

    Args:
        sr, hop_length: sample rate (Hz) and samples between frames.
        source: ``"cqt"`` or ``"stft"``.
        n_chroma: bins per octave of the output (12: one per pitch class; must divide
            ``12 * bins_per_semitone`` for the CQT source).
        norm: per-frame normalisation: ``math.inf`` (max = 1, default), 1, 2 or ``None``.
            Frames of silence are left at 0.
        fmin, n_octaves, bins_per_semitone: the CQT (``source="cqt"``).
        n_fft: the STFT size (``source="stft"``).

    Shape:
        - input: ``(samples,)``, ``(batch, samples)`` or ``(batch, 1, samples)``
        - output: ``(batch, 1, n_chroma, 1 + samples // hop_length)``, bin 0 = C.

    Examples:
        >>> Chroma()(torch.zeros(1, 22050)).shape
        torch.Size([1, 1, 12, 44])
    """

    def __init__(
        self,
        sr: int = 22050,
        hop_length: int = 512,
        source: str = "cqt",
        n_chroma: int = 12,
        norm: float | None = math.inf,
        fmin: float = C1_HZ,
        n_octaves: int = 7,
        bins_per_semitone: int = 3,
        n_fft: int = 2048,
    ):
        super().__init__()
        if source not in ("cqt", "stft"):
            raise ParameterError(f"source={source!r} must be one of ['cqt', 'stft']")
        if norm not in _NORMS:
            raise ParameterError(f"norm={norm!r} must be one of {list(_NORMS)}")
        self.n_chroma = _check_positive_int("n_chroma", n_chroma)
        self.source, self.norm = source, None if norm is None else float(norm)
        self.fmin, self.n_octaves, self.bins_per_semitone, self.n_fft = (
            float(fmin),
            n_octaves,
            bins_per_semitone,
            n_fft,
        )
        if source == "cqt":
            self.spectrum: CQT | Spectrogram = CQT(sr, hop_length, fmin, n_octaves, bins_per_semitone)
            bpo = self.spectrum.bins_per_octave
            if bpo % self.n_chroma:
                raise ParameterError(
                    f"n_chroma={n_chroma} must divide the CQT's 12 * bins_per_semitone = {bpo} bins per octave"
                )
            fold = librosa.filters.cq_to_chroma(
                self.spectrum.n_bins, bins_per_octave=bpo, n_chroma=self.n_chroma, fmin=self.fmin
            )
        else:
            self.spectrum = Spectrogram(sr, n_fft, hop_length, power=2.0)
            fold = librosa.filters.chroma(sr=sr, n_fft=n_fft, tuning=0.0, n_chroma=self.n_chroma)
        self.sr, self.hop_length = self.spectrum.sr, self.spectrum.hop_length
        self.n_channels, self.n_bins = 1, self.n_chroma
        self.register_buffer("fold", torch.as_tensor(fold, dtype=torch.float32))  # (n_chroma, spectrum bins)

    def frequencies(self) -> np.ndarray:
        """Pitch class of each bin, in semitones above C: ``k * 12 / n_chroma`` (0 = C, 9 = A).

        A chromagram has no frequency in Hz (each bin gathers all octaves); this is the documented
        equivalent used by plots and tasks.
        """
        return np.arange(self.n_chroma) * 12.0 / self.n_chroma

    def get_config(self) -> dict[str, Any]:
        return {
            "sr": self.sr,
            "hop_length": self.hop_length,
            "source": self.source,
            "n_chroma": self.n_chroma,
            "norm": self.norm,
            "fmin": self.fmin,
            "n_octaves": self.n_octaves,
            "bins_per_semitone": self.bins_per_semitone,
            "n_fft": self.n_fft,
        }

    def forward(self, x: Tensor) -> Tensor:
        """Audio ``(batch, [1,] samples)`` -> chroma ``(batch, 1, n_chroma, frames)``."""
        x = as_batch(x, "Chroma", self.fold.dtype, self.fold.device)
        if isinstance(self.spectrum, CQT):
            spec = self.spectrum.magnitude([x], self.n_frames(x.shape[-1]))
        else:
            spec = self.spectrum.spectrum(x)
        chroma = torch.matmul(self.fold, spec)  # (batch, n_chroma, frames)
        if self.norm is not None:
            size = torch.linalg.vector_norm(chroma, ord=self.norm, dim=1, keepdim=True)
            tiny = torch.finfo(chroma.dtype).tiny
            chroma = chroma / torch.where(size < tiny, torch.ones_like(size), size)
        return chroma[:, None]
