"""Supervised learning: fit ``model(x)`` to targets ``y`` with a loss (BCE, CE, MSE...).

The paradigm of the tutorial's multi-pitch, auto-tagging and chord tasks: the model maps an input
patch to predictions, a loss compares them with the annotations, and validation metrics
(torchmetrics, synchronised across processes) choose the best checkpoint.

Book page: ``book/intro.md`` (training) and ``book/multipitch.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import Tensor, nn
from torchmetrics import MetricCollection

from mir101.paradigms.base import System
from mir101.paradigms.batch import batch_field

__all__ = ["Supervised"]


class Supervised(System):
    """Supervised training of any model.

    Args:
        model: maps a batch ``x`` to predictions (logits for BCE/CE).
        loss: compares ``output_transform(model(x))`` with ``y``.
        optim: the config's ``optim`` section (see :class:`~mir101.paradigms.base.System`).
        metrics: validation metrics updated with ``(prediction, target)`` each validation batch
            and logged as ``val/<name>`` at epoch end.
        output_transform: reshapes model outputs to the target's layout (e.g. drop a channel dim).
        metric_transform: maps ``(output, target)`` to what ``metrics`` expect (e.g. a sigmoid).
        channels_last: see :class:`~mir101.paradigms.base.System`.
        input_key, target_key: the fields of ``x`` and ``y`` in dict or dataclass batches (other
            fields are ignored); tuple batches are read at index 0 and 1, or at the given index
            when a key is an integer.

    Shape:
        ``x``: whatever the model takes, ``(batch, ...)``; ``y``: like the transformed output
        (BCE/MSE) or class indices ``(batch, ...)`` (CE).
    """

    def __init__(
        self,
        model: nn.Module,
        loss: nn.Module,
        optim: Mapping[str, Any] | None = None,
        metrics: MetricCollection | None = None,
        output_transform: Callable[[Tensor], Tensor] | None = None,
        metric_transform: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]] | None = None,
        channels_last: bool = False,
        input_key: str | int = "x",
        target_key: str | int = "y",
    ):
        super().__init__(model, optim, channels_last)
        self.loss = loss
        self.val_metrics = metrics.clone(prefix="val/") if metrics is not None else None
        self.output_transform = output_transform
        self.metric_transform = metric_transform
        self.input_key, self.target_key = input_key, target_key

    def predict_batch(self, x: Tensor) -> Tensor:
        out = self.model(self.prepare_input(x))
        return self.output_transform(out) if self.output_transform is not None else out

    def split_batch(self, batch: Any) -> tuple[Tensor, Tensor]:
        """``(x, y)`` of a tuple, dict or dataclass batch."""
        x = batch_field(batch, self.input_key, position=0, name="input_key")
        y = batch_field(batch, self.target_key, position=1, name="target_key")
        return x, y

    def common_step(self, batch: Any, train: bool) -> dict[str, Tensor]:
        x, y = self.split_batch(batch)
        out = self.predict_batch(x)
        if isinstance(self.loss, nn.CrossEntropyLoss):
            y = y.long()
        else:
            y = y.to(out.dtype)
        terms = {"loss": self.loss(out, y)}
        if not train and self.val_metrics is not None:
            pred, target = self.metric_transform(out, y) if self.metric_transform else (out, y)
            self.val_metrics.update(pred, target)
        return terms

    def on_validation_epoch_end(self) -> None:
        if self.val_metrics is not None:
            self.log_dict(self.val_metrics.compute(), prog_bar=True, sync_dist=True)
            self.val_metrics.reset()
