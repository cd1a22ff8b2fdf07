"""Plots of multi-pitch estimation: salience against the truth, piano rolls.

Book page: ``book/multipitch.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_salience_vs_truth", "plot_pianoroll"]


def _pitch_ticks(ax, midi: np.ndarray) -> None:
    from mir101.utils.pitch import note_name

    cs = [i for i, m in enumerate(midi) if abs(m - round(m)) < 1e-6 and int(round(m)) % 12 == 0]
    ax.set_yticks(cs)
    ax.set_yticklabels([note_name(int(round(midi[i]))) for i in cs])


def plot_salience_vs_truth(
    salience: np.ndarray,
    truth: np.ndarray,
    estimate: np.ndarray,
    times: np.ndarray,
    midi: np.ndarray,
    path: str | Path | None = None,
    title: str = "",
):
    """Two panels: the salience map, then estimate vs truth (green = hit, red = false alarm,
    blue = miss). Arrays are (freq, frames). Returns the figure (saved if ``path``)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True, constrained_layout=True)
    extent = (float(times[0]), float(times[-1]), -0.5, len(midi) - 0.5)
    im = axes[0].imshow(salience, origin="lower", aspect="auto", extent=extent, cmap="magma", vmin=0, vmax=1)
    fig.colorbar(im, ax=axes[0], label="salience")
    axes[0].set_title(f"{title} — predicted salience" if title else "predicted salience")
    rgb = np.ones(truth.shape + (3,), np.float32)
    hit, fa, miss = estimate & truth, estimate & ~truth, truth & ~estimate
    rgb[hit] = (0.1, 0.6, 0.1)
    rgb[fa] = (0.85, 0.1, 0.1)
    rgb[miss] = (0.2, 0.3, 0.9)
    axes[1].imshow(rgb, origin="lower", aspect="auto", extent=extent, interpolation="nearest")
    axes[1].set_title("estimate vs truth: green = correct, red = false alarm, blue = missed")
    for ax in axes:
        _pitch_ticks(ax, midi)
        ax.set_ylabel("pitch")
    axes[1].set_xlabel("time (s)")
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


def plot_pianoroll(
    salience: np.ndarray,
    active: np.ndarray,
    times: np.ndarray,
    midi: np.ndarray,
    path: str | Path,
    title: str = "",
) -> None:
    """Salience with the picked pitches overlaid, saved to ``path``."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 4), constrained_layout=True)
    extent = (float(times[0]), float(times[-1]) if len(times) > 1 else 1.0, -0.5, len(midi) - 0.5)
    ax.imshow(salience, origin="lower", aspect="auto", extent=extent, cmap="Greys", vmin=0, vmax=1)
    f, t = np.nonzero(active)
    ax.scatter(times[t], f, s=2, c="tab:red", label="estimated pitch")
    _pitch_ticks(ax, midi)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("pitch")
    ax.set_title(title)
    ax.legend(loc="upper right")
    fig.savefig(path, dpi=110)
    plt.close(fig)
