"""What the generation report shows: real, generated and codec notes side by side, and quality against ODE steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mir101.tasks.reports import markdown_table
from mir101.tasks.result import EvalResult

__all__ = ["generation_sections", "plot_by_steps"]


def plot_by_steps(by_steps: dict[str, dict[str, float]], path: Path) -> None:
    """Frechet distance(s) and pitch accuracy against the number of ODE steps."""
    import matplotlib.pyplot as plt

    steps = sorted(int(s) for s in by_steps)
    fig, ax = plt.subplots(figsize=(6, 3.6), constrained_layout=True)
    for key, style in (("fd_mfcc", "o-"), ("fd_encoder", "s-")):
        if all(key in by_steps[str(s)] for s in steps):
            ax.plot(steps, [by_steps[str(s)][key] for s in steps], style, label=key)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("ODE steps")
    ax.set_ylabel("Frechet distance (lower is better)")
    if all("pitch_accuracy" in by_steps[str(s)] for s in steps):
        ax2 = ax.twinx()
        ax2.plot(
            steps,
            [by_steps[str(s)]["pitch_accuracy"] for s in steps],
            "^--",
            color="tab:red",
            label="pitch accuracy",
        )
        ax2.set_ylabel("pitch accuracy", color="tab:red")
        ax2.set_ylim(0, 1)
    ax.legend(loc="upper center", fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def generation_sections(result: EvalResult, run_dir: Path, sr: int) -> list[str]:
    """Markdown sections (and the WAV / PNG files they link) of a generation run's report."""
    import soundfile as sf

    run_dir = Path(run_dir)
    sections = []
    info: dict[str, Any] = result.extras.get("codec", {})
    if info:
        sections.append(
            f"Generator: **{result.extras.get('paradigm')}** on a `{info.get('bottleneck')}` codec "
            f"({info.get('frame_rate_hz', 0):g} frames/s). Sets: `test` generated notes vs held-out real notes, "
            "`ceiling` the codec's reconstructions of those real notes, `floor` decoded random codes."
        )
    if "real_pitch_accuracy" in result.extras:
        sections.append(
            f"PESTO's pitch accuracy on the real held-out notes themselves: {result.extras['real_pitch_accuracy']:.3f}."
        )
    by_steps = result.extras.get("by_steps") or {}
    if by_steps:
        (run_dir / "figures").mkdir(parents=True, exist_ok=True)
        png = "figures/by_steps.png"
        plot_by_steps(by_steps, run_dir / png)
        keys = sorted({k for v in by_steps.values() for k in v})
        rows = [
            [int(s), *[by_steps[s].get(k, float("nan")) for k in keys]] for s in sorted(by_steps, key=int)
        ]
        sections.append(
            "## Quality against ODE steps\n\n"
            + markdown_table(["steps", *keys], rows)
            + f"\n\n![FD and pitch accuracy against steps]({png})"
        )
    audio = result.examples.get("audio") or []
    if audio:
        (run_dir / "audio").mkdir(parents=True, exist_ok=True)
        lines = [
            "## Listen: real, generated, codec\n\nFor held-out notes: the real note, a note generated with its "
            "pitch and family, and the codec's reconstruction of the real note.\n"
        ]
        for key, signals in audio:
            lines.append(f"- `{key}`")
            for tag in ("real", "generated", "codec"):
                rel = f"audio/{key}_{tag}.wav"
                sf.write(run_dir / rel, np.clip(signals[tag], -1, 1).astype(np.float32), sr)
                lines.append(f"  - {tag}: [{Path(rel).name}]({rel})")
        sections.append("\n".join(lines))
    return sections
