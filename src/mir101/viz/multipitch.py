"""Plots of multi-pitch estimation: salience against the truth, piano rolls.

Book page: ``book/multipitch.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_salience_vs_truth", "plot_pianoroll", "OUTCOME_COLOURS"]

#: correct / false alarm / missed, from the Okabe-Ito palette (distinct for colour-blind readers)
OUTCOME_COLOURS = {"correct": "#0072B2", "false alarm": "#E69F00", "missed": "#CC79A7"}


def _hex(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def _pitch_ticks(ax, midi: np.ndarray) -> None:
    """Note names on every C, a faint line on every semitone (positions are bin indices)."""
    from mir101.utils.pitch import note_name

    semis = [i for i, m in enumerate(midi) if abs(m - round(m)) < 1e-6]
    cs = [i for i in semis if int(round(midi[i])) % 12 == 0]
    ax.set_yticks(cs)
    ax.set_yticklabels([note_name(int(round(midi[i]))) for i in cs])
    ax.set_yticks(semis, minor=True)
    ax.grid(axis="y", which="minor", color="0.5", alpha=0.15, lw=0.5)
    ax.grid(axis="y", which="major", color="0.3", alpha=0.35, lw=0.7)


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
    from matplotlib.patches import Patch

    rgb = np.ones(truth.shape + (3,), np.float32)
    masks = {"correct": estimate & truth, "false alarm": estimate & ~truth, "missed": truth & ~estimate}
    for label, mask in masks.items():
        rgb[mask] = _hex(OUTCOME_COLOURS[label])
    axes[1].imshow(rgb, origin="lower", aspect="auto", extent=extent, interpolation="nearest")
    axes[1].set_title("estimate vs truth")
    axes[1].legend(
        handles=[
            Patch(color=c, label=f"{k} ({int(masks[k].sum())} bins)") for k, c in OUTCOME_COLOURS.items()
        ],
        loc="upper right",
        fontsize=8,
        framealpha=0.9,
    )
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
    notes: list[tuple[float, float, int]] | None = None,
) -> None:
    """The salience in grey, the notes written to MIDI as bars, note names on every C and a
    semitone grid; the figure widens with the audio (about 5 s per inch, up to 60 inches) so that a
    one-minute piece stays readable. Saved to ``path``.

    Args:
        salience, active: ``(freq, frames)``; ``active`` is drawn as dots when ``notes`` is None.
        notes: ``(start s, end s, MIDI)`` as :func:`~mir101.tasks.multipitch.frames_to_notes` gives.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    duration = float(times[-1] - times[0]) if len(times) > 1 else 1.0
    fig, ax = plt.subplots(figsize=(min(max(8.0, duration / 5), 60.0), 5), constrained_layout=True)
    extent = (float(times[0]), float(times[-1]) if len(times) > 1 else 1.0, -0.5, len(midi) - 0.5)
    ax.imshow(salience, origin="lower", aspect="auto", extent=extent, cmap="Greys", vmin=0, vmax=1)
    colour = OUTCOME_COLOURS["correct"]
    if notes:
        per_semitone = 1.0 / float(np.median(np.diff(midi))) if len(midi) > 1 else 1.0
        for start, end, m in notes:
            y = (m - midi[0]) * per_semitone
            ax.add_patch(
                Rectangle(
                    (start, y - 0.4 * per_semitone),
                    end - start,
                    0.8 * per_semitone,
                    color=colour,
                    alpha=0.8,
                    lw=0,
                )
            )
        ax.plot([], [], color=colour, lw=6, label=f"notes ({len(notes)}, as written to MIDI)")
    else:
        f, t = np.nonzero(active)
        ax.scatter(times[t], f, s=2, c=colour, label="estimated pitch")
    _pitch_ticks(ax, midi)
    ax.set_xlim(extent[0], extent[1])
    ax.set_xlabel("time (s)")
    ax.set_ylabel("pitch")
    ax.set_title(title)
    ax.legend(loc="upper right")
    fig.savefig(path, dpi=110)
    plt.close(fig)
