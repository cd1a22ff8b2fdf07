"""Scale-invariant signal-to-distortion ratio (SI-SDR) and its negative as a separation loss.

Paper: Le Roux, Wisdom, Erdogan & Hershey, "SDR - half-baked or well done?", ICASSP 2019,
https://arxiv.org/abs/1811.02508

The estimate ``s_hat`` is projected on the reference ``s``: ``s_target = alpha * s`` with
``alpha = <s_hat, s> / ||s||^2`` (the gain that best explains ``s_hat`` by ``s``), and the rest is
distortion, ``e = s_hat - s_target``. Then ``SI-SDR = 10 log10(||s_target||^2 / ||e||^2)`` in dB.
Rescaling the estimate (or the reference) changes ``alpha`` but not the ratio, so a network is not
rewarded for getting the loudness right, only the waveform shape. Training maximises SI-SDR, i.e.
minimises its negative.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mir101.errors import ParameterError, ShapeError

__all__ = ["si_sdr", "SISDRLoss"]


def si_sdr(estimate: Tensor, reference: Tensor, zero_mean: bool = True, eps: float = 1e-8) -> Tensor:
    """SI-SDR in dB of each signal, along the last axis.

    Args:
        estimate: the estimated signals.
        reference: the true signals, same shape as ``estimate``.
        zero_mean: remove each signal's mean first (the paper's definition).
        eps: added to both energies, so silence gives a finite value.

    Shape:
        - estimate, reference: ``(*, time)``, e.g. ``(batch, sources, time)``
        - output: ``(*)``

    Examples:
        >>> s = torch.tensor([1.0, 0.0, 0.0, 0.0])
        >>> round(si_sdr(torch.tensor([2.0, 1.0, 0.0, 0.0]), s, zero_mean=False).item(), 3)  # 10 log10(4)
        6.021

    References:
        Le Roux et al., "SDR - half-baked or well done?", ICASSP 2019, https://arxiv.org/abs/1811.02508
    """
    if estimate.shape != reference.shape:
        raise ShapeError(
            f"si_sdr needs estimate and reference of the same shape (*, time), "
            f"got {tuple(estimate.shape)} and {tuple(reference.shape)}"
        )
    if estimate.dim() == 0 or estimate.shape[-1] < 1:
        raise ShapeError(f"si_sdr needs signals of shape (*, time), got {tuple(estimate.shape)}")
    if zero_mean:
        estimate = estimate - estimate.mean(dim=-1, keepdim=True)
        reference = reference - reference.mean(dim=-1, keepdim=True)
    ref_energy = (reference * reference).sum(dim=-1, keepdim=True)
    alpha = (estimate * reference).sum(dim=-1, keepdim=True) / (ref_energy + eps)
    target = alpha * reference  # (*, time): the part of the estimate explained by the reference
    noise = estimate - target
    ratio = ((target * target).sum(dim=-1) + eps) / ((noise * noise).sum(dim=-1) + eps)
    return 10.0 * torch.log10(ratio)


class SISDRLoss(nn.Module):
    """Negative SI-SDR (dB), averaged over signals: lower is better, ``-inf`` dB is perfect.

    Args:
        zero_mean: remove each signal's mean first (the paper's definition).
        eps: added to both energies (see :func:`si_sdr`).
        reduction: ``"mean"`` (a scalar) or ``"none"`` (one value per signal).

    Shape:
        - estimate, reference: ``(*, time)``
        - output: ``()`` for ``"mean"``, ``(*)`` for ``"none"``

    Examples:
        >>> loss = SISDRLoss()
        >>> s = torch.randn(2, 100)
        >>> bool(loss(3.0 * s, s) < -60)  # a rescaled reference is a perfect estimate
        True

    References:
        Le Roux et al., "SDR - half-baked or well done?", ICASSP 2019, https://arxiv.org/abs/1811.02508
    """

    def __init__(self, zero_mean: bool = True, eps: float = 1e-8, reduction: str = "mean"):
        super().__init__()
        if reduction not in ("mean", "none"):
            raise ParameterError(f"SISDRLoss: reduction='{reduction}' must be 'mean' or 'none'")
        self.zero_mean, self.eps, self.reduction = zero_mean, eps, reduction

    def forward(self, estimate: Tensor, reference: Tensor) -> Tensor:
        loss = -si_sdr(estimate, reference, zero_mean=self.zero_mean, eps=self.eps)
        return loss.mean() if self.reduction == "mean" else loss

    def extra_repr(self) -> str:
        return f"zero_mean={self.zero_mean}, eps={self.eps}, reduction='{self.reduction}'"
