"""FiLM: condition any layer's features on a vector with a per-channel scale and shift predicted from it.

Paper: Perez, Strub, de Vries, Dumoulin & Courville, "FiLM: Visual Reasoning with a General
Conditioning Layer", AAAI 2018, https://arxiv.org/abs/1709.07871 (in MIR: Meseguer-Brocal &
Peeters, "Conditioned-U-Net: Introducing a Control Mechanism in the U-Net for Multiple Source
Separations", ISMIR 2019, https://arxiv.org/abs/1907.01277)

A condition ``c`` (an instrument to separate, a genre, a speaker) modulates a network's features
``x`` channel by channel: ``y = gamma(c) * x + beta(c)``, with ``gamma`` and ``beta`` two linear
maps of ``c``. It costs ``2 * channels`` outputs per condition and can be put after any layer.
"""

from __future__ import annotations

from torch import Tensor, nn

from mir101.bricks._base import Brick
from mir101.errors import ShapeError

__all__ = ["FiLM"]


class FiLM(Brick):
    """Feature-wise linear modulation: ``y = (1 + dgamma(c)) * x + beta(c)``, per channel.

    ``gamma`` is predicted as ``1 + dgamma`` so that a freshly initialised FiLM stays close to the
    identity and does not disturb the network it is inserted into.

    Args:
        num_features: channels of ``x`` that are modulated (its size along ``dim``).
        cond_dim: size of the condition vector.
        dim: the channel axis of ``x`` (1 for ``(batch, channels, ...)``, -1 for ``(batch, time, features)``).

    Shape:
        - x: ``(batch, num_features, *)`` (for ``dim=1``)
        - condition: ``(batch, cond_dim)``
        - output: same as ``x``

    Examples:
        >>> import torch
        >>> film = FiLM(num_features=16, cond_dim=4)
        >>> film(torch.randn(2, 16, 36, 20), torch.randn(2, 4)).shape
        torch.Size([2, 16, 36, 20])

    References:
        Perez et al., "FiLM: Visual Reasoning with a General Conditioning Layer", AAAI 2018,
        https://arxiv.org/abs/1709.07871
    """

    def __init__(self, *, num_features: int = 64, cond_dim: int = 16, dim: int = 1):
        super().__init__()
        self.num_features, self.dim = num_features, dim
        self.to_gamma_beta = nn.Linear(cond_dim, 2 * num_features)

    def forward(self, x: Tensor, condition: Tensor) -> Tensor:
        if condition.dim() != 2 or condition.shape[0] != x.shape[0]:
            raise ShapeError(
                f"FiLM expects a condition (batch, cond_dim) with the batch of x {tuple(x.shape)}, "
                f"got {tuple(condition.shape)}"
            )
        if x.shape[self.dim] != self.num_features:
            raise ShapeError(
                f"FiLM(num_features={self.num_features}, dim={self.dim}) got x of shape {tuple(x.shape)}"
            )
        d_gamma, beta = self.to_gamma_beta(condition).chunk(2, dim=-1)  # (batch, num_features) each
        shape = [x.shape[0]] + [1] * (x.dim() - 1)
        shape[self.dim] = self.num_features
        return (1 + d_gamma.view(shape)) * x + beta.view(shape)
