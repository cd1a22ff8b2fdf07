"""Ranking metrics (MAP, MR1, P@k) against a hand-computed collection."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mir101.errors import ParameterError, ShapeError
from mir101.metrics import (
    METRICS,
    evaluate_ranking,
    mean_average_precision,
    mean_rank_first,
    mean_reciprocal_rank,
    precision_at_k,
    relevance_ranks,
)

# five items on a line: works 0 (items 0, 1, 2) and 1 (items 3, 4); distance = |p_i - p_j|
POS = np.array([0.0, 1.0, 5.0, 2.0, 6.0])
LABELS = np.array([0, 0, 0, 1, 1])
D = np.abs(POS[:, None] - POS[None, :])
# ranked candidates (ties by index) and the ranks of the relevant ones:
#   q0: 1+ 3 2+ 4  -> ranks 1, 3    AP = (1/1 + 2/3) / 2 = 5/6
#   q1: 0+ 3 2+ 4  -> ranks 1, 3    AP = 5/6    (items 0 and 3 tie at 1: index order)
#   q2: 4 3 1+ 0+  -> ranks 3, 4    AP = (1/3 + 2/4) / 2 = 5/12
#   q3: 1 0 2 4+   -> rank 4        AP = 1/4
#   q4: 2 3+ 1 0   -> rank 2        AP = 1/2
MAP = (5 / 6 + 5 / 6 + 5 / 12 + 1 / 4 + 1 / 2) / 5
MR1 = (1 + 1 + 3 + 4 + 2) / 5
MRR = (1 + 1 + 1 / 3 + 1 / 4 + 1 / 2) / 5
P1 = (1 + 1 + 0 + 0 + 0) / 5
P2 = (0.5 + 0.5 + 0 + 0 + 0.5) / 5


def test_hand_computed_scores():
    assert mean_average_precision(D, LABELS) == pytest.approx(MAP)
    assert mean_rank_first(D, LABELS) == pytest.approx(MR1)
    assert mean_reciprocal_rank(D, LABELS) == pytest.approx(MRR)
    assert precision_at_k(D, LABELS, k=1) == pytest.approx(P1)
    assert precision_at_k(D, LABELS, k=2) == pytest.approx(P2)
    assert evaluate_ranking(D, LABELS, ks=(1, 2)) == pytest.approx(
        {"MAP": MAP, "MR1": MR1, "MRR": MRR, "P@1": P1, "P@2": P2, "queries": 5.0}
    )


def test_the_query_itself_is_never_a_candidate():
    relevant, has = relevance_ranks(D, LABELS)
    assert relevant.shape == (5, 4) and has.all()
    assert relevant.sum(axis=1).tolist() == [2, 2, 2, 1, 1]  # the other versions only


def test_similarity_and_torch_inputs_agree():
    assert evaluate_ranking(-D, LABELS, similarity=True) == evaluate_ranking(D, LABELS)
    assert evaluate_ranking(torch.tensor(D), torch.tensor(LABELS)) == evaluate_ranking(D, LABELS)


def test_queries_without_versions_are_left_out():
    # a sixth item, alone in its work, far from the others: a candidate but not a query
    pos = np.append(POS, 10.0)
    d = np.abs(pos[:, None] - pos[None, :])
    scores = evaluate_ranking(d, np.append(LABELS, 2), ks=(1, 2))
    assert scores == pytest.approx({"MAP": MAP, "MR1": MR1, "MRR": MRR, "P@1": P1, "P@2": P2, "queries": 5.0})
    assert np.isnan(mean_average_precision(np.ones((3, 3)), [0, 1, 2]))


def test_perfect_and_k_beyond_the_collection():
    d = np.abs(np.subtract.outer([0, 0.1, 5, 5.1], [0, 0.1, 5, 5.1]))
    labels = [0, 0, 1, 1]
    assert evaluate_ranking(d, labels, ks=(1, 10)) == {
        "MAP": 1.0,
        "MR1": 1.0,
        "MRR": 1.0,
        "P@1": 1.0,
        "P@10": 0.1,
        "queries": 4.0,
    }


def test_registry_and_errors():
    assert METRICS.get("mean_average_precision") is mean_average_precision
    with pytest.raises(ShapeError, match=r"\(3, 3\).*\(2, 2\)"):
        mean_average_precision(np.zeros((2, 2)), [0, 0, 1])
    with pytest.raises(ParameterError, match="k=0"):
        precision_at_k(D, LABELS, k=0)


def test_excluded_candidates_are_neither_ranked_nor_relevant():
    # protocol (ii): items 0 and 1 are renditions of one chorale of work 0, item 2 another chorale
    # of work 0; query 0 must find item 2 with item 1 removed from its candidates
    #   q0: candidates 3 2+ 4 (1 removed) -> rank 2  AP 1/2
    #   q1: candidates 3 2+ 4 (0 removed) -> rank 2  AP 1/2   (0 and 3 were tied at 1)
    #   q2: 4 3 1+ 0+                     -> ranks 3, 4  AP 5/12
    #   q3, q4 as without exclusion       -> AP 1/4, 1/2
    exclude = np.zeros((5, 5), bool)
    exclude[0, 1] = exclude[1, 0] = True
    scores = evaluate_ranking(D, LABELS, ks=(1, 4), exclude=exclude)
    assert scores["MAP"] == pytest.approx((1 / 2 + 1 / 2 + 5 / 12 + 1 / 4 + 1 / 2) / 5)
    assert scores["MR1"] == pytest.approx((2 + 2 + 3 + 4 + 2) / 5)
    assert scores["MRR"] == pytest.approx((1 / 2 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 2) / 5)
    # P@4: q0 has 3 candidates left, the 4th rank counts as wrong
    assert scores["P@4"] == pytest.approx((1 / 4 + 1 / 4 + 2 / 4 + 1 / 4 + 1 / 4) / 5)
    # a query whose only relevant candidates are excluded has nothing to find: left out
    exclude[3, 4] = exclude[4, 3] = True
    assert evaluate_ranking(D, LABELS, exclude=exclude)["queries"] == 3.0
    with pytest.raises(ShapeError, match="exclude"):
        evaluate_ranking(D, LABELS, exclude=np.zeros((2, 2), bool))
