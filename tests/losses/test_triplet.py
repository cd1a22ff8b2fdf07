"""Triplet loss and miner: hand-computed values, each strategy meets its definition, gradients."""

from __future__ import annotations

import pytest
import torch

from mir101.errors import ParameterError, ShapeError
from mir101.losses import TripletLoss, TripletMiner, pairwise_distances

E = torch.tensor([[0.0], [1.0], [3.0]])
LABELS = torch.tensor([0, 0, 1])


def random_batch(seed=0, p=4, k=4, dim=3):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(p * k, dim, generator=g), torch.arange(p).repeat_interleave(k)


def test_pairwise_distances_match_cdist_with_finite_gradient():
    x, _ = random_batch()
    assert torch.allclose(pairwise_distances(x), torch.cdist(x, x), atol=1e-5)
    assert torch.allclose(pairwise_distances(x, squared=True), torch.cdist(x, x) ** 2, atol=1e-4)
    x = torch.cat([x, x[:1]]).requires_grad_()  # two identical rows: distance 0
    pairwise_distances(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_hard_loss_hand_computed():
    # anchor 0: hardest positive 1 (d=1), negative 2 (d=3): max(1 - 3 + 3, 0) = 1
    # anchor 1: positive 0 (d=1), negative 2 (d=2): max(1 - 2 + 3, 0) = 2; anchor 2 has no positive
    assert TripletLoss(margin=3.0, strategy="hard")(E, LABELS).item() == pytest.approx(1.5)
    assert TripletLoss(margin=0.5, strategy="hard")(E, LABELS).item() == 0.0


def test_semihard_hand_computed():
    # pairs (0, 1): d_ap = 1, negative 2 at d = 3: semi-hard iff 3 < 1 + margin
    # pairs (1, 0): d_ap = 1, negative 2 at d = 2: semi-hard iff 2 < 1 + margin
    t = TripletMiner("semihard", margin=1.5)(E, LABELS)
    assert (t.anchor.tolist(), t.positive.tolist(), t.negative.tolist()) == ([1], [0], [2])
    assert TripletLoss(margin=1.5, strategy="semihard")(E, LABELS).item() == pytest.approx(1 - 2 + 1.5)
    assert len(TripletMiner("semihard", margin=3.0)(E, LABELS)) == 2


@pytest.mark.parametrize("seed", range(5))
def test_every_strategy_meets_its_definition(seed):
    x, labels = random_batch(seed)
    d = torch.cdist(x, x)
    same = labels[:, None] == labels[None, :]
    margin = 0.5
    for strategy in ("random", "semihard", "hard"):
        t = TripletMiner(strategy, margin=margin)(x, labels)
        a, p, n = t.anchor, t.positive, t.negative
        assert (labels[a] == labels[p]).all() and (a != p).all() and (labels[a] != labels[n]).all()
        if strategy == "random":
            assert sorted(a.tolist()) == list(range(len(labels)))  # one triplet per anchor
        if strategy == "semihard":
            assert len(t) > 0
            assert (d[a, p] < d[a, n]).all() and (d[a, n] < d[a, p] + margin).all()
            # and the hardest such negative
            for ai, pi, ni in zip(a, p, n):
                cands = (~same[ai]) & (d[ai] > d[ai, pi]) & (d[ai] < d[ai, pi] + margin)
                assert d[ai, ni] == d[ai][cands].min()
            # no pair with a semi-hard negative is left out
            pairs = set(zip(a.tolist(), p.tolist()))
            for ai, pi in torch.nonzero(same & ~torch.eye(len(labels), dtype=torch.bool)).tolist():
                has = ((~same[ai]) & (d[ai] > d[ai, pi]) & (d[ai] < d[ai, pi] + margin)).any()
                assert bool(has) == ((ai, pi) in pairs)
        if strategy == "hard":
            assert sorted(a.tolist()) == list(range(len(labels)))
            for ai, pi, ni in zip(a, p, n):
                assert d[ai, pi] == pytest.approx(d[ai][same[ai]].max().item(), abs=1e-5)
                assert d[ai, ni] == pytest.approx(d[ai][~same[ai]].min().item(), abs=1e-5)


def test_random_strategy_draws_differ_and_are_seedable():
    x, labels = random_batch(0, p=3, k=6)
    miner = TripletMiner("random")
    draw = [miner(x, labels, generator=torch.Generator().manual_seed(s)) for s in (1, 1, 2)]
    assert torch.equal(draw[0].positive, draw[1].positive) and torch.equal(draw[0].negative, draw[1].negative)
    assert not (
        torch.equal(draw[0].positive, draw[2].positive) and torch.equal(draw[0].negative, draw[2].negative)
    )


@pytest.mark.parametrize("strategy", ["random", "semihard", "hard"])
def test_gradient_flows_and_a_step_lowers_the_loss(strategy):
    x, labels = random_batch(1)
    x.requires_grad_()
    loss_fn = TripletLoss(margin=1.0, strategy=strategy)
    torch.manual_seed(0)
    loss = loss_fn(x, labels)
    loss.backward()
    assert loss > 0 and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    if strategy != "random":  # a deterministic miner: the same triplets see a lower loss
        with torch.no_grad():
            assert loss_fn(x - 0.05 * x.grad, labels) < loss


def test_no_triplet_gives_zero_with_a_graph():
    x = torch.randn(3, 2, requires_grad=True)
    loss = TripletLoss()(x, torch.tensor([0, 1, 2]))  # no positives at all
    loss.backward()
    assert loss.item() == 0.0 and (x.grad == 0).all()


def test_bad_arguments():
    with pytest.raises(ParameterError, match="strategy='easy'"):
        TripletMiner("easy")
    with pytest.raises(ParameterError, match="margin=-1"):
        TripletMiner("hard", margin=-1)
    with pytest.raises(ShapeError, match=r"\(4, 2\).*\(3,\)"):
        TripletLoss()(torch.randn(4, 2), torch.zeros(3))


# A hand-made distance matrix (symmetric, not from embeddings) where the right choice is known.
# Works: A = {0, 1, 2}, B = {3, 4}, C = {5}. Item 1 duplicates item 0 (distance 0): a positive
# closer than any negative, the trap of a miner that would take "closest other item" as negative.
HAND = torch.tensor(
    [  # 0    1    2    3    4    5
        [0.0, 0.0, 1.0, 1.3, 2.5, 0.8],  # 0: positives 1 (0.0), 2 (1.0); negatives 5 (0.8), 3 (1.3), 4 (2.5)
        [0.0, 0.0, 1.0, 1.3, 2.5, 0.8],  # 1: same as 0
        [1.0, 1.0, 0.0, 1.2, 0.9, 3.0],  # 2: positives 0, 1 (1.0); negatives 4 (0.9), 3 (1.2), 5 (3.0)
        [1.3, 1.3, 1.2, 0.0, 2.0, 1.4],  # 3: positive 4 (2.0); negatives 2 (1.2), 0/1 (1.3), 5 (1.4)
        [2.5, 2.5, 0.9, 2.0, 0.0, 2.2],  # 4: positive 3 (2.0); negatives 2 (0.9), 5 (2.2), 0/1 (2.5)
        [0.8, 0.8, 3.0, 1.4, 2.2, 0.0],  # 5: alone in its work: never an anchor
    ]
)
HAND_LABELS = torch.tensor([0, 0, 0, 1, 1, 2])


def _triples(t):
    return sorted(zip(t.anchor.tolist(), t.positive.tolist(), t.negative.tolist()))


def test_hard_mining_on_a_hand_made_matrix():
    t = TripletMiner("hard").mine_distances(HAND, HAND_LABELS)
    # farthest positive, closest negative (ties: the first index); item 1 is never a negative of 0
    assert _triples(t) == [(0, 2, 5), (1, 2, 5), (2, 0, 4), (3, 4, 2), (4, 3, 2)]


def test_semihard_mining_on_a_hand_made_matrix():
    t = TripletMiner("semihard", margin=0.5).mine_distances(HAND, HAND_LABELS)
    # (a, p): d_ap, negatives inside (d_ap, d_ap + 0.5), the closest of them:
    #   (0, 1): 0.0 -> none inside (0, 0.5)             (0, 2): 1.0 -> 3 (1.3)
    #   (1, 0): 0.0 -> none                              (1, 2): 1.0 -> 3 (1.3)
    #   (2, 0), (2, 1): 1.0 -> 3 (1.2)  (4 at 0.9 is closer than the positive: hard, not semi-hard)
    #   (3, 4): 2.0 -> none inside (2.0, 2.5)            (4, 3): 2.0 -> 5 (2.2)
    assert _triples(t) == [(0, 2, 3), (1, 2, 3), (2, 0, 3), (2, 1, 3), (4, 3, 5)]
    a, p, n = t.anchor, t.positive, t.negative
    assert (HAND[a, p] < HAND[a, n]).all() and (HAND[a, n] < HAND[a, p] + 0.5).all()


@pytest.mark.parametrize("seed", range(20))
def test_random_mining_on_a_hand_made_matrix_never_takes_a_positive_as_negative(seed):
    t = TripletMiner("random").mine_distances(HAND, HAND_LABELS, torch.Generator().manual_seed(seed))
    assert sorted(t.anchor.tolist()) == [0, 1, 2, 3, 4]  # item 5 has no positive
    for a, p, n in _triples(t):
        assert HAND_LABELS[a] == HAND_LABELS[p] and a != p and HAND_LABELS[a] != HAND_LABELS[n]


def test_mine_distances_checks_its_shape():
    with pytest.raises(ShapeError, match="mine_distances"):
        TripletMiner().mine_distances(HAND[:3], HAND_LABELS)
