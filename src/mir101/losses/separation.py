"""The losses of source separation, on estimated and true stems ``(batch, sources, samples)``, by name.

- ``spec_l1`` / ``spec_l2``: distance between magnitude spectrograms (Jansson et al., ISMIR 2017,
  trained the U-Net with L1 on masked magnitudes; Open-Unmix with L2 / MSE);
- ``wave_l1``: L1 on the waveforms (Demucs, Défossez et al., https://arxiv.org/abs/1909.01174);
- ``si_sdr``: negative scale-invariant SDR (Le Roux et al., ICASSP 2019,
  https://arxiv.org/abs/1811.02508), the loss of Conv-TasNet;
- ``mrstft``: multi-resolution STFT loss (Yamamoto et al., ICASSP 2020,
  https://arxiv.org/abs/1910.11480), from the ``auraloss`` library (Steinmetz & Reiss, 2020)
  when it imports, else :class:`~mir101.losses.spectral.MultiResolutionSTFTLoss`.

Book page: ``book/separation.md``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mir101.errors import ShapeError
from mir101.losses.sdr import SISDRLoss
from mir101.losses.spectral import MultiResolutionSTFTLoss
from mir101.utils.registry import Registry

__all__ = ["SeparationLoss", "SEPARATION_LOSSES", "mrstft_loss"]

#: ``task.loss`` names (one error message lists them)
SEPARATION_LOSSES: Registry[str] = Registry("separation loss")
for _name in ("spec_l1", "spec_l2", "wave_l1", "si_sdr", "mrstft"):
    SEPARATION_LOSSES.add(_name, _name)


def mrstft_loss(sr: int) -> tuple[nn.Module, str]:
    """auraloss's multi-resolution STFT loss (its defaults: FFT 1024 / 2048 / 512) when auraloss
    imports, else mir101's; and the name of the one used."""
    try:
        import auraloss

        return auraloss.freq.MultiResolutionSTFTLoss(), "auraloss"
    except Exception:  # noqa: BLE001  (missing, or an import error of its own dependencies)
        return MultiResolutionSTFTLoss(), "mir101"


class SeparationLoss(nn.Module):
    """One separation loss by name, averaged over the sources.

    Args:
        kind: a name of :data:`SEPARATION_LOSSES`.
        n_fft, hop_length: the STFT of ``spec_l1`` / ``spec_l2`` (the separator's own).
        sr: sample rate (for the library loss's bookkeeping only).

    Shape:
        - estimate, reference: ``(batch, sources, samples)``
        - output: ``()``

    Examples:
        >>> loss = SeparationLoss("spec_l1", n_fft=256, hop_length=64)
        >>> s = torch.randn(2, 4, 2000)
        >>> float(loss(s, s))
        0.0
    """

    def __init__(self, kind: str = "spec_l1", n_fft: int = 1024, hop_length: int = 256, sr: int = 22050):
        super().__init__()
        self.kind = SEPARATION_LOSSES.get(kind)
        self.n_fft, self.hop_length = n_fft, hop_length
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.library = "mir101"
        if self.kind == "mrstft":
            self.mrstft, self.library = mrstft_loss(sr)
        elif self.kind == "si_sdr":
            self.sisdr = SISDRLoss()

    def _mag(self, x: Tensor) -> Tensor:
        spec = torch.stft(x.reshape(-1, x.shape[-1]), self.n_fft, self.hop_length, window=self.window,
                          center=True, return_complex=True)  # fmt: skip
        return spec.abs()

    def forward(self, estimate: Tensor, reference: Tensor) -> Tensor:
        if estimate.shape != reference.shape or estimate.dim() != 3:
            raise ShapeError(
                f"separation losses take (batch, sources, samples) estimates and references of one shape, "
                f"got {tuple(estimate.shape)} and {tuple(reference.shape)}"
            )
        if self.kind == "wave_l1":
            return (estimate - reference).abs().mean()
        if self.kind == "si_sdr":
            return self.sisdr(estimate, reference)
        if self.kind == "mrstft":
            b, k, n = estimate.shape
            return self.mrstft(estimate.reshape(b * k, 1, n), reference.reshape(b * k, 1, n))
        diff = self._mag(estimate) - self._mag(reference)
        return diff.abs().mean() if self.kind == "spec_l1" else (diff**2).mean()

    def extra_repr(self) -> str:
        return f"kind='{self.kind}', library='{self.library}'"
