"""Classification scores: hand-computed cases, the libraries they wrap, and their conventions."""

from __future__ import annotations

import doctest
import importlib

import mir_eval
import numpy as np
import pytest
from sklearn.metrics import average_precision_score, balanced_accuracy_score, roc_auc_score

from mir101.errors import ShapeError
from mir101.metrics import (
    METRICS,
    confusion,
    frame_accuracy,
    mir_eval_chord,
    multiclass_scores,
    multilabel_scores,
    per_tag_scores,
)


def test_docstring_examples():
    module = importlib.import_module("mir101.metrics.classification")
    assert doctest.testmod(module, extraglobs={"np": np}).failed == 0


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_multiclass_by_hand():
    # class 0: 3 items, 2 right; class 1: 1 item, right; class 2 predicted once, never true
    t, p = [0, 0, 0, 1], [0, 0, 2, 1]
    s = multiclass_scores(t, p)
    assert s["accuracy"] == pytest.approx(0.75)
    assert s["macro_recall"] == pytest.approx((2 / 3 + 1) / 2)  # over the reference's classes only
    assert s["macro_recall"] == pytest.approx(balanced_accuracy_score(t, p))
    assert s["macro_precision"] == pytest.approx((1 + 1) / 2)
    assert s["macro_f1"] == pytest.approx((0.8 + 1.0) / 2)
    assert confusion(t, p, 3).tolist() == [[2, 0, 1], [0, 1, 0], [0, 0, 0]]


def test_majority_guess_scores_one_over_classes():
    t = [0, 0, 1, 2]
    s = multiclass_scores(t, [0, 0, 0, 0])
    assert s["macro_recall"] == pytest.approx(1 / 3) and s["accuracy"] == 0.5


def test_multilabel_against_sklearn_and_unscorable_tags():
    rng = np.random.default_rng(0)
    t = (rng.random((40, 4)) < 0.4).astype(int)
    t[:, 3] = 1  # a tag on every item: no ROC curve, left out of the means
    s = rng.random((40, 4)) + 0.5 * t
    per = per_tag_scores(t, s)
    for j in range(3):
        assert per["roc_auc"][j] == pytest.approx(roc_auc_score(t[:, j], s[:, j]))
        assert per["pr_auc"][j] == pytest.approx(average_precision_score(t[:, j], s[:, j]))
    assert np.isnan(per["roc_auc"][3]) and per["positives"][3] == 40
    r = multilabel_scores(t, s)
    assert r["tags_scored"] == 3
    assert r["roc_auc_macro"] == pytest.approx(np.mean(per["roc_auc"][:3]))
    assert r["pr_auc_macro"] == pytest.approx(np.mean(per["pr_auc"][:3]))


def test_constant_scores_are_chance():
    t = np.array([[1, 0], [0, 1], [1, 0], [0, 0]])
    r = multilabel_scores(t, np.tile([0.5, 0.25], (4, 1)))  # tag priors: the same score everywhere
    assert r["roc_auc_macro"] == 0.5
    assert r["pr_auc_macro"] == pytest.approx((0.5 + 0.25) / 2)  # the prevalence of each tag


def test_mir_eval_chord_pools_items_by_duration():
    a = (np.array([[0.0, 2.0]]), ["C:maj"], np.array([[0.0, 2.0]]), ["C:maj"])  # 2 s right
    b = (np.array([[0.0, 1.0], [1.0, 2.0]]), ["A:min", "G:7"], np.array([[0.0, 2.0]]), ["A:min"])
    s = mir_eval_chord([a, b])
    assert s["majmin"] == pytest.approx(3 / 4) and s["seconds"] == pytest.approx(4.0)
    # the same as mir_eval's own weighted accuracy on b alone
    iv, r, e = mir_eval.util.merge_labeled_intervals(b[0], b[1], b[2], b[3])
    expected = mir_eval.chord.weighted_accuracy(
        mir_eval.chord.majmin(r, e), mir_eval.util.intervals_to_durations(iv)
    )
    assert mir_eval_chord([b])["majmin"] == pytest.approx(expected)
    # a missing estimate counts as N; root ignores the quality
    c = (np.array([[0.0, 2.0]]), ["D:min"], np.array([[0.0, 1.0]]), ["D:maj"])
    s = mir_eval_chord([c])
    assert s["majmin"] == 0.0 and s["root"] == pytest.approx(0.5)


def test_out_of_vocabulary_reference_weighs_nothing():
    d = (np.array([[0.0, 1.0], [1.0, 2.0]]), ["B:dim", "C:maj"], np.array([[0.0, 2.0]]), ["C:maj"])
    assert mir_eval_chord([d])["majmin"] == 1.0


def test_frame_accuracy_registry_and_shape_errors():
    assert frame_accuracy([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75
    for name in ("multiclass_scores", "multilabel_scores", "per_tag_scores", "mir_eval_chord", "confusion"):
        assert METRICS.get(name) is not None
    with pytest.raises(ShapeError, match="same shape"):
        multiclass_scores([0, 1], [0])
    with pytest.raises(ShapeError, match=r"\(items, tags\)"):
        multilabel_scores([0, 1], [0.2, 0.3])
    with pytest.raises(ShapeError, match="empty"):
        multiclass_scores([], [])
