"""Phase-derivative loss: instantaneous frequency and group delay of two signals' STFTs compared.

Paper: Ai & Ling, "APNet: An all-frame-level neural vocoder incorporating direct prediction of
amplitude and phase spectra", IEEE/ACM TASLP 2023, https://arxiv.org/abs/2305.07952 (section
III-C: instantaneous-phase, group-delay and instantaneous-angular-frequency losses, each of an
"anti-wrapped" phase difference).

Why a codec needs it. A decoder that draws each STFT frame's magnitude *and phase* (the Vocos head,
:class:`~mir101.bricks.vocos.ISTFTHead`) learns nothing about phase from magnitude losses (the
multi-resolution STFT and mel distances). Left free, it draws a phase that does not advance from one
frame to the next as a sinusoid's does: the overlap-added frames interfere, the partials smear, and
the pitch of a note is lost although its spectral envelope is right. What carries the pitch is not
the phase itself (a note may start at any phase) but its *derivatives*:

- along time, the **instantaneous frequency**: a partial of frequency ``f`` advances by
  ``2 pi f hop / sr`` radians per hop; the phase step between two frames of a bin pins ``f`` far
  more finely than the bin width;
- along frequency, the **group delay**: the phase step between neighbouring bins of one frame says
  *when* in the frame the energy lies (an onset's timing).

Both steps are compared between estimate and reference, for every bin, as an angle. An angle has no
sign-free difference (``pi`` and ``-pi`` are the same step): APNet takes the distance to the nearest
multiple of ``2 pi`` ("anti-wrapping"); we take ``1 - cos(error)``, the same distance to second order,
smooth everywhere and computed from complex products without any ``atan2``::

    u_ref = S[t] * conj(S[t-1]),  u_est = S^[t] * conj(S^[t-1])       (phase steps as unit vectors)
    1 - cos(error) = 1 - Re(u_est * conj(u_ref)) / (|u_est| |u_ref|)

Each bin pair counts in proportion to the reference's energy there (the product of the two bins'
magnitudes), so that the loud partials, whose phase is heard, dominate, and the phase of quiet bins
(leakage, noise: meaningless) hardly counts. The loss is invariant to a constant phase offset of a bin (a time
shift of a stationary partial) for the time term, and to a constant offset of all bins of a frame
for the frequency term: it asks for coherent phase, not for the reference's exact waveform.

Shape:
    - estimate, reference: ``(batch, time)`` or ``(batch, channels, time)``
    - output: a scalar in ``[0, 2]`` (0: every weighted phase step equal); :meth:`terms` gives
      ``{"frequency": instantaneous-frequency term, "delay": group-delay term}``
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mir101.errors import ParameterError, ShapeError

__all__ = ["PhaseDerivativeLoss"]


def _phase_step_distance(estimate: Tensor, reference: Tensor, dim: int) -> Tensor:
    """Magnitude-weighted mean of ``1 - cos`` between the phase steps along ``dim`` of two STFTs."""
    n = reference.shape[dim]
    u_ref = reference.narrow(dim, 1, n - 1) * reference.narrow(dim, 0, n - 1).conj()
    u_est = estimate.narrow(dim, 1, n - 1) * estimate.narrow(dim, 0, n - 1).conj()
    weight = u_ref.abs()  # product of the two reference magnitudes of the step (an energy)
    # The estimate's step as a unit vector; its "softness" (1e-5 of its largest value) keeps the
    # gradient of a near-silent estimate bin bounded.
    soft = 1e-5 * u_est.abs().amax(dim=(-2, -1), keepdim=True).detach() + 1e-12
    cos = (u_est * u_ref.conj()).real / ((u_est.abs() + soft) * (u_ref.abs() + 1e-12))
    return (weight * (1.0 - cos)).sum() / weight.sum().clamp_min(1e-12)


class PhaseDerivativeLoss(nn.Module):
    """Instantaneous-frequency (time) and group-delay (frequency) distance of STFT phases.

    Args:
        n_fft: FFT and Hann window size; use the decoder's own STFT where it has one.
        hop_length: hop between frames (``n_fft // 4`` when ``None``).
        frequency_weight, delay_weight: weights of the time term and of the frequency term.

    Examples:
        >>> import math
        >>> t = torch.arange(4000) / 16000
        >>> loss = PhaseDerivativeLoss(n_fft=512)
        >>> a = torch.sin(2 * math.pi * 440 * t)[None]
        >>> b = torch.sin(2 * math.pi * 440 * t + 1.0)[None]   # same note, another starting phase
        >>> c = torch.sin(2 * math.pi * 450 * t)[None]         # 10 Hz away: same bin, wrong steps
        >>> float(loss.terms(b, a)["frequency"]) < 0.01 < float(loss.terms(c, a)["frequency"])
        True
    """

    def __init__(
        self,
        n_fft: int = 1024,
        hop_length: int | None = None,
        frequency_weight: float = 1.0,
        delay_weight: float = 1.0,
    ):
        super().__init__()
        hop_length = n_fft // 4 if hop_length is None else hop_length
        if n_fft < 4 or not 0 < hop_length <= n_fft:
            raise ParameterError(
                f"PhaseDerivativeLoss: need n_fft >= 4 and 0 < hop_length <= n_fft, got n_fft={n_fft}, "
                f"hop_length={hop_length}"
            )
        self.n_fft, self.hop_length = n_fft, hop_length
        self.weights = {"frequency": float(frequency_weight), "delay": float(delay_weight)}
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def _stft(self, x: Tensor) -> Tensor:
        return torch.stft(
            x.reshape(-1, x.shape[-1]),
            self.n_fft,
            self.hop_length,
            window=self.window,
            center=False,
            return_complex=True,
        )

    def terms(self, estimate: Tensor, reference: Tensor) -> dict[str, Tensor]:
        if estimate.shape != reference.shape or estimate.dim() not in (2, 3):
            raise ShapeError(
                "PhaseDerivativeLoss needs estimate and reference of the same shape (batch, time) or "
                f"(batch, channels, time), got {tuple(estimate.shape)} and {tuple(reference.shape)}"
            )
        if reference.shape[-1] < self.n_fft:
            raise ShapeError(
                f"PhaseDerivativeLoss: {reference.shape[-1]} samples, fewer than n_fft={self.n_fft}"
            )
        est, ref = self._stft(estimate), self._stft(reference)  # (batch, bins, frames)
        return {
            "frequency": _phase_step_distance(est, ref, dim=-1),  # along time: instantaneous frequency
            "delay": _phase_step_distance(est, ref, dim=-2),  # along frequency: group delay
        }

    def forward(self, estimate: Tensor, reference: Tensor) -> Tensor:
        t = self.terms(estimate, reference)
        return self.weights["frequency"] * t["frequency"] + self.weights["delay"] * t["delay"]

    def extra_repr(self) -> str:
        return f"n_fft={self.n_fft}, hop_length={self.hop_length}, weights={self.weights}"
