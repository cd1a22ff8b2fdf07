"""What the self-supervised report shows beyond the metrics table.

The probes of the trained encoder beside the random one's (table and curves against the labelled
fraction), the collapse monitors over training (loss, embedding std, alignment, uniformity) and
the held-out items' embeddings in two principal components for both encoders.

Book page: ``book/ssl.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mir101.tasks.reports import markdown_table
from mir101.tasks.result import EvalResult

__all__ = ["ssl_sections"]


def ssl_sections(task: Any, result: EvalResult, run_dir: Path) -> list[str]:
    """Sections of a :class:`~mir101.tasks.ssl.SelfSupervised` report (figures in ``run_dir/figures``)."""
    from mir101.tasks.ssl.task import PROBE_METRICS
    from mir101.viz.ssl import plot_collapse, plot_embeddings, plot_probes

    figures = Path(run_dir) / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    o = task.options
    sections = [
        f"Encoder: the model minus its last {o.drop_last} layer(s), {result.extras.get('embedding_dim')}-d "
        f"embeddings; loss `{o.loss}` {dict(o.loss_args or {})}; projector {list(o.projector)} -> "
        f"{o.projection_dim} (dropped after training). Probes: logistic regression on the frozen "
        f"embeddings with {', '.join(result.extras.get('fractions') or [])} of the labelled training "
        "items (mean of the draws below 100 %)."
    ]
    baselines = result.extras.get("baselines") or {}
    metrics = [k for k in next(iter(result.sets.values()), {}) if k != "items"]
    rows = []
    for name, scores in result.sets.items():
        rows.append([name, "ssl", *(scores.get(m, "") for m in metrics)])
        for base, sets in baselines.items():
            if name in sets:
                rows.append([name, base, *(sets[name].get(m, "") for m in metrics)])
    sections.append(
        "## Probes: trained vs random encoder\n\n" + markdown_table(["set", "encoder", *metrics], rows)
    )
    probes = result.extras.get("probes") or {}
    multilabel = {str(p["label"]): bool(p.get("multilabel", False)) for p in o.probes}
    for label, tables in probes.items():
        metric = PROBE_METRICS[multilabel.get(label, False)][0]
        png = figures / f"probe_{label}.png"
        plot_probes(tables, metric, "test", png, title=f"probe '{label}' (test)")
        sections.append(f"### Probe `{label}`\n\n![probe {label}](figures/{png.name})")
    csv = Path(run_dir) / "logs" / "metrics.csv"
    if csv.is_file():
        plot_collapse(csv, figures / "collapse.png")
        sections.append(
            "## Collapse monitors\n\nOn the projections during training (where the loss acts): the "
            "standard deviation of the normalised embeddings (0: collapse), the alignment of positive "
            "pairs (lower: closer views) and the uniformity of the batch (0: collapse; lower: spread "
            "on the sphere); `encoder_std`: the same standard deviation on the encoder's output, "
            "batch mean removed.\n\n"
            "![collapse](figures/collapse.png)"
        )
    emb = result.examples.get("embeddings") or {}
    if emb:
        first = next(iter(emb.values()))
        plot_embeddings({k: v["x"] for k, v in emb.items()}, first["labels"], figures / "embeddings.png")
        sections.append(
            f"## Embeddings\n\nHeld-out items, two principal components, coloured by `{first['label']}`."
            "\n\n![embeddings](figures/embeddings.png)"
        )
    return sections
