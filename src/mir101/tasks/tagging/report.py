"""What the tagging and chord reports show beyond the metrics table.

Tagging: the baseline beside the model, the confusion matrix (multi-class) or the per-tag table
(multi-label) of every evaluation set, the tag-o-gram of one item per set and, for a waveform
front-end, the frequency responses of its learned filters. Chords: the baseline, and the
chordogram of one item per set against its reference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mir101.tasks.reports import markdown_table
from mir101.tasks.result import EvalResult

__all__ = ["tagging_sections", "chord_sections", "baseline_section"]


def _figures(run_dir: Path) -> Path:
    out = Path(run_dir) / "figures"
    out.mkdir(parents=True, exist_ok=True)
    return out


def baseline_section(result: EvalResult, metrics: tuple[str, ...]) -> str:
    """A table: the model and each baseline of ``result.extras['baselines']`` on every set."""
    baselines = result.extras.get("baselines") or {}
    if not baselines:
        return ""
    rows = []
    for name, scores in result.sets.items():
        rows.append([name, "model", *(scores.get(m, "") for m in metrics)])
        for base, sets in baselines.items():
            if name in sets:
                rows.append([name, base, *(sets[name].get(m, "") for m in metrics)])
    return "## Model vs baseline\n\n" + markdown_table(["set", "system", *metrics], rows)


def _speed_line(result: EvalResult) -> str:
    speed = result.extras.get("speed") or {}
    if not speed:
        return ""
    return (
        f"Inference (input features + network): {speed['audio_s_per_s']} s of audio per second on "
        f"{speed['threads']} CPU threads."
    )


def tagging_sections(task: Any, result: EvalResult, run_dir: Path) -> list[str]:
    """Sections of a :class:`~mir101.tasks.tagging.Tagging` report (figures in ``run_dir/figures``)."""
    from mir101.viz.tagging import plot_confusion, plot_filter_responses, plot_tagogram

    figures = _figures(run_dir)
    classes = list(result.extras.get("classes") or task.classes)
    multilabel = bool(result.extras.get("multilabel"))
    o = task.options
    patch_s = task.cfg.data.patch_frames * task.hop_seconds
    sections = [
        f"Label `{o.label}`, {len(classes)} classes, "
        + ("multi-label (a sigmoid per class, BCE)" if multilabel else "multi-class (softmax, cross-entropy)")
        + f". Item prediction: the {o.item_pooling} of the logits of patches of {patch_s:.2f} s "
        f"(hop {o.eval_hop:.2f} patch) over the whole item. Metrics: scikit-learn, on held-out items.",
        _speed_line(result),
    ]
    metrics = (
        ("roc_auc_macro", "pr_auc_macro", "macro_f1")
        if multilabel
        else ("macro_recall", "accuracy", "macro_f1")
    )
    sections.append(baseline_section(result, metrics))
    if multilabel:
        for name, per in (result.extras.get("per_tag") or {}).items():
            rows = [
                [tag, s["positives"], "" if s["roc_auc"] is None else s["roc_auc"],
                 "" if s["pr_auc"] is None else s["pr_auc"]]
                for tag, s in per.items()
            ]  # fmt: skip
            sections.append(
                f"## Per tag ({name})\n\nROC-AUC and PR-AUC of each tag (empty: the set has only "
                "positives or only negatives of it).\n\n"
                + markdown_table(["tag", "positives", "ROC-AUC", "PR-AUC"], rows)
            )
    else:
        for name, matrix in (result.extras.get("confusion") or {}).items():
            png = f"figures/confusion_{name}.png"
            plot_confusion(
                matrix, classes, figures / f"confusion_{name}.png", title=f"{name}: confusion matrix"
            )
            sections.append(f"## Confusion matrix ({name})\n\n![confusion matrix]({png})")
    for name, ex in (result.examples.get("tagograms") or {}).items():
        png = f"figures/tagogram_{name}.png"
        n = max(1, int(sum(ex["times"] <= ex["times"][0] + o.excerpt_seconds)))
        plot_tagogram(ex["times"][:n], ex["probs"][:, :n], classes, figures / f"tagogram_{name}.png",
                      title=f"{name}: {ex['key']}", truth=ex["truth"])  # fmt: skip
        sections.append(f"## Tag-o-gram ({name}: `{ex['key']}`)\n\n![tag-o-gram]({png})")
    filters = result.examples.get("filters")
    if filters is not None:
        kind, freqs, db = filters
        plot_filter_responses(freqs, db, figures / "filters.png", title=f"learned {kind} filters")
        sections.append(f"## Learned filters ({kind})\n\n![frequency responses](figures/filters.png)")
    return [s for s in sections if s]


def chord_sections(task: Any, result: EvalResult, run_dir: Path) -> list[str]:
    """Sections of a :class:`~mir101.tasks.tagging.ChordRecognition` report."""
    from mir101.data.targets import CHORD_LABELS
    from mir101.viz.tagging import plot_chordogram

    figures = _figures(run_dir)
    sections = [
        "Metrics: `mir_eval.chord` (majmin, root) weighted by duration over the segments of all "
        "items, and the frame accuracy of the 25 classes (12 major, 12 minor, N). Sets ending in "
        "`_expert` are scored against the expert harmonic analyses instead of the score's chords.",
        _speed_line(result),
        baseline_section(result, ("majmin", "root", "frame_accuracy")),
    ]
    for name, ex in result.examples.items():
        png = f"figures/chordogram_{name}.png"
        t = ex["times"]
        n = max(1, int(sum(t <= t[0] + task.options.excerpt_seconds)))
        plot_chordogram(t[:n], ex["probs"][:, :n], ex["truth"][:n], ex["estimate"][:n], CHORD_LABELS,
                        figures / f"chordogram_{name}.png", title=f"{name}: {ex['key']}")  # fmt: skip
        sections.append(f"## Chordogram ({name}: `{ex['key']}`)\n\n![chordogram]({png})")
    return [s for s in sections if s]
