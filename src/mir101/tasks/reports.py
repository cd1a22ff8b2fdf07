"""Run reports: ``report.md`` with a metrics table and the plots people want to look at."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["write_report", "multipitch_report"]

_MP_COLUMNS = (
    "Accuracy",
    "Precision",
    "Recall",
    "Chroma Accuracy",
    "Chroma Precision",
    "Chroma Recall",
    "items",
)


def write_report(run_dir: Path, title: str, sections: list[str]) -> Path:
    path = run_dir / "report.md"
    path.write_text(f"# {title}\n\n" + "\n\n".join(sections) + "\n", encoding="utf-8")
    return path


def _history_section(run_dir: Path) -> list[str]:
    from mir101.viz.training import plot_history

    csv = run_dir / "logs" / "metrics.csv"
    if not csv.is_file():
        return []
    (run_dir / "figures").mkdir(exist_ok=True)
    plot_history(csv, run_dir / "figures" / "history.png")
    info = run_dir / "training.json"
    extra = ""
    if info.is_file():
        t = json.loads(info.read_text())
        extra = f"\n\n{t.get('epochs')} epochs in {t.get('train_seconds')} s."
    return [f"## Training\n\n![training curves](figures/history.png){extra}"]


def multipitch_report(
    task: Any, run_dir: Path, results: dict[str, Any], examples: dict[str, Any], threshold: float
) -> Path:
    """Metrics table (mir_eval.multipitch) for every evaluated set, salience-vs-truth excerpts."""
    from mir101.tasks.multipitch import pick_peaks
    from mir101.viz.multipitch import plot_salience_vs_truth

    run_dir = Path(run_dir)
    (run_dir / "figures").mkdir(parents=True, exist_ok=True)
    names = [n for n in results if isinstance(results[n], dict) and "Accuracy" in results[n]]
    rows = ["| set | " + " | ".join(_MP_COLUMNS) + " |", "|---" * (len(_MP_COLUMNS) + 1) + "|"]
    for n in names:
        r = results[n]
        rows.append(
            f"| {n} | " + " | ".join(f"{r[c]:.3f}" if c != "items" else str(r[c]) for c in _MP_COLUMNS) + " |"
        )
    cfg = task.cfg
    sections = [
        f"Task `multipitch`, input `{cfg.input.name}`, model: {sum(p.numel() for p in task.build_model().parameters()):,} parameters. "
        f"Threshold {threshold:.2f} (chosen on the validation works). Metrics: `mir_eval.multipitch`, frames of all items pooled.",
        "## Results\n\n" + "\n".join(rows),
    ]
    speed = results.get("speed") or {}
    if speed:
        sections.append(
            f"Inference (features + model + peak picking): {speed['audio_s_per_s']} s of audio per second on {speed['threads']} CPU threads."
        )
    grid = task.grid
    for name, (key, (times, sal, truth)) in examples.items():
        hop = float(times[1] - times[0]) if len(times) > 1 else 1.0
        n = min(len(times), int(task.options.excerpt_seconds / hop))
        png = f"figures/salience_{name}.png"
        est = pick_peaks(sal[:, :n], threshold)
        plot_salience_vs_truth(
            sal[:, :n], truth[:, :n], est, times[:n], grid.midi(), run_dir / png, title=f"{name}: {key}"
        )
        sections.append(f"## Excerpt ({name}: `{key}`)\n\n![salience vs truth]({png})")
    sections += _history_section(run_dir)
    return write_report(run_dir, "Multi-pitch estimation report", sections)
