"""Plots of cover-song identification: the distance matrix sorted by clique, a 2-D map of embeddings.

Every function draws arrays computed elsewhere (:mod:`mir101.tasks.cover`) and returns the
figure, saved (and closed) when ``path`` is given.

Book page: ``book/cover.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["clique_order", "plot_distance_matrix", "project_2d", "plot_embeddings"]


def _finish(fig, path: str | Path | None):
    if path is not None:
        import matplotlib.pyplot as plt

        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig


def clique_order(works: Sequence[str]) -> np.ndarray:
    """Indices that sort items by clique (stable: items of a clique keep their order)."""
    return np.argsort(np.asarray([str(w) for w in works]), kind="stable")


def plot_distance_matrix(
    dist: np.ndarray, works: Sequence[str], path: str | Path | None = None, title: str = ""
):
    """The ``(n, n)`` distances with items sorted by clique; lines separate the cliques, so a good
    embedding shows dark blocks on the diagonal."""
    import matplotlib.pyplot as plt

    order = clique_order(works)
    d = np.asarray(dist)[np.ix_(order, order)]
    w = np.asarray([str(x) for x in works])[order]
    fig, ax = plt.subplots(figsize=(6.0, 5.2), constrained_layout=True)
    im = ax.imshow(d, cmap="magma", interpolation="nearest")
    fig.colorbar(im, ax=ax, label="distance", shrink=0.8)
    edges = [i for i in range(1, len(w)) if w[i] != w[i - 1]]
    for e in edges:
        ax.axhline(e - 0.5, color="white", lw=0.4)
        ax.axvline(e - 0.5, color="white", lw=0.4)
    ax.set_xlabel("items (sorted by clique)")
    ax.set_ylabel("items (sorted by clique)")
    ax.set_title(title or "distances, sorted by clique")
    return _finish(fig, path)


def project_2d(emb: np.ndarray) -> np.ndarray:
    """``(n, dim) -> (n, 2)``: the first two principal components (deterministic, no fitting)."""
    x = np.asarray(emb, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    if len(x) < 2:
        return np.zeros((len(x), 2))
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    proj = x @ vt[:2].T
    return np.pad(proj, ((0, 0), (0, 2 - proj.shape[1])))


def plot_embeddings(emb: np.ndarray, works: Sequence[str], path: str | Path | None = None, title: str = ""):
    """The embeddings projected on their first two principal components, one colour per clique."""
    import matplotlib.pyplot as plt

    xy = project_2d(emb)
    names = sorted({str(w) for w in works})
    cmap = plt.get_cmap("tab20", max(len(names), 1))
    fig, ax = plt.subplots(figsize=(6.0, 5.0), constrained_layout=True)
    for i, name in enumerate(names):
        m = np.asarray([str(w) == name for w in works])
        ax.scatter(xy[m, 0], xy[m, 1], s=22, color=cmap(i % 20), label=name if len(names) <= 12 else None)
    if len(names) <= 12:
        ax.legend(fontsize=6, loc="best")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(title or f"embeddings of {len(works)} items, {len(names)} cliques")
    return _finish(fig, path)
