"""What the cover report shows beyond the metrics table: the classic baseline beside the model on
both protocols, the distance matrix sorted by clique and a 2-D map of the embeddings per set.

Book page: ``book/cover.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mir101.tasks.reports import markdown_table
from mir101.tasks.result import EvalResult

__all__ = ["cover_sections", "COMPARED"]

#: the metrics of the model-vs-baseline table
COMPARED = ("MAP_ii", "MRR_ii", "P@1_ii", "P@10_ii", "MAP_i", "MRR_i", "MR1_i", "P@10_i")


def cover_sections(task: Any, result: EvalResult, run_dir: Path) -> list[str]:
    from mir101.viz.cover import plot_distance_matrix, plot_embeddings

    out = []
    baselines = result.extras.get("baselines") or {}
    base = baselines.get("classic") or {}
    same = baselines.get("classic_input") or {}
    rows = []
    for name, scores in result.sets.items():
        rows.append([name, "model", *(_fmt(scores.get(m)) for m in COMPARED)])
        if name in base:
            rows.append([name, "classic (chroma + OTI + DTW)", *(_fmt(base[name].get(m)) for m in COMPARED)])
        if name in same:
            rows.append([name, "classic on this input (OTI + DTW)", *(_fmt(same[name].get(m)) for m in COMPARED)])
    out.append(
        "## Model vs classic baseline\n\n(i): every other version is relevant; (ii): only other "
        "chorales of the melody, the query chorale's own renditions removed.\n\n"
        + markdown_table(["set", "system", *COMPARED], rows)
    )
    figs = Path(run_dir) / "figures"
    sets = (result.examples or {}).get("sets") or {}
    if sets:
        figs.mkdir(parents=True, exist_ok=True)
        lines = ["## Distances and embeddings"]
        for name, ex in sets.items():
            plot_distance_matrix(
                ex["dist"], ex["works"], figs / f"cover_distances_{name}.png", title=f"{name}: distances"
            )
            plot_embeddings(
                ex["emb"],
                ex["works"],
                figs / f"cover_embeddings_{name}.png",
                title=f"{name}: embeddings (PCA)",
            )
            lines.append(f"![{name} distances](figures/cover_distances_{name}.png)")
            lines.append(f"![{name} embeddings](figures/cover_embeddings_{name}.png)")
        out.append("\n\n".join(lines))
    return out


def _fmt(x: Any) -> str:
    return "" if x is None else f"{float(x):.3f}"
