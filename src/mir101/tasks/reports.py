"""The parts of ``report.md`` every task shares: the header, the metrics tables, the training curves.

A task's report is these sections around its own (:meth:`~mir101.tasks.base.Task.report_sections`:
salience excerpts, confusion matrices, tag-o-grams...). This module knows no task.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mir101.tasks.result import EvalResult

__all__ = ["write_report", "header_section", "results_section", "history_section", "markdown_table"]


def write_report(run_dir: Path, title: str, sections: list[str]) -> Path:
    """Write ``run_dir/report.md`` atomically from a title and markdown sections."""
    from mir101.utils.io import atomic_path

    path = Path(run_dir) / "report.md"
    with atomic_path(path) as tmp:
        tmp.write_text(f"# {title}\n\n" + "\n\n".join(s for s in sections if s) + "\n", encoding="utf-8")
    return path


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table; floats with 3 decimals."""

    def cell(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def header_section(task: Any) -> str:
    """Task, input and model size of a run (``task`` is a :class:`~mir101.tasks.base.Task`)."""
    cfg = task.cfg
    n_params = sum(p.numel() for p in task.build_model().parameters())
    name = cfg.input.name if cfg.input else "none"
    return f"Task `{task.name}`, input `{name}`, model: {n_params:,} parameters."


def results_section(result: EvalResult, columns: Sequence[str] | None = None) -> str:
    """One row per evaluation set; ``columns`` (default: every metric, primary first)."""
    if not result.sets:
        return "## Results\n\nNo evaluation set had items."
    if columns is None:
        seen: list[str] = [result.primary]
        for scores in result.sets.values():
            seen += [k for k in scores if k not in seen and k != "items"]
        columns = [*seen, "items"]
    rows = [[name, *(scores.get(c, "") for c in columns)] for name, scores in result.sets.items()]
    better = "higher" if result.higher_is_better else "lower"
    return (
        f"## Results\n\nPrimary metric: **{result.primary}** ({better} is better).\n\n"
        + markdown_table(["set", *columns], rows)
    )


def history_section(run_dir: Path) -> list[str]:
    """Training curves (``logs/metrics.csv``) and the length of training, if the run trained."""
    from mir101.viz.training import plot_history

    run_dir = Path(run_dir)
    csv = run_dir / "logs" / "metrics.csv"
    if not csv.is_file():
        return []
    (run_dir / "figures").mkdir(exist_ok=True)
    plot_history(csv, run_dir / "figures" / "history.png")
    info = run_dir / "training.json"
    extra = ""
    if info.is_file():
        try:
            t = json.loads(info.read_text())
            extra = f"\n\n{t.get('steps')} steps ({t.get('epochs')} epochs) in {t.get('train_seconds')} s."
        except (json.JSONDecodeError, AttributeError):
            extra = ""
    return [f"## Training\n\n![training curves](figures/history.png){extra}"]
