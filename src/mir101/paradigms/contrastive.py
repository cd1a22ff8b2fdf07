"""Self-supervised (Siamese) learning: two views of one excerpt, an encoder, a projector, a loss.

Papers: Chen, Kornblith, Norouzi & Hinton, "A Simple Framework for Contrastive Learning of Visual
Representations" (SimCLR), ICML 2020, https://arxiv.org/abs/2002.05709; Bardes, Ponce & LeCun,
"VICReg", ICLR 2022, https://arxiv.org/abs/2105.04906; Spijkervet & Burgoyne, "Contrastive
Learning of Musical Representations" (CLMR), ISMIR 2021, https://arxiv.org/abs/2103.09410

A batch holds two crops of each item (``x1[i]`` and ``x2[i]``: a positive pair). Each goes through
random augmentations, the shared *encoder* (the model: its output ``h`` is the representation a
downstream task will use) and a small *projector* MLP (its output ``z`` is what the loss sees).
The loss pulls the views of an item together (NT-Xent also pushes the other items away; VICReg
keeps the batch spread by its variance and covariance terms instead). The projector is dropped
after training: SimCLR found the representation *before* it transfers better, since the loss
makes ``z`` invariant to what the augmentations change, information ``h`` keeps.

Collapse is watched where the loss acts, on the projections ``z`` on the unit sphere (SimSiam's
standard deviation of the normalised output; Wang & Isola's alignment and uniformity,
:mod:`mir101.metrics.representation`), logged as ``train/embedding_std``... every epoch; and on the
encoder's output ``h`` after removing the batch mean (``train/encoder_std``), since an encoder
output dominated by a constant vector has a near-zero normalised spread without having collapsed.

Book page: ``book/ssl.md``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from mir101.metrics.representation import collapse_metrics, embedding_std
from mir101.paradigms.base import System
from mir101.paradigms.batch import batch_field
from mir101.paradigms.optim import optimizer_from_config, scheduler_from_config

__all__ = ["Contrastive"]


class Contrastive(System):
    """Siamese self-supervised training of any encoder.

    Args:
        model: the encoder, ``(batch, *input) -> (batch, dim)``; what the run keeps.
        projector: ``(batch, dim) -> (batch, proj_dim)``, trained with the encoder, dropped after.
        loss: ``loss(z1, z2) -> ()`` (e.g. :class:`~mir101.losses.NTXentLoss`,
            :class:`~mir101.losses.VICRegLoss`; a ``last_terms`` dict it sets is logged too).
        augment: a batch transform applied to each view (training and validation), or ``None``.
        optim: the config's ``optim`` section (see :class:`~mir101.paradigms.base.System`).
        view_keys: the fields of the two views in a dict batch.

    Shape:
        batch ``{"x1": (batch, *input), "x2": (batch, *input)}``.
    """

    def __init__(
        self,
        model: nn.Module,
        projector: nn.Module,
        loss: nn.Module,
        augment: Callable[[Tensor], Tensor] | None = None,
        optim: Mapping[str, Any] | None = None,
        view_keys: tuple[str, str] = ("x1", "x2"),
    ):
        super().__init__(model, optim)
        self.projector = projector
        self.loss = loss
        self.augment = augment
        self.view_keys = tuple(view_keys)

    def export_model(self) -> nn.Module:
        """The encoder alone (the projector is a training helper)."""
        return self.model

    def views(self, batch: Any) -> tuple[Tensor, Tensor]:
        """The two augmented views of a batch."""
        x1 = batch_field(batch, self.view_keys[0], position=0, name="view_keys")
        x2 = batch_field(batch, self.view_keys[1], position=1, name="view_keys")
        if self.augment is not None:
            x1, x2 = self.augment(x1), self.augment(x2)
        return x1, x2

    def common_step(self, batch: Any, train: bool) -> dict[str, Tensor]:
        x1, x2 = self.views(batch)
        h1, h2 = self.model(self.prepare_input(x1)), self.model(self.prepare_input(x2))
        z1, z2 = self.projector(h1), self.projector(h2)
        terms: dict[str, Tensor] = {"loss": self.loss(z1, z2)}
        terms.update(getattr(self.loss, "last_terms", None) or {})
        terms.update(collapse_metrics(z1, z2))
        h = torch.cat([h1, h2]).flatten(1).detach()
        terms["encoder_std"] = embedding_std(h - h.mean(dim=0))
        return terms

    def configure_optimizers(self) -> Any:
        params = itertools.chain(self.model.parameters(), self.projector.parameters())
        opt = optimizer_from_config(params, self.optim)
        sched = scheduler_from_config(opt, self.optim, self.total_steps())
        if sched is None:
            return opt
        return {"optimizer": opt, "lr_scheduler": sched}
