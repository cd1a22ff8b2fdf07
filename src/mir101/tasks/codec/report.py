"""What the codec report shows beyond the metrics table: the bitrate ladder, reconstructions to listen to, the latent space.

- the RVQ's scores with its first ``n`` codebooks (quantizer dropout: one model, several bitrates);
- a few held-out notes and their reconstructions as WAV files (original, then decoded);
- a 2-D projection (PCA) of each note's latent averaged over time, coloured by pitch and by
  instrument family: a bottleneck that kept the musical information lays pitch out smoothly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mir101.tasks.reports import markdown_table
from mir101.tasks.result import EvalResult

__all__ = ["codec_sections", "pca_2d", "plot_latents"]


def pca_2d(latents: np.ndarray) -> np.ndarray:
    """The first two principal components ``(items, 2)`` of ``(items, dim)`` vectors."""
    centred = latents - latents.mean(axis=0, keepdims=True)
    if centred.shape[1] < 2:
        centred = np.pad(centred, ((0, 0), (0, 2 - centred.shape[1])))
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def plot_latents(
    points: np.ndarray, pitches: np.ndarray, families: list[str], path: Path, title: str
) -> None:
    """Two scatter plots of the same 2-D points: coloured by MIDI pitch, and by family."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    sc = axes[0].scatter(points[:, 0], points[:, 1], c=pitches, cmap="viridis", s=14)
    fig.colorbar(sc, ax=axes[0], label="MIDI pitch")
    names = sorted(set(families))
    colours = plt.get_cmap("tab10")
    for k, name in enumerate(names):
        mask = np.array([f == name for f in families])
        axes[1].scatter(points[mask, 0], points[mask, 1], s=14, color=colours(k % 10), label=name)
    axes[1].legend(fontsize=7, loc="best")
    for ax, what in zip(axes, ("pitch", "instrument family")):
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
        ax.set_title(f"{title}: by {what}", fontsize=9)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def codec_sections(result: EvalResult, run_dir: Path, sr: int) -> list[str]:
    """The markdown sections (and the files they link) of a codec run's report."""
    import soundfile as sf

    run_dir = Path(run_dir)
    info: dict[str, Any] = result.extras.get("codec", {})
    sections = []
    if info:
        rate = (
            f"{info['n_quantizers']} codebook(s) of {info['codebook_size']} codes"
            if info["kind"] == "tokens"
            else f"float32 latents of {int(info['bits_per_frame'] // 32)} values"
        )
        sections.append(
            f"Codec: `{info['bottleneck']}` bottleneck, {info['frame_rate_hz']:g} latent frames per second "
            f"(hop {info['hop']} at {info['sr']} Hz), {rate}: **{info['kbps']:.2f} kbps**."
        )
    ladder = result.extras.get("by_quantizers") or {}
    if ladder:
        rows = [
            [int(n), s["kbps"], s["mel_distance"], s["si_sdr"]]
            for n, s in sorted(ladder.items(), key=lambda kv: int(kv[0]))
        ]
        sections.append(
            "## Bitrate ladder (test set)\n\nThe same model decoding with its first `n` codebooks.\n\n"
            + markdown_table(["codebooks", "kbps", "mel_distance", "si_sdr"], rows)
        )
    audio = result.examples.get("audio") or []
    if audio:
        (run_dir / "audio").mkdir(parents=True, exist_ok=True)
        lines = ["## Reconstructions\n\nHeld-out notes, original then decoded:\n"]
        for set_name, key, original, decoded in audio:
            for tag, signal in (("original", original), ("decoded", decoded)):
                rel = f"audio/{set_name}_{key}_{tag}.wav"
                sf.write(run_dir / rel, np.clip(signal, -1, 1).astype(np.float32), sr)
                lines.append(f"- {set_name} `{key}` {tag}: [{Path(rel).name}]({rel})")
        sections.append("\n".join(lines))
    latents = result.examples.get("latents")
    if latents is not None and len(latents["vectors"]) >= 2:
        (run_dir / "figures").mkdir(parents=True, exist_ok=True)
        png = "figures/latents.png"
        plot_latents(
            pca_2d(latents["vectors"]),
            latents["pitches"],
            latents["families"],
            run_dir / png,
            latents["title"],
        )
        sections.append(
            "## Latent space\n\nEach held-out note's latent, averaged over time, projected on its first two "
            f"principal components.\n\n![latents by pitch and family]({png})"
        )
    return sections
