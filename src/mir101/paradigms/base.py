"""The base of every training paradigm: a LightningModule that takes any model.

A paradigm is the *how* of learning (supervised, metric, contrastive, autoencoder, adversarial,
diffusion...), independent of the *what* (the model, an ``nn.Module`` built from YAML) and of the
data (a ``LightningDataModule``). The protocol every paradigm follows (asteroid's ``System``;
audiocraft's solvers):

1. **What is saved.** :meth:`System.export_model` returns the ``nn.Module`` a run keeps as its
   model (``model.pt`` holds ``system.export_model().state_dict()``) and that evaluation and
   ``predict`` use. By default ``self.model``; a paradigm that trains helpers around it (a
   discriminator, a projection head, an EMA teacher) leaves them out, one that wraps an encoder
   and a decoder may return both.
2. **One step.** :meth:`System.common_step` ``(batch, train) -> dict[str, Tensor]`` is shared by
   training and validation; ``"loss"`` is optimised and every term is logged as
   ``train/<name>`` / ``val/<name>``.
3. **Optimizers by name.** The ``optim`` mapping (``name``, ``lr``, ``weight_decay``,
   ``scheduler``, ``warmup_steps``) goes through :data:`~mir101.paradigms.optim.OPTIMIZERS` and
   :data:`~mir101.paradigms.optim.SCHEDULERS`. Paradigms with several optimizers (a generator and
   a discriminator) derive from :class:`~mir101.paradigms.manual.ManualSystem` instead, which
   declares one optimizer group per sub-network and writes one step per group.
4. **Any batch.** Batches may be tuples, dicts or dataclasses (:mod:`mir101.paradigms.batch`).

Book page: ``book/intro.md`` (training with Lightning).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from mir101.paradigms.batch import batch_size
from mir101.paradigms.optim import (
    make_optimizer,
    make_scheduler,
    optimizer_from_config,
    scheduler_from_config,
)

__all__ = ["System", "make_optimizer", "make_scheduler"]


class System(L.LightningModule):
    """Base LightningModule: holds ``model``, an optimizer spec, and logs ``common_step`` terms.

    Args:
        model: any ``nn.Module``.
        optim: mapping with ``name``, ``lr``, ``weight_decay``, ``scheduler``, ``warmup_steps``
            (the config's ``optim`` section); other keys go to the optimizer (e.g. ``betas``).
        channels_last: keep 4-D inputs and weights channels-last (``trainer.channels_last``).
    """

    def __init__(self, model: nn.Module, optim: Mapping[str, Any] | None = None, channels_last: bool = False):
        super().__init__()
        self.model = model
        self.optim = dict(optim or {})
        self.channels_last = channels_last
        if channels_last:
            self.model.to(memory_format=torch.channels_last)

    def export_model(self) -> nn.Module:
        """The module a run saves and evaluates (``self.model`` unless a paradigm says otherwise)."""
        return self.model

    def prepare_input(self, x: Tensor) -> Tensor:
        """The batch in the model's memory layout (channels-last for 4-D inputs if asked)."""
        if self.channels_last and x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def forward(self, x: Tensor) -> Tensor:
        return self.model(self.prepare_input(x))

    def common_step(self, batch: Any, train: bool) -> dict[str, Tensor]:
        """Compute the named loss terms of one batch; ``"loss"`` is the one optimised."""
        raise NotImplementedError(f"{type(self).__name__} must implement common_step(batch, train)")

    def _log_terms(self, terms: Mapping[str, Tensor], stage: str, batch_size: int) -> None:
        for name, value in terms.items():
            self.log(
                f"{stage}/{name}",
                value.detach() if isinstance(value, Tensor) else value,
                prog_bar=name == "loss",
                on_step=False,
                on_epoch=True,
                sync_dist=True,
                batch_size=batch_size,
            )

    @staticmethod
    def _batch_size(batch: Any) -> int:
        """Items in a tuple, dict or dataclass batch (:func:`~mir101.paradigms.batch.batch_size`)."""
        return batch_size(batch)

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        terms = self.common_step(batch, train=True)
        self._log_terms(terms, "train", self._batch_size(batch))
        return terms["loss"]

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        terms = self.common_step(batch, train=False)
        self._log_terms(terms, "val", self._batch_size(batch))

    def total_steps(self) -> int:
        """Optimizer steps of the whole fit (1 outside a Trainer), for the schedulers."""
        return int(self.trainer.estimated_stepping_batches) if self._trainer is not None else 1

    def configure_optimizers(self) -> Any:
        opt = optimizer_from_config(self.model.parameters(), self.optim)
        sched = scheduler_from_config(opt, self.optim, self.total_steps())
        if sched is None:
            return opt
        return {"optimizer": opt, "lr_scheduler": sched}
