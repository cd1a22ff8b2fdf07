"""Separation figures: the spectrograms of the mixture, each true source and its estimate, side by side.

Book page: ``book/separation.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["plot_separation"]


def _db_spectrogram(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    window = np.hanning(n_fft + 1)[:-1]
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(x, n_fft // 2), n_fft)[::hop] * window
    mag = np.abs(np.fft.rfft(frames, axis=-1)).T
    return 20 * np.log10(np.maximum(mag, 1e-5))


def plot_separation(
    mix: np.ndarray,
    refs: np.ndarray,
    est: np.ndarray,
    sources: Sequence[str],
    sr: int,
    path: str | Path,
    title: str = "",
    n_fft: int = 1024,
    hop: int = 256,
    max_hz: float = 4000.0,
) -> Path:
    """A grid: the mixture on top, then one row per source (truth left, estimate right); dB
    magnitude spectrograms up to ``max_hz``, one colour scale for all.

    Args:
        mix: ``(samples,)``; refs, est: ``(n_sources, samples)``.
        sources: names of the rows.
        sr: sample rate (Hz).
        path: the PNG written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(sources)
    top = int(max_hz * n_fft / sr) + 1
    spec = lambda x: _db_spectrogram(np.asarray(x, np.float64), n_fft, hop)[:top]  # noqa: E731
    m = spec(mix)
    vmax = float(m.max())
    extent = (0.0, len(mix) / sr, 0.0, top * sr / n_fft)
    fig, axes = plt.subplots(n + 1, 2, figsize=(10, 1.9 * (n + 1)), constrained_layout=True, sharex=True)
    kw = dict(origin="lower", aspect="auto", cmap="magma", vmin=vmax - 80, vmax=vmax, extent=extent)
    axes[0, 0].imshow(m, **kw)
    axes[0, 0].set_title(f"mixture {title}", fontsize=9)
    axes[0, 1].axis("off")
    for k, name in enumerate(sources):
        for j, (what, x) in enumerate((("truth", refs[k]), ("estimate", est[k]))):
            ax = axes[k + 1, j]
            ax.imshow(spec(x), **kw)
            ax.set_title(f"{name}: {what}", fontsize=9)
            ax.set_ylabel("Hz")
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)
