"""Triplet loss with a margin, and the online miner that picks triplets inside a batch.

Paper: Schroff, Kalenichenko & Philbin, "FaceNet: A Unified Embedding for Face Recognition and
Clustering", CVPR 2015, https://arxiv.org/abs/1503.03832 (batch-hard mining: Hermans, Beyer &
Leibe, "In Defense of the Triplet Loss for Person Re-Identification", 2017,
https://arxiv.org/abs/1703.07737)

An anchor ``a`` should be closer to a positive ``p`` (same label: another version of the same work
in cover-song identification) than to a negative ``n`` (another work) by at least a margin:
``L = max(d(a, p) - d(a, n) + margin, 0)``. Most triplets of a batch already satisfy it and teach
nothing, so triplets are *mined* online from the batch's embeddings (:class:`TripletMiner`); the
:class:`~mir101.data.samplers.PKSampler` makes batches of P works x K versions so that every anchor
has positives to mine from.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mir101.errors import ParameterError, ShapeError

__all__ = ["pairwise_distances", "Triplets", "TripletMiner", "TripletLoss", "MINING_STRATEGIES"]

#: the strategies :class:`TripletMiner` knows
MINING_STRATEGIES = ("random", "semihard", "hard")


def pairwise_distances(embeddings: Tensor, squared: bool = False) -> Tensor:
    """Euclidean distances between all rows, ``(batch, dim) -> (batch, batch)``, zero on the diagonal.

    The gradient is finite even where two embeddings coincide (the square root is not taken at 0).
    """
    dot = embeddings @ embeddings.T
    sq = dot.diagonal()
    d2 = (sq[:, None] - 2.0 * dot + sq[None, :]).clamp(min=0.0)
    if squared:
        return d2
    zero = d2 == 0
    return torch.sqrt(d2 + zero.to(d2.dtype) * 1e-16) * (~zero).to(d2.dtype)


@dataclass
class Triplets:
    """Indices into the batch of the mined triplets, each ``(n_triplets,)`` of dtype long."""

    anchor: Tensor
    positive: Tensor
    negative: Tensor

    def __len__(self) -> int:
        return int(self.anchor.numel())


def _check_batch(embeddings: Tensor, labels: Tensor) -> None:
    if embeddings.dim() != 2 or labels.dim() != 1 or labels.shape[0] != embeddings.shape[0]:
        raise ShapeError(
            "triplet mining needs embeddings (batch, dim) and labels (batch,), "
            f"got {tuple(embeddings.shape)} and {tuple(labels.shape)}"
        )


class TripletMiner(nn.Module):
    """Pick triplets ``(anchor, positive, negative)`` from a batch of embeddings and their labels.

    Strategies (``d`` is the Euclidean distance, squared if ``squared=True``):

    - ``"random"``: for every anchor that has a positive and a negative in the batch, one positive
      and one negative drawn at random.
    - ``"semihard"`` (FaceNet, eq. 4 and section 3.2): every anchor-positive pair, with its hardest
      *semi-hard* negative, the closest ``n`` with ``d(a, p) < d(a, n) < d(a, p) + margin``; pairs
      that have none are dropped (their loss would be 0 or their negative too hard to start with).
    - ``"hard"`` (batch-hard, Hermans et al.): for every anchor, its farthest positive and its
      closest negative.

    Mining looks at detached distances; the loss is computed afterwards with gradients.

    Args:
        strategy: ``"random"``, ``"semihard"`` or ``"hard"``.
        margin: the triplet margin (used by ``"semihard"``).
        squared: mine on squared Euclidean distances (FaceNet) instead of distances.

    Shape:
        - embeddings: ``(batch, dim)``; labels: ``(batch,)`` (integers, e.g. work ids)
        - output: :class:`Triplets` of ``(n_triplets,)`` index tensors

    Examples:
        >>> miner = TripletMiner("hard")
        >>> t = miner(torch.tensor([[0.0], [1.0], [3.0]]), torch.tensor([0, 0, 1]))
        >>> t.anchor.tolist(), t.positive.tolist(), t.negative.tolist()
        ([0, 1], [1, 0], [2, 2])

    References:
        Schroff et al., "FaceNet", CVPR 2015, https://arxiv.org/abs/1503.03832;
        Hermans et al., "In Defense of the Triplet Loss for Person Re-Identification", 2017,
        https://arxiv.org/abs/1703.07737
    """

    def __init__(self, strategy: str = "semihard", margin: float = 0.2, squared: bool = False):
        super().__init__()
        if strategy not in MINING_STRATEGIES:
            raise ParameterError(
                f"TripletMiner: strategy='{strategy}' must be one of {list(MINING_STRATEGIES)}"
            )
        if margin < 0:
            raise ParameterError(f"TripletMiner: margin={margin} must be >= 0")
        self.strategy, self.margin, self.squared = strategy, float(margin), squared

    @torch.no_grad()
    def forward(
        self, embeddings: Tensor, labels: Tensor, generator: torch.Generator | None = None
    ) -> Triplets:
        _check_batch(embeddings, labels)
        dist = pairwise_distances(embeddings.detach().float(), squared=self.squared)  # (batch, batch)
        return self.mine_distances(dist, labels, generator)

    @torch.no_grad()
    def mine_distances(
        self, dist: Tensor, labels: Tensor, generator: torch.Generator | None = None
    ) -> Triplets:
        """Mine from a ``(batch, batch)`` distance matrix directly (what :meth:`forward` does after
        computing the distances; hand-made matrices in the tests)."""
        if dist.dim() != 2 or dist.shape != (len(labels), len(labels)):
            raise ShapeError(
                f"mine_distances needs distances (batch, batch) for labels (batch,), got "
                f"{tuple(dist.shape)} and {tuple(labels.shape)}"
            )
        same = labels[:, None] == labels[None, :]
        eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
        pos_mask, neg_mask = same & ~eye, ~same  # (batch, batch)
        return getattr(self, f"_{self.strategy}")(dist, pos_mask, neg_mask, generator)

    def _random(self, dist: Tensor, pos: Tensor, neg: Tensor, generator: torch.Generator | None) -> Triplets:
        valid = pos.any(1) & neg.any(1)
        noise = torch.rand(dist.shape, generator=generator, device="cpu").to(dist.device)
        # a random member of each mask: the argmax of uniform noise restricted to the mask
        p = torch.where(pos, noise, -1.0).argmax(1)
        n = torch.where(neg, noise, -1.0).argmax(1)  # the masks are disjoint: independent draws
        a = torch.nonzero(valid).flatten()
        return Triplets(a, p[a], n[a])

    def _hard(self, dist: Tensor, pos: Tensor, neg: Tensor, generator: torch.Generator | None) -> Triplets:
        valid = pos.any(1) & neg.any(1)
        p = torch.where(pos, dist, -torch.inf).argmax(1)
        n = torch.where(neg, dist, torch.inf).argmin(1)
        a = torch.nonzero(valid).flatten()
        return Triplets(a, p[a], n[a])

    def _semihard(
        self, dist: Tensor, pos: Tensor, neg: Tensor, generator: torch.Generator | None
    ) -> Triplets:
        a, p = torch.nonzero(pos, as_tuple=True)  # every anchor-positive pair
        d_ap = dist[a, p][:, None]  # (pairs, 1)
        d_an = dist[a]  # (pairs, batch)
        semi = neg[a] & (d_an > d_ap) & (d_an < d_ap + self.margin)
        n = torch.where(semi, d_an, torch.inf).argmin(1)  # the hardest semi-hard negative
        keep = semi.any(1)
        return Triplets(a[keep], p[keep], n[keep])

    def extra_repr(self) -> str:
        return f"strategy='{self.strategy}', margin={self.margin}, squared={self.squared}"


class TripletLoss(nn.Module):
    """``mean(max(d(a, p) - d(a, n) + margin, 0))`` over the triplets a miner picks in the batch.

    Args:
        margin: how much closer the positive must be than the negative.
        strategy: the :class:`TripletMiner` strategy (``"random"``, ``"semihard"``, ``"hard"``).
        squared: squared Euclidean distances (FaceNet) instead of distances, for mining and loss.

    Shape:
        - embeddings: ``(batch, dim)``; labels: ``(batch,)``
        - output: ``()``; 0 (with a gradient of zero) when the batch yields no triplet.

    Examples:
        >>> loss = TripletLoss(margin=3.0, strategy="hard")
        >>> float(loss(torch.tensor([[0.0], [1.0], [3.0]]), torch.tensor([0, 0, 1])))  # (1 + 2) / 2
        1.5

    References:
        Schroff et al., "FaceNet: A Unified Embedding for Face Recognition and Clustering", CVPR 2015,
        https://arxiv.org/abs/1503.03832
    """

    def __init__(self, margin: float = 0.2, strategy: str = "semihard", squared: bool = False):
        super().__init__()
        self.miner = TripletMiner(strategy, margin, squared)
        self.margin, self.squared = float(margin), squared

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        t = self.miner(embeddings, labels)
        if len(t) == 0:
            return embeddings.sum() * 0.0
        dist = pairwise_distances(embeddings, squared=self.squared)
        return torch.relu(dist[t.anchor, t.positive] - dist[t.anchor, t.negative] + self.margin).mean()

    def extra_repr(self) -> str:
        return f"margin={self.margin}, squared={self.squared}"
