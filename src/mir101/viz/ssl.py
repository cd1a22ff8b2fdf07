"""Plots of self-supervised learning: collapse monitors over training, probe scores, embeddings.

Every function draws arrays computed elsewhere (:mod:`mir101.tasks.ssl`) and saves (and closes)
the figure when ``path`` is given.

Book page: ``book/ssl.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mir101.viz.training import read_history

__all__ = ["COLLAPSE_METRICS", "plot_collapse", "plot_probes", "plot_embeddings"]

#: the collapse monitors logged during training, one panel each
COLLAPSE_METRICS = ("loss", "embedding_std", "alignment", "uniformity", "encoder_std")


def _finish(fig: Any, path: str | Path | None) -> Any:
    if path is not None:
        import matplotlib.pyplot as plt

        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig


def plot_collapse(csv_path: str | Path, path: str | Path | None = None) -> Any:
    """The loss and the three collapse monitors (training and validation) against epochs, from a
    run's ``logs/metrics.csv``."""
    import matplotlib.pyplot as plt

    hist = read_history(csv_path, x="epoch")
    fig, axes = plt.subplots(1, len(COLLAPSE_METRICS), figsize=(16, 3), constrained_layout=True)
    for ax, metric in zip(axes, COLLAPSE_METRICS):
        for stage in ("train", "val"):
            pts = hist.get(f"{stage}/{metric}")
            if pts:
                ax.plot([p[0] + 1 for p in pts], [p[1] for p in pts], marker="o", ms=3, label=stage)
        ax.set_title(metric)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    axes[1].axhline(0, color="k", lw=0.8, ls=":")  # collapse
    return _finish(fig, path)


def plot_probes(
    tables: Mapping[str, Mapping[str, Mapping[str, Any]]],
    metric: str,
    set_name: str = "test",
    path: str | Path | None = None,
    title: str = "",
) -> Any:
    """Probe score against the labelled fraction, one line per encoder.

    Args:
        tables: encoder -> set -> fraction name (``'1%'``) -> metric -> value
            (:func:`~mir101.tasks.ssl.probes.probe_table` per encoder).
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2), constrained_layout=True)
    for encoder, sets in tables.items():
        rows = sets.get(set_name) or {}
        fractions = list(rows)
        ax.plot(range(len(fractions)), [rows[f][metric] for f in fractions], marker="o", label=encoder)
        ax.set_xticks(range(len(fractions)), fractions)
    ax.set_xlabel("labelled training items")
    ax.set_ylabel(metric)
    ax.set_title(title or f"linear probe ({set_name})")
    ax.grid(alpha=0.3)
    ax.legend()
    return _finish(fig, path)


def plot_embeddings(
    embeddings: Mapping[str, np.ndarray],
    labels: Sequence[str],
    path: str | Path | None = None,
    title: str = "",
) -> Any:
    """2-D principal components of item embeddings, one panel per encoder, coloured by label."""
    import matplotlib.pyplot as plt

    names = list(embeddings)
    fig, axes = plt.subplots(
        1, len(names), figsize=(4.5 * len(names), 4), constrained_layout=True, squeeze=False
    )
    classes = sorted(set(labels))
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    for ax, name in zip(axes[0], names):
        x = np.asarray(embeddings[name], np.float64)
        x = (x - x.mean(0)) / (x.std(0) + 1e-8)
        if len(x) >= 2:
            _, _, vt = np.linalg.svd(x, full_matrices=False)
            xy = x @ vt[:2].T if vt.shape[0] >= 2 else np.c_[x @ vt[:1].T, np.zeros(len(x))]
        else:
            xy = np.zeros((len(x), 2))
        for i, c in enumerate(classes):
            sel = [j for j, lab in enumerate(labels) if lab == c]
            ax.scatter(xy[sel, 0], xy[sel, 1], s=18, color=cmap(i % cmap.N), label=c)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    if classes and classes != [""]:
        axes[0][-1].legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title)
    return _finish(fig, path)
