"""The base of every training paradigm: a LightningModule that takes any model.

A paradigm is the *how* of learning (supervised, metric, contrastive, autoencoder, adversarial,
diffusion...), independent of the *what* (the model, an ``nn.Module`` built from YAML) and of the
data (a ``LightningDataModule``). Subclasses write one :meth:`System.common_step` shared by
training and validation; it returns a dict of named terms whose ``"loss"`` is optimised and all of
which are logged (asteroid's ``System``; audiocraft's solvers).

Book page: ``book/intro.md`` (training with Lightning).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from mir101.errors import ConfigError

__all__ = ["System", "make_optimizer", "make_scheduler"]

_OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
_SCHEDULERS = ("none", "cosine", "plateau", "step")


def make_optimizer(
    params: Any, name: str = "adam", lr: float = 1e-3, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    """Adam, AdamW or SGD (momentum 0.9) by name."""
    key = str(name).lower()
    if key not in _OPTIMIZERS:
        raise ConfigError(f"optim.name='{name}' is not known; valid names: {sorted(_OPTIMIZERS)}")
    kwargs: dict[str, Any] = {"lr": lr, "weight_decay": weight_decay}
    if key == "sgd":
        kwargs["momentum"] = 0.9
    return _OPTIMIZERS[key](params, **kwargs)


def make_scheduler(
    optimizer: torch.optim.Optimizer, name: str | None, total_steps: int, warmup_steps: int = 0
) -> dict[str, Any] | None:
    """A Lightning ``lr_scheduler`` config: ``cosine`` (per step, with linear warm-up),
    ``plateau`` (halve on a flat ``val/loss``), ``step`` (x0.5 every third of training) or none."""
    key = str(name or "none").lower()
    if key not in _SCHEDULERS:
        raise ConfigError(f"optim.scheduler='{name}' is not known; valid names: {list(_SCHEDULERS)}")
    if key == "none":
        return None
    if key == "plateau":
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
        return {"scheduler": sched, "monitor": "val/loss", "interval": "epoch"}
    total = max(int(total_steps), 1)
    if key == "step":
        sched = torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(total // 3, 1), gamma=0.5)
        return {"scheduler": sched, "interval": "step"}

    def cosine(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(warmup_steps, 1)
        progress = (step - warmup_steps) / max(total - warmup_steps, 1)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return {"scheduler": torch.optim.lr_scheduler.LambdaLR(optimizer, cosine), "interval": "step"}


class System(L.LightningModule):
    """Base LightningModule: holds ``model``, an optimizer spec, and logs ``common_step`` terms.

    Args:
        model: any ``nn.Module``.
        optim: mapping with ``name``, ``lr``, ``weight_decay``, ``scheduler``, ``warmup_steps``
            (the config's ``optim`` section).
        channels_last: keep 4-D inputs and weights channels-last (``trainer.channels_last``).
    """

    def __init__(self, model: nn.Module, optim: Mapping[str, Any] | None = None, channels_last: bool = False):
        super().__init__()
        self.model = model
        self.optim = dict(optim or {})
        self.channels_last = channels_last
        if channels_last:
            self.model.to(memory_format=torch.channels_last)

    def prepare_input(self, x: Tensor) -> Tensor:
        """The batch in the model's memory layout (channels-last for 4-D inputs if asked)."""
        if self.channels_last and x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def forward(self, x: Tensor) -> Tensor:
        return self.model(self.prepare_input(x))

    def common_step(self, batch: Any, train: bool) -> dict[str, Tensor]:
        """Compute the named loss terms of one batch; ``"loss"`` is the one optimised."""
        raise NotImplementedError

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
        first = batch[0] if isinstance(batch, (list, tuple)) else batch
        return int(first.shape[0]) if isinstance(first, Tensor) else 1

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        terms = self.common_step(batch, train=True)
        self._log_terms(terms, "train", self._batch_size(batch))
        return terms["loss"]

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        terms = self.common_step(batch, train=False)
        self._log_terms(terms, "val", self._batch_size(batch))

    def configure_optimizers(self) -> Any:
        opt = make_optimizer(
            self.model.parameters(),
            self.optim.get("name", "adam"),
            float(self.optim.get("lr", 1e-3)),
            float(self.optim.get("weight_decay", 0.0)),
        )
        total = int(self.trainer.estimated_stepping_batches) if self._trainer is not None else 1
        sched = make_scheduler(
            opt, self.optim.get("scheduler"), total, int(self.optim.get("warmup_steps", 0))
        )
        if sched is None:
            return opt
        return {"optimizer": opt, "lr_scheduler": sched}
