"""Augmentations of feature patches (and their frame targets), applied on the fly in datasets.

They work on log-frequency features (CQT, HCQT), where the tutorial's argument holds: a pitch
shift is a translation along frequency, so shifting the patch *and* its pitch roll by the same
number of bins makes a new, exactly labelled example. A random smooth spectral envelope and a
random gain stand in for other instruments, rooms and mix levels — the levers of generalisation to
timbres the model never heard.

Book page: ``book/multipitch.md`` (augmentation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mir101.errors import ParameterError

__all__ = ["FeatureAugment", "shift_bins"]


def shift_bins(x: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Translate ``x`` by ``k`` bins along ``axis`` (up if k > 0), filling with zeros."""
    if k == 0:
        return x
    out = np.zeros_like(x)
    src = [slice(None)] * x.ndim
    dst = [slice(None)] * x.ndim
    n = x.shape[axis]
    if abs(k) >= n:
        return out
    src[axis] = slice(0, n - k) if k > 0 else slice(-k, n)
    dst[axis] = slice(k, n) if k > 0 else slice(0, n + k)
    out[tuple(dst)] = x[tuple(src)]
    return out


@dataclass
class FeatureAugment:
    """Random pitch shift, spectral envelope and gain of a ``(channels, freq, frames)`` patch.

    Args:
        max_shift_bins: the pitch shift is uniform in ``[-max_shift_bins, max_shift_bins]`` bins;
            the frame target ``(freq, frames)`` is shifted by the same amount.
        envelope: standard deviation of a smooth random curve over frequency added to the
            (log-compressed) features, relative to the patch's standard deviation.
        gain: standard deviation of a random offset, relative to the patch's standard deviation.
        harmonics: standard deviation of a random offset *per channel*, relative to the patch's
            standard deviation. On a harmonic CQT, channel ``h`` holds the h-th harmonic of every
            pitch, so this makes the partials of all notes louder or softer together: brighter or
            darker timbres.
        p: probability of augmenting a patch at all.
        seed: None draws from numpy's global generator (reseeded per epoch by the trainer).
    """

    max_shift_bins: int = 0
    envelope: float = 0.0
    gain: float = 0.0
    harmonics: float = 0.0
    p: float = 1.0

    def __post_init__(self) -> None:
        if min(self.max_shift_bins, self.envelope, self.gain, self.harmonics) < 0 or not 0 <= self.p <= 1:
            raise ParameterError(f"FeatureAugment arguments must be non-negative (p in [0, 1]), got {self}")

    def __call__(self, x: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        rng = np.random
        if rng.random() >= self.p:
            return x, y
        nonnegative = bool(x.min() >= 0)  # e.g. log(1 + C|X|): keep it so
        if self.max_shift_bins:
            k = int(rng.randint(-self.max_shift_bins, self.max_shift_bins + 1))
            x = shift_bins(x, k, axis=-2)
            if y is not None and y.ndim >= 2:
                y = shift_bins(y, k, axis=-2)
        scale = float(x.std()) + 1e-6
        if self.envelope:
            n_freq = x.shape[-2]
            knots = rng.standard_normal(6) * self.envelope * scale
            curve = np.interp(np.linspace(0, 5, n_freq), np.arange(6), knots).astype(x.dtype)
            x = x + curve[:, None]
        if self.gain:
            x = x + np.float32(rng.standard_normal() * self.gain * scale)
        if self.harmonics and x.ndim == 3:
            offsets = rng.standard_normal(x.shape[0]) * self.harmonics * scale
            x = x + offsets.astype(x.dtype)[:, None, None]
        if nonnegative:
            x = np.maximum(x, 0.0)
        return x.astype(np.float32, copy=False), y
