"""VICReg: variance-invariance-covariance regularisation, self-supervision without negatives.

Paper: Bardes, Ponce & LeCun, "VICReg: Variance-Invariance-Covariance Regularization for
Self-Supervised Learning", ICLR 2022, https://arxiv.org/abs/2105.04906 (eq. 1-6)

A contrastive loss (NT-Xent) keeps the embeddings of different items apart by pushing negatives
away. Without negatives, pulling the two views of an item together has a trivial solution: map
every input to the same vector (*collapse*). VICReg removes it with two terms on the batch:

- *invariance* ``s``: the mean squared distance between the two views' embeddings;
- *variance* ``v``: a hinge ``mean_j max(0, gamma - sqrt(Var(z_j) + eps))`` that keeps the standard
  deviation of every embedding dimension ``j`` over the batch at least ``gamma`` (collapse: every
  std is 0 and ``v = gamma``);
- *covariance* ``c``: the sum of the squared off-diagonal covariances divided by the dimension,
  which decorrelates the dimensions (dimensional collapse: all dimensions carry the same signal).

The loss is ``lambda s + mu (v(z1) + v(z2)) + nu (c(z1) + c(z2))`` with the paper's weights
25, 25, 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mir101.errors import ParameterError, ShapeError

__all__ = ["VICRegLoss", "vicreg_terms"]


def vicreg_terms(z1: Tensor, z2: Tensor, gamma: float = 1.0, eps: float = 1e-4) -> dict[str, Tensor]:
    """The three unweighted VICReg terms of two batches of views.

    Args:
        z1, z2: ``(batch, dim)`` embeddings, row ``i`` of each a view of the same item.
        gamma: the target standard deviation of every dimension.
        eps: added to the variance before its square root (keeps the gradient finite at collapse).

    Returns:
        ``{"invariance", "variance", "covariance"}``; variance and covariance are summed over the
        two branches.

    Examples:
        >>> z = torch.zeros(8, 4)  # full collapse: identical views, zero spread
        >>> {k: round(float(v), 3) for k, v in vicreg_terms(z, z).items()}
        {'invariance': 0.0, 'variance': 1.98, 'covariance': 0.0}
    """
    if z1.dim() != 2 or z1.shape != z2.shape or z1.shape[0] < 2:
        raise ShapeError(
            f"VICReg needs two views of shape (batch >= 2, dim), got {tuple(z1.shape)} and {tuple(z2.shape)}"
        )
    n, d = z1.shape
    invariance = F.mse_loss(z1, z2)
    variance = z1.new_zeros(())
    covariance = z1.new_zeros(())
    for z in (z1, z2):
        std = torch.sqrt(z.var(dim=0) + eps)
        variance = variance + F.relu(gamma - std).mean()
        zc = z - z.mean(dim=0)
        cov = zc.T @ zc / (n - 1)  # (dim, dim)
        off = cov - torch.diag(torch.diagonal(cov))
        covariance = covariance + off.pow(2).sum() / d
    return {"invariance": invariance, "variance": variance, "covariance": covariance}


class VICRegLoss(nn.Module):
    """VICReg loss between two batches of views (see the module docstring).

    Args:
        invariance_weight: ``lambda`` (paper: 25).
        variance_weight: ``mu`` (paper: 25).
        covariance_weight: ``nu`` (paper: 1).
        gamma: target standard deviation of each dimension (paper: 1).

    Shape:
        - z1, z2: ``(batch, dim)``, batch >= 2 (the variance is over the batch)
        - output: ``()``

    Examples:
        >>> loss = VICRegLoss()
        >>> z = torch.zeros(8, 4)
        >>> round(float(loss(z, z)), 2)  # collapse costs mu * 2 * gamma (minus the eps)
        49.5

    References:
        Bardes, Ponce & LeCun, "VICReg", ICLR 2022, https://arxiv.org/abs/2105.04906
    """

    def __init__(
        self,
        invariance_weight: float = 25.0,
        variance_weight: float = 25.0,
        covariance_weight: float = 1.0,
        gamma: float = 1.0,
    ):
        super().__init__()
        weights = (invariance_weight, variance_weight, covariance_weight, gamma)
        if min(weights) < 0:
            raise ParameterError(f"VICRegLoss: weights and gamma must be >= 0, got {weights}")
        self.invariance_weight, self.variance_weight = float(invariance_weight), float(variance_weight)
        self.covariance_weight, self.gamma = float(covariance_weight), float(gamma)
        self.last_terms: dict[str, Tensor] = {}

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        terms = vicreg_terms(z1, z2, self.gamma)
        self.last_terms = {k: v.detach() for k, v in terms.items()}
        return (
            self.invariance_weight * terms["invariance"]
            + self.variance_weight * terms["variance"]
            + self.covariance_weight * terms["covariance"]
        )

    def extra_repr(self) -> str:
        return (
            f"invariance_weight={self.invariance_weight}, variance_weight={self.variance_weight}, "
            f"covariance_weight={self.covariance_weight}, gamma={self.gamma}"
        )
