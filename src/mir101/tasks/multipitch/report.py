"""What the multi-pitch report shows beyond the metrics table: salience against the truth.

For each evaluation set, an excerpt of its first item: the network's salience, the annotated
pitches and the picked peaks, so that misses (octaves, quiet inner voices) and false alarms are
seen, not only counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mir101.tasks.multipitch.decoding import pick_peaks
from mir101.tasks.result import EvalResult

__all__ = ["multipitch_sections"]


def multipitch_sections(task: Any, result: EvalResult, run_dir: Path) -> list[str]:
    """The threshold, the speed and one salience-vs-truth excerpt per evaluation set.

    ``task`` is the :class:`~mir101.tasks.multipitch.MultiPitch` of the run; the excerpts come from
    ``result.examples`` (absent when the result was read back from ``metrics.json``).
    """
    from mir101.viz.multipitch import plot_salience_vs_truth

    run_dir = Path(run_dir)
    (run_dir / "figures").mkdir(parents=True, exist_ok=True)
    threshold = float(result.extras.get("threshold", 0.5))
    sections = [
        f"Threshold {threshold:.2f} (chosen on the validation works). Metrics: `mir_eval.multipitch`, "
        "frames of all items pooled."
    ]
    speed = result.extras.get("speed") or {}
    if speed:
        sections.append(
            f"Inference (features + model + peak picking): {speed['audio_s_per_s']} s of audio per "
            f"second on {speed['threads']} CPU threads."
        )
    grid = task.grid
    for name, (key, (times, sal, truth)) in result.examples.items():
        hop = float(times[1] - times[0]) if len(times) > 1 else 1.0
        n = min(len(times), int(task.options.excerpt_seconds / hop))
        png = f"figures/salience_{name}.png"
        est = pick_peaks(sal[:, :n], threshold)
        plot_salience_vs_truth(
            sal[:, :n], truth[:, :n], est, times[:n], grid.midi(), run_dir / png, title=f"{name}: {key}"
        )
        sections.append(f"## Excerpt ({name}: `{key}`)\n\n![salience vs truth]({png})")
    return sections
