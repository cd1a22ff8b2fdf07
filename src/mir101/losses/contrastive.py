"""NT-Xent: the normalised temperature-scaled cross-entropy of contrastive self-supervised learning.

Paper: Chen, Kornblith, Norouzi & Hinton, "A Simple Framework for Contrastive Learning of Visual
Representations" (SimCLR), ICML 2020, https://arxiv.org/abs/2002.05709 (eq. 1); in music:
Spijkervet & Burgoyne, "Contrastive Learning of Musical Representations" (CLMR), ISMIR 2021,
https://arxiv.org/abs/2103.09410

Two augmented views ``z1[i]`` and ``z2[i]`` of the same excerpt form a positive pair; the ``2N - 2``
other views of the batch are its negatives. With cosine similarity ``sim`` and temperature ``tau``,
each of the ``2N`` views ``k`` with positive ``k+`` contributes
``-log( exp(sim(k, k+) / tau) / sum_{j != k} exp(sim(k, j) / tau) )``, a softmax cross-entropy that
picks the positive out of the batch. The loss is the mean over the ``2N`` views.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mir101.errors import ParameterError, ShapeError

__all__ = ["NTXentLoss"]


class NTXentLoss(nn.Module):
    """SimCLR's NT-Xent loss between two batches of views.

    Args:
        temperature: ``tau``; lower values sharpen the softmax and weigh hard negatives more
            (SimCLR: 0.1 to 0.5; CLMR: 0.5).

    Shape:
        - z1, z2: ``(batch, dim)``, row ``i`` of each a view of the same item (not normalised:
          the loss normalises them)
        - output: ``()``

    Examples:
        >>> loss = NTXentLoss(temperature=0.5)
        >>> z = torch.eye(2)  # two orthogonal items, both views identical
        >>> round(float(loss(z, z)), 4)  # log(1 + 2 exp(-1 / 0.5))
        0.2395

    References:
        Chen et al., "A Simple Framework for Contrastive Learning of Visual Representations",
        ICML 2020, https://arxiv.org/abs/2002.05709
    """

    def __init__(self, temperature: float = 0.1):
        super().__init__()
        if temperature <= 0:
            raise ParameterError(f"NTXentLoss: temperature={temperature} must be > 0")
        self.temperature = float(temperature)

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        if z1.dim() != 2 or z1.shape != z2.shape:
            raise ShapeError(
                f"NTXentLoss needs two views of shape (batch, dim), got {tuple(z1.shape)} and {tuple(z2.shape)}"
            )
        n = z1.shape[0]
        z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2N, dim) on the unit sphere
        logits = z @ z.T / self.temperature  # (2N, 2N) cosine similarities / tau
        logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), -torch.inf)
        target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)  # k -> k+
        return F.cross_entropy(logits, target)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
