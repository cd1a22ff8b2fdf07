"""Adversarial losses of GAN-trained codecs and vocoders: hinge or least-squares, plus feature matching.

Papers: Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017,
https://arxiv.org/abs/1611.04076 (used by MelGAN / HiFi-GAN); Lim & Ye, "Geometric GAN", 2017,
https://arxiv.org/abs/1705.02894 (the hinge loss, used by EnCodec); Kumar et al., "MelGAN", NeurIPS
2019, https://arxiv.org/abs/1910.06711 (feature matching).

A discriminator ``D`` scores real audio high and generated audio low; the generator is trained
to raise ``D``'s score of its output. The two players have two optimizers: see
:class:`~mir101.paradigms.manual.ManualSystem`. Feature matching adds an L1 distance between
``D``'s intermediate activations on real and generated audio, a stable reconstruction signal.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mir101.errors import ParameterError, ShapeError

__all__ = ["AdversarialLoss", "feature_matching_loss"]


class AdversarialLoss(nn.Module):
    """The discriminator's and the generator's losses from discriminator scores (logits).

    - ``"hinge"``: discriminator ``mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))``,
      generator ``-mean(D(G(z)))``;
    - ``"lsgan"``: discriminator ``mean((D(x) - 1)^2) + mean(D(G(z))^2)``,
      generator ``mean((D(G(z)) - 1)^2)``.

    Args:
        kind: ``"hinge"`` or ``"lsgan"``.

    Shape:
        - real, fake: discriminator outputs of any shape ``(batch, *)``; a multi-scale
          discriminator's list of outputs is summed over scales
        - output: ``()``

    Examples:
        >>> adv = AdversarialLoss("lsgan")
        >>> float(adv.discriminator(torch.ones(4), torch.zeros(4))), float(adv.generator(torch.ones(4)))
        (0.0, 0.0)

    References:
        Mao et al., "Least Squares GANs", ICCV 2017, https://arxiv.org/abs/1611.04076;
        Lim & Ye, "Geometric GAN", 2017, https://arxiv.org/abs/1705.02894
    """

    def __init__(self, kind: str = "hinge"):
        super().__init__()
        if kind not in ("hinge", "lsgan"):
            raise ParameterError(f"AdversarialLoss: kind='{kind}' must be 'hinge' or 'lsgan'")
        self.kind = kind

    def discriminator(self, real: Tensor | Sequence[Tensor], fake: Tensor | Sequence[Tensor]) -> Tensor:
        """The discriminator's loss: real scored as real, (detached) generated audio as fake."""
        reals, fakes = _as_list(real), _as_list(fake)
        if len(reals) != len(fakes):
            raise ShapeError(
                f"AdversarialLoss: {len(reals)} real but {len(fakes)} fake discriminator outputs"
            )
        total = torch.zeros((), device=reals[0].device)
        for r, f in zip(reals, fakes):
            if self.kind == "hinge":
                total = total + torch.relu(1 - r).mean() + torch.relu(1 + f).mean()
            else:
                total = total + ((r - 1) ** 2).mean() + (f**2).mean()
        return total

    def generator(self, fake: Tensor | Sequence[Tensor]) -> Tensor:
        """The generator's loss: its output should be scored as real."""
        fakes = _as_list(fake)
        total = torch.zeros((), device=fakes[0].device)
        for f in fakes:
            total = total + (-f.mean() if self.kind == "hinge" else ((f - 1) ** 2).mean())
        return total

    def forward(self, fake: Tensor | Sequence[Tensor]) -> Tensor:
        """Same as :meth:`generator` (the term a generator's optimiser minimises)."""
        return self.generator(fake)

    def extra_repr(self) -> str:
        return f"kind='{self.kind}'"


def feature_matching_loss(real: Sequence[Tensor], fake: Sequence[Tensor]) -> Tensor:
    """Mean over layers of ``mean |feat_real - feat_fake|`` (real features detached), MelGAN eq. 4.

    Args:
        real, fake: the discriminator's intermediate activations on real and generated audio,
            one tensor per layer, pairwise of equal shapes.
    """
    if len(real) != len(fake) or not real:
        raise ShapeError(f"feature_matching_loss: {len(real)} real but {len(fake)} fake feature maps")
    return torch.stack([(r.detach() - f).abs().mean() for r, f in zip(real, fake)]).mean()


def _as_list(x: Tensor | Sequence[Tensor]) -> list[Tensor]:
    out = [x] if isinstance(x, Tensor) else list(x)
    if not out:
        raise ShapeError("AdversarialLoss: no discriminator output given")
    return out
