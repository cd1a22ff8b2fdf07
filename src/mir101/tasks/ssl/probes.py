"""Linear probes: a logistic regression on frozen embeddings, with a fraction of the labels.

Paper: Alain & Bengio, "Understanding intermediate layers using linear classifier probes", ICLR
2017 workshop, https://arxiv.org/abs/1610.01644; the protocol of SimCLR (Chen et al. 2020,
https://arxiv.org/abs/2002.05709, section 4) and CLMR (Spijkervet & Burgoyne, ISMIR 2021,
https://arxiv.org/abs/2103.09410): the encoder is frozen, only a linear classifier is trained on
its embeddings, so the score measures what the representation makes *linearly* readable.

With 1 % or 10 % of the labelled items the probe sees very few examples: the subset is drawn per
class (at least one item of each class, multi-class) and the draw is repeated with other seeds;
the scores are their mean. Classifiers: scikit-learn's ``LogisticRegression`` on standardised
embeddings (one-vs-rest for several labels per item).

Book page: ``book/ssl.md``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mir101.errors import ParameterError
from mir101.metrics.classification import multiclass_scores, multilabel_scores

__all__ = ["labelled_subset", "fit_probe", "probe_scores", "probe_table", "fraction_name"]


def fraction_name(fraction: float) -> str:
    """``0.01 -> '1%'``, ``1.0 -> '100%'``."""
    pct = 100 * float(fraction)
    return f"{pct:g}%"


def labelled_subset(y: np.ndarray, fraction: float, seed: int, multilabel: bool = False) -> np.ndarray:
    """Indices of the labelled items kept for a probe trained on ``fraction`` of the labels.

    Multi-class: ``max(1, round(fraction * n_c))`` items of each class ``c``. Multi-label: a random
    ``max(2, round(fraction * n))`` items. ``fraction = 1`` keeps them all.

    Examples:
        >>> labelled_subset(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 0.25, seed=0).size
        2
    """
    if not 0 < fraction <= 1:
        raise ParameterError(f"labelled fraction {fraction} must be in (0, 1]")
    n = len(y)
    if fraction >= 1:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    if multilabel:
        return np.sort(rng.permutation(n)[: max(2, int(round(fraction * n)))])
    keep = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        keep.extend(rng.permutation(idx)[: max(1, int(round(fraction * len(idx))))])
    return np.sort(np.asarray(keep, dtype=np.int64))


def fit_probe(x: np.ndarray, y: np.ndarray, multilabel: bool = False, c: float = 1.0, seed: int = 0) -> Any:
    """A fitted scikit-learn pipeline: standardisation + logistic regression (one-vs-rest when
    ``multilabel``; ``y``: ``(items,)`` class indices or ``(items, tags)`` 0/1)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf: Any = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    if multilabel:
        clf = OneVsRestClassifier(clf)
    probe = make_pipeline(StandardScaler(), clf)
    with warnings.catch_warnings():  # a tag with no positive in a small subset: constant predictor
        warnings.simplefilter("ignore")
        probe.fit(np.asarray(x, np.float64), y)
    return probe


def probe_scores(probe: Any, x: np.ndarray, y: np.ndarray, multilabel: bool = False) -> dict[str, float]:
    """Scores of a fitted probe on held-out embeddings: macro recall and accuracy (multi-class;
    a class unseen by the probe is never predicted), or macro ROC-AUC and PR-AUC (multi-label)."""
    x = np.asarray(x, np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if multilabel:
            s = multilabel_scores(y, probe.predict_proba(x))
            return {"roc_auc_macro": s["roc_auc_macro"], "pr_auc_macro": s["pr_auc_macro"]}
        s = multiclass_scores(y, probe.predict(x))
    return {"macro_recall": s["macro_recall"], "accuracy": s["accuracy"]}


def probe_table(
    train: tuple[np.ndarray, np.ndarray],
    held_out: Mapping[str, tuple[np.ndarray, np.ndarray]],
    fractions: Sequence[float],
    multilabel: bool = False,
    repeats: int = 3,
    c: float = 1.0,
    seed: int = 0,
) -> dict[str, dict[str, dict[str, float]]]:
    """Probe scores for every labelled fraction on every held-out set.

    Args:
        train: ``(x, y)`` embeddings ``(items, dim)`` and labels of the probe's training items.
        held_out: set name -> ``(x, y)``.
        fractions: labelled fractions of ``train`` (``1.0``: all of it).
        repeats: draws of the subset for each fraction below 1 (scores averaged).

    Returns:
        set name -> fraction name (``'1%'``) -> metric -> mean score.
    """
    x, y = train
    out: dict[str, dict[str, dict[str, float]]] = {name: {} for name in held_out}
    for fraction in fractions:
        draws = 1 if fraction >= 1 else max(int(repeats), 1)
        acc: dict[str, list[dict[str, float]]] = {name: [] for name in held_out}
        for r in range(draws):
            idx = labelled_subset(y, fraction, seed + 1000 * r, multilabel)
            probe = fit_probe(x[idx], y[idx], multilabel, c, seed)
            for name, (xs, ys) in held_out.items():
                acc[name].append(probe_scores(probe, xs, ys, multilabel))
        for name, runs in acc.items():
            out[name][fraction_name(fraction)] = {
                k: float(np.nanmean([run[k] for run in runs])) for k in runs[0]
            } | {"labelled_items": float(len(labelled_subset(y, fraction, seed, multilabel)))}
    return out
