"""Training curves from a run folder's CSV log.

Book page: ``book/intro.md`` (run folders).
"""

from __future__ import annotations

import csv
from pathlib import Path

__all__ = ["read_history", "plot_history"]


def read_history(csv_path: str | Path, x: str = "epoch") -> dict[str, list[tuple[int, float]]]:
    """``metric -> [(x, value)]`` from Lightning's ``metrics.csv`` (epoch-level rows); ``x`` is
    ``"epoch"`` or ``"step"`` (the optimizer step the row was logged at)."""
    out: dict[str, list[tuple[int, float]]] = {}
    with open(csv_path, newline="") as fid:
        for row in csv.DictReader(fid):
            at = row.get(x)
            if row.get("epoch") in ("", None) or at in ("", None):
                continue
            for k, v in row.items():
                if k in ("epoch", "step") or v in ("", None):
                    continue
                out.setdefault(k, []).append((int(float(at)), float(v)))
    return out


def plot_history(csv_path: str | Path, path: str | Path) -> None:
    """Losses (left) and validation metrics (right) against optimizer steps, each named as logged
    (``train/loss``, ``val/f1``...)."""
    import matplotlib.pyplot as plt

    hist = read_history(csv_path, x="step")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), constrained_layout=True)
    for name, pts in sorted(hist.items()):
        ax = axes[0] if name.endswith("loss") else axes[1]
        ax.plot([p[0] + 1 for p in pts], [p[1] for p in pts], marker="o", ms=3, label=name)
    axes[0].set_title("losses (training and validation)")
    axes[1].set_title("validation metrics")
    for ax in axes:
        ax.set_xlabel("optimizer steps")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    fig.savefig(path, dpi=100)
    plt.close(fig)
