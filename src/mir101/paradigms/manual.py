"""Several optimizers, one per sub-network, stepped in turn: the base of adversarial paradigms.

A GAN-trained codec has two players with two optimizers: the generator (the codec) and the
discriminator; each step updates the discriminator on real vs generated audio, then the generator
to fool it (plus its reconstruction losses). Lightning's automatic optimisation drives a single
optimizer; :class:`ManualSystem` turns it off (``automatic_optimization = False``) and runs the
groups a subclass declares, each with its own parameters, optimizer, schedule and step, in order:

.. code-block:: python

    class GAN(ManualSystem):
        def __init__(self, model, discriminator, optim):
            super().__init__(model, optim)
            self.discriminator = discriminator

        def optim_groups(self):
            return [OptimGroup("discriminator", "discriminator", {"lr": 1e-4}),
                    OptimGroup("generator", "model", self.optim)]

        def group_step(self, group, batch, train):
            ...  # {"loss": ..., other terms} for this group

Only the group's own parameters receive gradients during its step (Lightning's
``toggle_optimizer``), so the generator's loss does not move the discriminator and vice versa.

Book page: ``book/intro.md`` (training with Lightning).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from mir101.errors import ConfigError
from mir101.paradigms.base import System
from mir101.paradigms.optim import optimizer_from_config, scheduler_from_config

__all__ = ["OptimGroup", "ManualSystem"]


@dataclass(frozen=True)
class OptimGroup:
    """One optimizer of a :class:`ManualSystem`: whose parameters, which settings.

    Args:
        name: the group's name, used in :meth:`ManualSystem.group_step` and in logs
            (``train/<name>/<term>``).
        module: attribute path of the sub-network it optimises, relative to the system
            (``"model"``, ``"discriminator"``, ``"model.decoder"``).
        optim: an ``optim`` mapping (``name``, ``lr``, ``weight_decay``, ``scheduler``,
            ``warmup_steps``, other keys to the optimizer such as ``betas``).
        clip_norm: clip the group's gradient norm to this value before each step (``None``: no).
    """

    name: str
    module: str = "model"
    optim: Mapping[str, Any] = field(default_factory=dict)
    clip_norm: float | None = None


class ManualSystem(System):
    """Base of paradigms with several optimizers, stepped one group after the other per batch.

    Subclasses implement :meth:`optim_groups` (which parameters, which optimizer) and
    :meth:`group_step` (the terms of one group for one batch). For each training batch and each
    group in order: only that group's parameters require gradients, its ``"loss"`` is
    back-propagated, its gradients clipped (if asked), its optimizer and per-step scheduler stepped.
    Validation computes every group's terms without stepping (:meth:`common_step`).

    Args:
        model: the network that is saved (:meth:`export_model`), e.g. the generator.
        optim: the config's ``optim`` section, for the subclass's groups to use.
        channels_last: see :class:`~mir101.paradigms.base.System`.

    Note:
        Lightning counts every optimizer step in ``trainer.global_step`` (two per batch for two
        groups): bound training by epochs or ``limit_train_batches`` rather than ``max_steps``.
    """

    def __init__(self, model: nn.Module, optim: Mapping[str, Any] | None = None, channels_last: bool = False):
        super().__init__(model, optim, channels_last)
        self.automatic_optimization = False
        self._intervals: list[str | None] = []

    # ------------------------------------------------------------------ to write in a subclass
    def optim_groups(self) -> list[OptimGroup]:
        """The optimizer groups, in the order they are stepped on each batch."""
        raise NotImplementedError(f"{type(self).__name__} must implement optim_groups()")

    def group_step(self, group: str, batch: Any, train: bool) -> dict[str, Tensor]:
        """The terms of ``group`` for one batch; ``"loss"`` is what the group's optimizer minimises."""
        raise NotImplementedError(f"{type(self).__name__} must implement group_step(group, batch, train)")

    # ------------------------------------------------------------------ the protocol
    def common_step(self, batch: Any, train: bool) -> dict[str, Tensor]:
        """Every group's terms as ``<group>/<term>``; ``"loss"`` is the first group's loss."""
        terms: dict[str, Tensor] = {}
        for i, group in enumerate(self.optim_groups()):
            out = self.group_step(group.name, batch, train)
            if i == 0:
                terms["loss"] = out["loss"]
            terms.update({f"{group.name}/{k}": v for k, v in out.items()})
        return terms

    def _checked_groups(self) -> list[tuple[OptimGroup, list[nn.Parameter]]]:
        groups = self.optim_groups()
        if not groups:
            raise ConfigError(f"{type(self).__name__}.optim_groups() returned no group")
        out, owner = [], {}
        for g in groups:
            try:
                module = self.get_submodule(g.module)
            except AttributeError as err:
                raise ConfigError(
                    f"optimizer group '{g.name}': module='{g.module}' is not a sub-module of "
                    f"{type(self).__name__} ({[n for n, _ in self.named_children()]})"
                ) from err
            params = [p for p in module.parameters() if p.requires_grad]
            if not params:
                raise ConfigError(
                    f"optimizer group '{g.name}': module='{g.module}' has no trainable parameter"
                )
            for p in params:
                if id(p) in owner:
                    raise ConfigError(
                        f"optimizer groups '{owner[id(p)]}' and '{g.name}' share parameters "
                        f"(module='{g.module}'): each parameter must belong to one group"
                    )
                owner[id(p)] = g.name
            out.append((g, params))
        return out

    def configure_optimizers(self) -> Any:
        configs, self._intervals = [], []
        for group, params in self._checked_groups():
            opt = optimizer_from_config(params, group.optim)
            sched = scheduler_from_config(opt, group.optim, self.total_steps())
            self._intervals.append(None if sched is None else sched["interval"])
            config: dict[str, Any] = {"optimizer": opt}
            if sched is not None:  # manual optimisation: we step it ourselves (monitor is ours too)
                config["lr_scheduler"] = {"scheduler": sched["scheduler"], "interval": sched["interval"]}
            configs.append(config)
        return configs

    def _optimizers(self) -> list[Any]:
        opts = self.optimizers()
        return list(opts) if isinstance(opts, (list, tuple)) else [opts]

    def _schedulers(self) -> list[Any]:
        """One scheduler (or None) per group, in group order."""
        scheds = self.lr_schedulers()
        scheds = [] if scheds is None else list(scheds) if isinstance(scheds, (list, tuple)) else [scheds]
        it = iter(scheds)
        return [next(it) if interval is not None else None for interval in self._intervals]

    def training_step(self, batch: Any, batch_idx: int) -> None:
        groups = self.optim_groups()
        size = self._batch_size(batch)
        for group, opt, sched, interval in zip(
            groups, self._optimizers(), self._schedulers(), self._intervals
        ):
            with self.toggled_optimizer(opt):
                terms = self.group_step(group.name, batch, train=True)
                opt.zero_grad()
                self.manual_backward(terms["loss"])
                if group.clip_norm is not None:
                    self.clip_gradients(
                        opt, gradient_clip_val=group.clip_norm, gradient_clip_algorithm="norm"
                    )
                opt.step()
            if sched is not None and interval == "step":
                sched.step()
            self._log_terms({f"{group.name}/{k}": v for k, v in terms.items()}, "train", size)

    def on_train_epoch_end(self) -> None:
        """Step the per-epoch schedulers (``plateau`` on ``val/loss`` when it was logged)."""
        for sched, interval in zip(self._schedulers(), self._intervals):
            if sched is None or interval != "epoch":
                continue
            if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                metric = self.trainer.callback_metrics.get("val/loss")
                if metric is not None:
                    sched.step(metric)
            else:
                sched.step()
