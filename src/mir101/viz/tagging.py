"""Plots of tagging and chord recognition: confusion matrix, tag-o-gram, chordogram, filter responses.

Every function draws arrays computed elsewhere (:mod:`mir101.tasks.tagging`) and returns the
figure, saved (and closed) when ``path`` is given.

Book page: ``book/tagging.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["plot_confusion", "plot_tagogram", "plot_chordogram", "plot_filter_responses"]


def _finish(fig, path: str | Path | None):
    if path is not None:
        import matplotlib.pyplot as plt

        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


def plot_confusion(
    matrix: np.ndarray, classes: Sequence[str], path: str | Path | None = None, title: str = ""
):
    """A confusion matrix ``(classes, classes)`` of counts (row = reference, column = prediction):
    colours show each row's fractions, cells print the counts."""
    import matplotlib.pyplot as plt

    m = np.asarray(matrix, dtype=float)
    rows = m.sum(axis=1, keepdims=True)
    frac = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    n = len(classes)
    size = max(4.0, 0.55 * n + 2.0)
    fig, ax = plt.subplots(figsize=(size + 1.0, size), constrained_layout=True)
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, label="fraction of the row", shrink=0.8)
    for i in range(n):
        for j in range(n):
            if m[i, j]:
                ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center",
                        color="white" if frac[i, j] > 0.6 else "black", fontsize=8)  # fmt: skip
    ax.set_xticks(range(n), classes, rotation=60, ha="right")
    ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reference")
    ax.set_title(title or "confusion matrix")
    return _finish(fig, path)


def plot_tagogram(
    times: np.ndarray,
    probs: np.ndarray,
    classes: Sequence[str],
    path: str | Path | None = None,
    title: str = "",
    truth: Sequence[str] = (),
):
    """The tag-o-gram: the probability of every class ``(classes, patches)`` over time (patch
    centres ``times`` in s); the classes of ``truth`` are marked with a star on the axis."""
    import matplotlib.pyplot as plt

    p = np.asarray(probs, dtype=float)
    t = np.asarray(times, dtype=float)
    step = float(t[1] - t[0]) if len(t) > 1 else 1.0
    extent = (float(t[0]) - step / 2, float(t[-1]) + step / 2, -0.5, len(classes) - 0.5)
    fig, ax = plt.subplots(figsize=(11, max(2.5, 0.3 * len(classes) + 1.2)), constrained_layout=True)
    im = ax.imshow(p, origin="lower", aspect="auto", extent=extent, cmap="magma", vmin=0, vmax=1,
                   interpolation="nearest")  # fmt: skip
    fig.colorbar(im, ax=ax, label="probability")
    marked = set(truth)
    ax.set_yticks(range(len(classes)), [f"* {c}" if c in marked else c for c in classes])
    ax.set_xlabel("time (s)")
    ax.set_title((f"{title} — " if title else "") + "tag-o-gram" + (" (* = reference)" if marked else ""))
    return _finish(fig, path)


def plot_chordogram(
    times: np.ndarray,
    probs: np.ndarray,
    truth: np.ndarray | None,
    estimate: np.ndarray,
    labels: Sequence[str],
    path: str | Path | None = None,
    title: str = "",
):
    """Chord probabilities ``(classes, frames)`` over time with the reference (orange dots; none
    for a user's file) and the decoded chords (cyan) as class indices ``(frames,)``."""
    import matplotlib.pyplot as plt

    t = np.asarray(times, dtype=float)
    step = float(t[1] - t[0]) if len(t) > 1 else 1.0
    extent = (float(t[0]) - step / 2, float(t[-1]) + step / 2, -0.5, len(labels) - 0.5)
    fig, ax = plt.subplots(figsize=(12, 6), constrained_layout=True)
    im = ax.imshow(np.asarray(probs), origin="lower", aspect="auto", extent=extent, cmap="Greys",
                   vmin=0, vmax=1, interpolation="nearest")  # fmt: skip
    fig.colorbar(im, ax=ax, label="probability")
    if truth is not None:
        ax.plot(t, truth, ".", color="tab:orange", markersize=3, label="reference")
    ax.plot(t, estimate, "-", color="tab:cyan", linewidth=1.2, label="decoded")
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("time (s)")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title((f"{title} — " if title else "") + ("chordogram vs reference" if truth is not None else "chordogram"))
    return _finish(fig, path)


def plot_filter_responses(
    freqs: np.ndarray,
    responses: np.ndarray,
    path: str | Path | None = None,
    title: str = "",
):
    """Magnitude responses (dB) of learned filters ``(filters, freqs)``, one row per filter, in the
    order given (e.g. sorted by their peak frequency)."""
    import matplotlib.pyplot as plt

    r = np.asarray(responses, dtype=float)
    f = np.asarray(freqs, dtype=float)
    fig, ax = plt.subplots(figsize=(9, 4.5), constrained_layout=True)
    im = ax.imshow(r, origin="lower", aspect="auto", extent=(f[0], f[-1], -0.5, len(r) - 0.5),
                   cmap="viridis", vmin=max(float(r.max()) - 40.0, float(r.min())))  # fmt: skip
    fig.colorbar(im, ax=ax, label="dB")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("filter (by peak frequency)")
    ax.set_title(title or "learned filters: frequency responses")
    return _finish(fig, path)
