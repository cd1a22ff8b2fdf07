"""The waveform itself as an input (for end-to-end front-ends such as SincNet or SampleCNN).

Dieleman & Schrauwen, "End-to-end learning for music audio", ICASSP 2014
(https://doi.org/10.1109/ICASSP.2014.6854950).

Book page: ``book/inputs.md``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mir101.inputs.base import InputModule, _check_positive_int, as_batch
from mir101.inputs.resample import resample

__all__ = ["Waveform"]


class Waveform(InputModule):
    """Audio as ``(batch, 1, samples)``, optionally resampled and peak-normalised.

    The "frames" of a waveform are its samples: ``hop_length = 1``, ``frame_rate = sr``. It has no
    frequency axis: ``n_bins`` is 1 and :meth:`frequencies` returns ``[nan]``.

    Args:
        sr: sample rate (Hz) of the output.
        orig_sr: sample rate of the input, if it differs from ``sr`` (band-limited resampling,
            :func:`~mir101.inputs.resample.resample`); ``None``: the input is already at ``sr``.
        normalize: divide each item by its peak absolute value (silence is left unchanged).

    Shape:
        - input: ``(samples,)``, ``(batch, samples)`` or ``(batch, 1, samples)``
        - output: ``(batch, 1, samples_out)`` with ``samples_out = ceil(samples * sr / orig_sr)``

    Examples:
        >>> Waveform(sr=16000, orig_sr=32000)(torch.zeros(2, 32000)).shape
        torch.Size([2, 1, 16000])
    """

    def __init__(self, sr: int = 22050, orig_sr: int | None = None, normalize: bool = False):
        super().__init__()
        self.sr = _check_positive_int("sr", sr)
        self.orig_sr = None if orig_sr is None else _check_positive_int("orig_sr", orig_sr)
        self.normalize = bool(normalize)
        self.hop_length, self.n_channels, self.n_bins = 1, 1, 1

    def n_frames(self, n_samples: int) -> int:
        """Output samples for ``n_samples`` input samples (changed only by resampling)."""
        if self.orig_sr is None or self.orig_sr == self.sr:
            return int(n_samples)
        return math.ceil(int(n_samples) * self.sr / self.orig_sr)

    def output_shape(self, n_samples: int) -> tuple[int, ...]:
        """``(1, samples_out)``: one channel, no frequency axis."""
        return (1, self.n_frames(n_samples))

    def frequencies(self) -> np.ndarray:
        """``[nan]``: a waveform has no frequency bins."""
        return np.full(1, np.nan)

    def get_config(self) -> dict[str, Any]:
        return {"sr": self.sr, "orig_sr": self.orig_sr, "normalize": self.normalize}

    def forward(self, x: Tensor) -> Tensor:
        """Audio ``(batch, [1,] samples)`` -> ``(batch, 1, samples_out)``."""
        x = as_batch(x, "Waveform")
        if self.orig_sr is not None and self.orig_sr != self.sr:
            x = resample(x, self.orig_sr, self.sr)
        if self.normalize:
            peak = x.abs().amax(dim=-1, keepdim=True)
            x = x / torch.where(peak > 0, peak, torch.ones_like(peak))
        return x
