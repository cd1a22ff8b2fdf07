"""Adversarial training of a codec or vocoder: reconstruction + a discriminator's judgement + feature matching.

Papers: Kumar et al., "MelGAN", NeurIPS 2019, https://arxiv.org/abs/1910.06711 (feature
matching); Zeghidour et al., "SoundStream", 2021, https://arxiv.org/abs/2107.03312; Défossez et
al., "High Fidelity Neural Audio Compression" (EnCodec), 2022, https://arxiv.org/abs/2210.13438
(hinge loss, multi-scale STFT discriminator); Mao et al., "Least Squares GANs", ICCV 2017,
https://arxiv.org/abs/1611.04076.

A reconstruction loss averages over what it cannot predict: a codec trained with it alone
sounds muffled. A discriminator ``D`` learns to tell real audio from the codec's output, and the
codec (the generator) learns to fool it. Each batch takes two steps, each with its own optimizer
(Lightning's manual optimisation, :class:`~mir101.paradigms.manual.ManualSystem`):

1. **generator**: ``y = G(x)``; ``loss = recon(y, x) + bottleneck losses
   + adversarial_weight * L_G(D(y)) + feature_weight * |D_l(x) - D_l(y)|`` (feature matching over
   every layer ``l`` of ``D``); only ``G``'s parameters move;
2. **discriminator**: ``loss = L_D(D(x), D(sg(y)))`` on the same ``y``; only ``D``'s move.

``L`` is the hinge or least-squares GAN loss of :class:`~mir101.losses.AdversarialLoss`. The run
saves the generator only (:meth:`export_model`); the discriminator lives in the checkpoints, so
``--resume`` continues the game where it stopped.

Book page: ``book/bottlenecks.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from mir101.losses import AdversarialLoss, feature_matching_loss
from mir101.paradigms.autoencoder import ReconstructionLoss, audio_of, bottleneck_terms, reconstruct
from mir101.paradigms.manual import ManualSystem, OptimGroup

__all__ = ["Adversarial", "judge"]


def judge(discriminator: nn.Module, audio: Tensor) -> tuple[list[Tensor], list[Tensor]]:
    """``(logits, features)`` of a discriminator: a
    :class:`~mir101.bricks.discriminator.DiscriminatorOutput`, or a plain tensor of logits
    (then no features, and no feature matching)."""
    out = discriminator(audio)
    if isinstance(out, Tensor):
        return [out], []
    return list(out.logits) or [out.output], list(getattr(out, "features", []))


class Adversarial(ManualSystem):
    """GAN training of an auto-encoder: a generator step, then a discriminator step, per batch.

    Args:
        model: the generator (the codec), audio ``(batch, 1, samples)`` -> same shape; what a run saves.
        discriminator: maps audio to a :class:`~mir101.bricks.discriminator.DiscriminatorOutput`
            (or to logits), e.g. :class:`~mir101.bricks.discriminator.MultiScaleSTFTDiscriminator`.
        loss: the reconstruction loss (``terms(estimate, reference) -> {"recon", ...}``;
            default :class:`~mir101.paradigms.autoencoder.ReconstructionLoss`).
        optim: the generator's ``optim`` mapping (the config's ``optim`` section).
        discriminator_optim: keys that differ for the discriminator's optimizer (e.g.
            ``{"lr": 1e-4, "betas": (0.5, 0.9)}``); the rest is ``optim``.
        kind: ``"hinge"`` (EnCodec) or ``"lsgan"`` (MelGAN, HiFi-GAN).
        adversarial_weight: weight of the generator's adversarial loss.
        feature_weight: weight of feature matching (0: none).
        input_key: the audio's field in dict / dataclass batches.

    Logged terms: ``generator/{loss, recon, l1, stft, mel, adversarial, features, commitment...}``,
    ``discriminator/{loss, real, fake}`` (mean logits), and ``recon`` (the generator's, the value
    to monitor: ``val/recon``).
    """

    def __init__(
        self,
        model: nn.Module,
        discriminator: nn.Module,
        loss: nn.Module | None = None,
        optim: Mapping[str, Any] | None = None,
        discriminator_optim: Mapping[str, Any] | None = None,
        kind: str = "hinge",
        adversarial_weight: float = 1.0,
        feature_weight: float = 1.0,
        input_key: str | int = "x",
    ):
        super().__init__(model, optim)
        self.discriminator = discriminator
        self.loss = loss if loss is not None else ReconstructionLoss()
        self.adversarial = AdversarialLoss(kind)
        self.discriminator_optim = {**self.optim, **dict(discriminator_optim or {})}
        self.adversarial_weight, self.feature_weight = float(adversarial_weight), float(feature_weight)
        self.input_key = input_key
        self._fake: tuple[Any, Tensor] | None = None  # (the batch, its detached reconstruction)

    def optim_groups(self) -> list[OptimGroup]:
        return [
            OptimGroup("generator", "model", self.optim),
            OptimGroup("discriminator", "discriminator", self.discriminator_optim),
        ]

    def group_step(self, group: str, batch: Any, train: bool) -> dict[str, Tensor]:
        x = audio_of(batch, self.input_key)
        if group == "generator":
            return self._generator_step(batch, x)
        return self._discriminator_step(batch, x)

    def _generator_step(self, batch: Any, x: Tensor) -> dict[str, Tensor]:
        out = reconstruct(self.model, x)
        y = out.output
        terms = dict(self.loss.terms(y, x))
        auxiliary, logged = bottleneck_terms(out)
        terms.update(logged)
        fake_logits, fake_features = judge(self.discriminator, y)
        terms["adversarial"] = self.adversarial.generator(fake_logits)
        loss = terms["recon"] + self.adversarial_weight * terms["adversarial"]
        if self.feature_weight and fake_features:
            with torch.no_grad():
                _, real_features = judge(self.discriminator, x)
            terms["features"] = feature_matching_loss(real_features, fake_features)
            loss = loss + self.feature_weight * terms["features"]
        if auxiliary is not None:
            loss = loss + auxiliary
        terms["loss"] = loss
        self._fake = (batch, y.detach())
        return terms

    def _discriminator_step(self, batch: Any, x: Tensor) -> dict[str, Tensor]:
        if self._fake is not None and self._fake[0] is batch:
            y = self._fake[1]  # the generator step's output for this very batch
        else:
            with torch.no_grad():
                y = reconstruct(self.model, x).output
        self._fake = None
        real, _ = judge(self.discriminator, x)
        fake, _ = judge(self.discriminator, y)
        return {
            "loss": self.adversarial.discriminator(real, fake),
            "real": torch.stack([r.mean() for r in real]).mean().detach(),
            "fake": torch.stack([f.mean() for f in fake]).mean().detach(),
        }

    def common_step(self, batch: Any, train: bool) -> dict[str, Tensor]:
        terms = super().common_step(batch, train)
        terms["recon"] = terms["generator/recon"]
        return terms
