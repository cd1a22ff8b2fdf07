"""Harmonic CQT: CQTs at ``h · fmin`` stacked as channels, so that bin k of every channel is about pitch k.

Bittner, McFee, Salamon, Li & Bello, "Deep salience representations for f0 estimation in
polyphonic music", ISMIR 2017 (https://archives.ismir.net/ismir2017/paper/000092.pdf).

Book page: ``book/inputs.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from mir101.errors import ParameterError
from mir101.inputs.base import LOG_GAIN, InputModule, _check_log, _check_positive, as_batch, compress
from mir101.inputs.cqt import C1_HZ, CQT, HANN_BANDWIDTH, cqt_frequencies, relative_bandwidth

__all__ = ["HarmonicCQT"]


def _octave_groups(harmonics: Sequence[float]) -> list[tuple[float, list[tuple[int, int]]]]:
    """Group harmonics that are whole octaves apart: ``[(base, [(channel, octaves above base)])]``.

    ``0.5, 1, 2, 4`` share the base 0.5 (they are 0, 1, 2, 3 octaves above it); ``3`` and ``6``
    share 3; ``5`` stands alone.
    """
    groups: dict[float, list[tuple[int, float]]] = {}
    for c, h in enumerate(harmonics):
        frac = round(math.log2(h) % 1.0, 9) % 1.0  # 0.999999999 and 0 are the same class
        groups.setdefault(frac, []).append((c, h))
    out = []
    for members in groups.values():
        base = min(h for _, h in members)
        out.append((base, [(c, round(math.log2(h / base))) for c, h in members]))
    return out


class HarmonicCQT(InputModule):
    """Harmonic constant-Q transform: channel ``c`` is the CQT with ``fmin = harmonics[c] · fmin``.

    A sound at fundamental ``f0`` has partials at ``h · f0``; channel ``h`` holds, on the bin of
    ``f0``, the energy at ``h · f0``. The partials of a pitch are thus aligned across channels, and
    a 2-D convolution sees its harmonic series as one column of channels (Bittner et al. 2017). Bin ``k`` of every channel is therefore labelled by the
    fundamental ``fmin · 2 ** (k / bins_per_octave)`` (:meth:`frequencies`); the frequency channel
    ``c`` actually analyses is ``harmonics[c]`` times that (:meth:`harmonic_frequencies`).

    Computed in one pass where possible: harmonics a whole number of octaves apart (0.5, 1, 2, 4)
    are slices of one wide CQT, shifted by whole octaves; only the others (3, 5) need their own
    kernels. All CQTs share one decimation pyramid. With the defaults that is 3 CQTs (9 + 6 + 6
    octaves) instead of 6 CQTs of 6 octaves, whose outputs are identical to separate
    :class:`~mir101.inputs.cqt.CQT` modules with ``fmin = h · fmin``.

    Args:
        sr, hop_length, fmin, n_octaves, bins_per_semitone, filter_scale, log, log_gain, trainable:
            as for :class:`~mir101.inputs.cqt.CQT` (the CQT of harmonic 1).
        harmonics: the multiples of ``fmin`` stacked as channels, in output order (positive, distinct).

    Shape:
        - input: ``(samples,)``, ``(batch, samples)`` or ``(batch, 1, samples)``
        - output: ``(batch, len(harmonics), n_bins, frames)``, ``n_bins = 12 * bins_per_semitone * n_octaves``

    Examples:
        >>> hcqt = HarmonicCQT(sr=22050, hop_length=512, n_octaves=6, bins_per_semitone=3)
        >>> hcqt(torch.zeros(1, 22050)).shape
        torch.Size([1, 6, 216, 44])

    References:
        Bittner et al. 2017 (above).
    """

    def __init__(
        self,
        sr: int = 22050,
        hop_length: int = 512,
        fmin: float = C1_HZ,
        n_octaves: int = 6,
        bins_per_semitone: int = 3,
        harmonics: Sequence[float] = (0.5, 1, 2, 3, 4, 5),
        filter_scale: float = 1.0,
        log: str | None = None,
        log_gain: float = LOG_GAIN,
        trainable: bool = False,
    ):
        super().__init__()
        harmonics = tuple(float(_check_positive("harmonics", h)) for h in harmonics)
        if not harmonics or len(set(harmonics)) != len(harmonics):
            raise ParameterError(f"harmonics={list(harmonics)} must be a non-empty list of distinct numbers")
        _check_log(log, log_gain)
        self.harmonics = harmonics
        self.log, self.log_gain = log, float(log_gain)
        # the CQT of harmonic 1 checks sr, hop, fmin... and gives the bin layout of every channel
        reference = CQT(sr, hop_length, fmin, n_octaves, bins_per_semitone, filter_scale)
        self.sr, self.hop_length, self.fmin = reference.sr, reference.hop_length, reference.fmin
        self.n_octaves, self.bins_per_semitone = reference.n_octaves, reference.bins_per_semitone
        self.filter_scale, self.trainable = reference.filter_scale, bool(trainable)
        self.bins_per_octave, self.n_bins, self.n_channels = (
            reference.bins_per_octave,
            reference.n_bins,
            len(harmonics),
        )

        top = max(harmonics) * cqt_frequencies(self.fmin, self.n_bins, self.bins_per_octave)[-1]
        cutoff = top * (
            1 + 0.5 * HANN_BANDWIDTH * relative_bandwidth(self.bins_per_octave) / self.filter_scale
        )
        if cutoff > self.sr / 2:
            raise ParameterError(
                f"HarmonicCQT: harmonic {max(harmonics)} reaches {top:.1f} Hz (filter cut-off {cutoff:.1f} Hz), "
                f"above the Nyquist frequency sr/2 = {self.sr / 2:.1f} Hz; lower fmin, n_octaves or the "
                f"harmonics, or raise sr"
            )
        self.cqts = nn.ModuleList()
        self._slices: list[tuple[int, int]] = [(0, 0)] * len(harmonics)  # channel -> (cqt index, first bin)
        for g, (base, members) in enumerate(_octave_groups(harmonics)):
            span = max(octave for _, octave in members)
            self.cqts.append(
                CQT(
                    self.sr,
                    self.hop_length,
                    base * self.fmin,
                    self.n_octaves + span,
                    self.bins_per_semitone,
                    self.filter_scale,
                    trainable=self.trainable,
                )
            )
            for channel, octave in members:
                self._slices[channel] = (g, octave * self.bins_per_octave)

    def frequencies(self) -> np.ndarray:
        """Fundamental frequency (Hz) each bin stands for, in every channel: ``fmin * 2 ** (k / bpo)``."""
        return cqt_frequencies(self.fmin, self.n_bins, self.bins_per_octave)

    def harmonic_frequencies(self) -> np.ndarray:
        """``(channels, n_bins)``: the frequency (Hz) bin ``k`` of channel ``c`` analyses, ``harmonics[c] · f_k``."""
        return np.asarray(self.harmonics)[:, None] * self.frequencies()[None]

    def get_config(self) -> dict[str, Any]:
        return {
            "sr": self.sr,
            "hop_length": self.hop_length,
            "fmin": self.fmin,
            "n_octaves": self.n_octaves,
            "bins_per_semitone": self.bins_per_semitone,
            "harmonics": self.harmonics,
            "filter_scale": self.filter_scale,
            "log": self.log,
            "log_gain": self.log_gain,
            "trainable": self.trainable,
        }

    def forward(self, x: Tensor) -> Tensor:
        """Audio ``(batch, [1,] samples)`` -> HCQT ``(batch, len(harmonics), n_bins, frames)``."""
        x = as_batch(x, "HarmonicCQT", self.cqts[0].kernel_0.dtype, self.cqts[0].kernel_0.device)
        n_frames = self.n_frames(x.shape[-1])
        pyramid = [x]  # decimated copies of x, shared by every CQT
        wide = [cqt.magnitude(pyramid, n_frames) for cqt in self.cqts]
        channels = [wide[g][:, start : start + self.n_bins] for g, start in self._slices]
        return compress(torch.stack(channels, dim=1), self.log, self.log_gain, power=1.0)
