"""Collapse monitoring of learned embeddings: standard deviation, alignment and uniformity.

Papers: Wang & Isola, "Understanding Contrastive Representation Learning through Alignment and
Uniformity on the Hypersphere", ICML 2020, https://arxiv.org/abs/2005.10242 (alignment,
uniformity); Chen & He, "Exploring Simple Siamese Representation Learning" (SimSiam), CVPR 2021,
https://arxiv.org/abs/2011.10566 (the standard deviation of the normalised output as a collapse
indicator).

All three read L2-normalised embeddings ``u = z / ||z||`` on the unit sphere:

- ``embedding_std``: the standard deviation of ``u`` over the batch, averaged over dimensions.
  A collapsed encoder (one output for every input) gives 0; embeddings spread evenly over the
  sphere of ``dim`` dimensions give about ``1 / sqrt(dim)``.
- ``alignment``: ``E ||u(x) - u(x+)||^2`` over positive pairs: 0 when both views map to the same
  point (lower is better, but a collapsed encoder is perfectly aligned too).
- ``uniformity``: ``log E exp(-t ||u(x) - u(y)||^2)`` over all pairs of the batch (``t = 2``):
  0 at collapse, lower (more negative) when the embeddings cover the sphere.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from mir101.errors import ShapeError
from mir101.metrics.registry import METRICS

__all__ = ["embedding_std", "alignment", "uniformity", "collapse_metrics"]


def _check(z: Tensor, name: str) -> None:
    if z.dim() != 2 or z.shape[0] < 2:
        raise ShapeError(f"{name} needs embeddings of shape (batch >= 2, dim), got {tuple(z.shape)}")


@METRICS.register("embedding_std")
def embedding_std(z: Tensor) -> Tensor:
    """Mean over dimensions of the batch standard deviation of the normalised ``(batch, dim)``
    embeddings (0: collapse; about ``1/sqrt(dim)``: spread over the sphere).

    Examples:
        >>> float(embedding_std(torch.ones(4, 3)))
        0.0
    """
    _check(z, "embedding_std")
    return F.normalize(z.float(), dim=1).std(dim=0).mean()


@METRICS.register("alignment")
def alignment(z1: Tensor, z2: Tensor, alpha: float = 2.0) -> Tensor:
    """``E ||u1 - u2||^alpha`` over the positive pairs (rows) of two ``(batch, dim)`` batches.

    Examples:
        >>> float(alignment(torch.eye(2), -torch.eye(2)))  # opposite points: distance 2, squared
        4.0
    """
    if z1.shape != z2.shape:
        raise ShapeError(
            f"alignment needs two batches of one shape, got {tuple(z1.shape)}, {tuple(z2.shape)}"
        )
    _check(z1, "alignment")
    u1, u2 = F.normalize(z1.float(), dim=1), F.normalize(z2.float(), dim=1)
    return (u1 - u2).norm(dim=1).pow(alpha).mean()


@METRICS.register("uniformity")
def uniformity(z: Tensor, t: float = 2.0) -> Tensor:
    """``log E_{i<j} exp(-t ||u_i - u_j||^2)`` over the pairs of a ``(batch, dim)`` batch.

    Examples:
        >>> float(uniformity(torch.ones(5, 3)))  # collapse
        0.0
        >>> round(float(uniformity(torch.eye(3))), 3)  # orthogonal: every distance^2 is 2
        -4.0
    """
    _check(z, "uniformity")
    u = F.normalize(z.float(), dim=1)
    sq = torch.pdist(u, p=2).pow(2)
    return torch.logsumexp(-t * sq, dim=0) - math.log(sq.numel())


def collapse_metrics(z1: Tensor, z2: Tensor) -> dict[str, Tensor]:
    """``embedding_std`` and ``uniformity`` of both views together, ``alignment`` of the pairs."""
    z = torch.cat([z1, z2]).detach()
    return {
        "embedding_std": embedding_std(z),
        "alignment": alignment(z1.detach(), z2.detach()),
        "uniformity": uniformity(z),
    }
