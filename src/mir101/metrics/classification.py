"""Classification scores: multi-class (one label per item), multi-label (tags) and chords over time.

Thin wrappers: scikit-learn computes every multi-class and multi-label score, ``mir_eval.chord``
every chord score; this module only fixes the conventions a results table needs.

- **Multi-class** (genre, ensemble, instrument family): accuracy, and recall / precision / F1 per
  class averaged over the classes that occur in the reference (*macro*, every class weighs the
  same however rare it is; macro recall is scikit-learn's balanced accuracy). A class predicted but
  absent from the reference counts through the errors it causes, not as a class of its own.
- **Multi-label** (instruments, user tags): ROC-AUC and PR-AUC (average precision) per tag from the
  scores, threshold-free, averaged over the tags that have both positive and negative items in the
  reference (a tag with one kind only has no ROC curve); F1 at a fixed threshold beside them.
- **Chords**: ``mir_eval.chord`` ``majmin`` and ``root``, weighted by duration over the segments of
  all items pooled (MIREX's weighted chord symbol recall), and the frame accuracy of class indices.

References:
    F. Pedregosa et al. "Scikit-learn: Machine Learning in Python", JMLR 2011.
    C. Raffel et al. "mir_eval: A Transparent Implementation of Common MIR Metrics", ISMIR 2014.
    J. Pauwels, G. Peeters. "Evaluating automatically estimated chord sequences", ICASSP 2013.

Book page: ``book/tagging.md``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from mir101.errors import ShapeError
from mir101.metrics.registry import METRICS

__all__ = [
    "multiclass_scores",
    "confusion",
    "multilabel_scores",
    "per_tag_scores",
    "mir_eval_chord",
    "frame_accuracy",
]


def _ints(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1:
        raise ShapeError(f"{name} must be 1-D class indices (items,), got shape {a.shape}")
    return a.astype(np.int64)


@METRICS.register("multiclass_scores")
def multiclass_scores(y_true: Any, y_pred: Any) -> dict[str, float]:
    """Accuracy and macro recall / precision / F1 of class indices.

    Args:
        y_true, y_pred: ``(items,)`` reference and predicted class indices.

    Returns:
        ``accuracy``, ``macro_recall``, ``macro_precision``, ``macro_f1``: macro means over the
        classes present in ``y_true`` (a precision with no prediction of its class is 0).

    Examples:
        >>> s = multiclass_scores([0, 0, 0, 1], [0, 0, 1, 1])
        >>> s["accuracy"], s["macro_recall"]
        (0.75, 0.8333333333333333)
    """
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    t, p = _ints(y_true, "y_true"), _ints(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ShapeError(f"y_true {t.shape} and y_pred {p.shape} must have the same shape")
    if not len(t):
        raise ShapeError("no item to score (y_true is empty)")
    labels = np.unique(t)
    with warnings.catch_warnings():  # "y_pred contains classes not in y_true": the convention here
        warnings.simplefilter("ignore", UserWarning)
        prec, rec, f1, _ = precision_recall_fscore_support(
            t, p, labels=labels, average="macro", zero_division=0
        )
    return {
        "accuracy": float(accuracy_score(t, p)),
        "macro_recall": float(rec),
        "macro_precision": float(prec),
        "macro_f1": float(f1),
    }


@METRICS.register("confusion")
def confusion(y_true: Any, y_pred: Any, n_classes: int) -> np.ndarray:
    """``(n_classes, n_classes)`` counts: row = reference class, column = predicted class.

    Examples:
        >>> confusion([0, 0, 1], [0, 1, 1], 3).tolist()
        [[1, 1, 0], [0, 1, 0], [0, 0, 0]]
    """
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(_ints(y_true, "y_true"), _ints(y_pred, "y_pred"), labels=np.arange(n_classes))


def _multilabel(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray]:
    t, s = np.asarray(y_true), np.asarray(y_score, dtype=np.float64)
    if t.ndim != 2 or t.shape != s.shape:
        raise ShapeError(f"y_true and y_score must both be (items, tags), got {t.shape} and {s.shape}")
    if not len(t):
        raise ShapeError("no item to score (y_true is empty)")
    return (t > 0.5).astype(np.int64), s


@METRICS.register("per_tag_scores")
def per_tag_scores(y_true: Any, y_score: Any) -> dict[str, np.ndarray]:
    """ROC-AUC and PR-AUC (average precision) of each tag; NaN where the reference of a tag has
    positives only or negatives only.

    Args:
        y_true: ``(items, tags)`` 0/1 reference.
        y_score: ``(items, tags)`` scores (probabilities or logits: only their order matters).

    Returns:
        ``roc_auc``, ``pr_auc``, ``positives`` (reference count per tag), each ``(tags,)``.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    t, s = _multilabel(y_true, y_score)
    n_tags = t.shape[1]
    roc, pr = np.full(n_tags, np.nan), np.full(n_tags, np.nan)
    for j in range(n_tags):
        if 0 < t[:, j].sum() < len(t):
            roc[j] = roc_auc_score(t[:, j], s[:, j])
            pr[j] = average_precision_score(t[:, j], s[:, j])
    return {"roc_auc": roc, "pr_auc": pr, "positives": t.sum(axis=0)}


@METRICS.register("multilabel_scores")
def multilabel_scores(y_true: Any, y_score: Any, threshold: float = 0.5) -> dict[str, float]:
    """Macro ROC-AUC and PR-AUC over the tags that can be scored, and macro F1 at a threshold.

    Args:
        y_true: ``(items, tags)`` 0/1 reference.
        y_score: ``(items, tags)`` probabilities.
        threshold: decision threshold of ``macro_f1`` (a tag is predicted when its probability is
            at least ``threshold``).

    Returns:
        ``roc_auc_macro``, ``pr_auc_macro`` (NaN when no tag has both positives and negatives),
        ``macro_f1`` (over the tags with a positive item) and ``tags_scored``.

    Examples:
        >>> t = [[1, 0], [0, 1], [1, 1], [0, 0]]
        >>> s = [[0.9, 0.2], [0.1, 0.8], [0.7, 0.3], [0.2, 0.1]]
        >>> r = multilabel_scores(t, s)
        >>> r["roc_auc_macro"], r["pr_auc_macro"], r["tags_scored"]
        (1.0, 1.0, 2)
    """
    from sklearn.metrics import f1_score

    t, s = _multilabel(y_true, y_score)
    per = per_tag_scores(t, s)
    ok = np.isfinite(per["roc_auc"])
    present = t.sum(axis=0) > 0
    f1 = (
        f1_score(
            t[:, present], (s[:, present] >= threshold).astype(np.int64), average="macro", zero_division=0
        )
        if present.any()
        else float("nan")
    )
    return {
        "roc_auc_macro": float(per["roc_auc"][ok].mean()) if ok.any() else float("nan"),
        "pr_auc_macro": float(per["pr_auc"][ok].mean()) if ok.any() else float("nan"),
        "macro_f1": float(f1),
        "tags_scored": int(ok.sum()),
    }


@METRICS.register("frame_accuracy")
def frame_accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of frames whose predicted class index equals the reference's.

    Examples:
        >>> frame_accuracy([0, 1, 1, 24], [0, 1, 2, 24])
        0.75
    """
    t, p = _ints(y_true, "y_true"), _ints(y_pred, "y_pred")
    if t.shape != p.shape or not len(t):
        raise ShapeError(f"y_true {t.shape} and y_pred {p.shape} must have the same non-zero length")
    return float((t == p).mean())


ChordItem = tuple[np.ndarray, Sequence[str], np.ndarray, Sequence[str]]


@METRICS.register("mir_eval_chord")
def mir_eval_chord(
    items: Sequence[ChordItem], metrics: Sequence[str] = ("majmin", "root")
) -> dict[str, float]:
    """``mir_eval.chord`` scores of several items, weighted by duration over all of them.

    Each item's estimate is laid on the reference's time span (``mir_eval.util.adjust_intervals``:
    what the estimate does not cover counts as ``N``), the two segmentations are merged, and every
    merged segment weighs its duration; the weights of all items are pooled, so a long item counts
    more than a short one (MIREX's weighted chord symbol recall). Segments whose reference is out of
    the metric's vocabulary (e.g. ``X``, or a diminished chord for ``majmin``) weigh nothing.

    Args:
        items: per item ``(ref_intervals (n, 2) s, ref_labels, est_intervals (m, 2) s, est_labels)``
            with Harte labels (``C:maj``, ``A:min7``, ``N``).
        metrics: names of ``mir_eval.chord`` comparison functions (``majmin``, ``root``,
            ``thirds``, ``mirex``...).

    Returns:
        each metric's score, plus ``seconds`` (reference duration scored).

    Examples:
        >>> ref = (np.array([[0.0, 1.0], [1.0, 2.0]]), ["C:maj", "A:min"])
        >>> est = (np.array([[0.0, 1.5], [1.5, 2.0]]), ["C:maj7", "A:min"])
        >>> mir_eval_chord([(*ref, *est)])["majmin"]
        0.75
    """
    import mir_eval

    totals = {m: 0.0 for m in metrics}
    weights = {m: 0.0 for m in metrics}
    seconds = 0.0
    for ref_iv, ref_lab, est_iv, est_lab in items:
        ref_iv, est_iv = np.asarray(ref_iv, float), np.asarray(est_iv, float)
        if not len(ref_iv):
            continue
        est_iv, est_lab = mir_eval.util.adjust_intervals(
            est_iv,
            list(est_lab),
            ref_iv.min(),
            ref_iv.max(),
            mir_eval.chord.NO_CHORD,
            mir_eval.chord.NO_CHORD,
        )
        iv, ref_m, est_m = mir_eval.util.merge_labeled_intervals(ref_iv, list(ref_lab), est_iv, est_lab)
        durations = mir_eval.util.intervals_to_durations(iv)
        seconds += float(durations.sum())
        for m in metrics:
            comparison = np.asarray(getattr(mir_eval.chord, m)(ref_m, est_m), dtype=float)
            valid = comparison >= 0  # -1: reference out of the metric's vocabulary
            totals[m] += float((comparison[valid] * durations[valid]).sum())
            weights[m] += float(durations[valid].sum())
    out = {m: (totals[m] / weights[m] if weights[m] > 0 else float("nan")) for m in metrics}
    out["seconds"] = round(seconds, 3)
    return out
