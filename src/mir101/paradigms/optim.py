"""Optimizers and learning-rate schedules by name (the config's ``optim`` section).

``optim: {name: adamw, lr: 1e-3, weight_decay: 0.01, scheduler: cosine, warmup_steps: 100}``
builds AdamW and a per-step cosine decay after a linear warm-up. Both names are looked up in a
:class:`~mir101.utils.registry.Registry`, so an unknown name fails listing the valid ones.

Book page: ``book/intro.md`` (training).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch

from mir101.errors import ConfigError, Mir101Error
from mir101.utils.registry import Registry, check_kwargs

__all__ = [
    "OPTIMIZERS",
    "SCHEDULERS",
    "make_optimizer",
    "make_scheduler",
    "optimizer_from_config",
    "scheduler_from_config",
    "OPTIM_KEYS",
    "cosine_with_warmup",
]

#: the keys of an ``optim`` mapping that are not optimizer arguments
OPTIM_KEYS = ("name", "lr", "weight_decay", "scheduler", "warmup_steps")

#: optimizer name -> class (SGD gets momentum 0.9 unless given)
OPTIMIZERS: Registry[type[torch.optim.Optimizer]] = Registry("optimizer")
OPTIMIZERS.add("adam", torch.optim.Adam)
OPTIMIZERS.add("adamw", torch.optim.AdamW)
OPTIMIZERS.add("sgd", torch.optim.SGD)

#: what a scheduler factory returns: a Lightning ``lr_scheduler`` config, or None
SchedulerConfig = dict[str, Any] | None

#: scheduler name -> ``factory(optimizer, total_steps, warmup_steps) -> SchedulerConfig``
SCHEDULERS: Registry[Callable[[torch.optim.Optimizer, int, int], SchedulerConfig]] = Registry("scheduler")


def make_optimizer(
    params: Iterable[Any], name: str = "adam", lr: float = 1e-3, weight_decay: float = 0.0, **kwargs: Any
) -> torch.optim.Optimizer:
    """Adam, AdamW or SGD (momentum 0.9 by default) by name; ``kwargs`` go to the optimizer (e.g. ``betas``).

    Raises:
        ConfigError: an unknown name (listing the valid ones) or an argument the optimizer does not take.
    """
    cls = OPTIMIZERS.get(name, where="optim.name")
    kwargs = {"lr": lr, "weight_decay": weight_decay, **kwargs}
    if cls is torch.optim.SGD:
        kwargs.setdefault("momentum", 0.9)
    check_kwargs(cls, kwargs, f"optim ({name})")
    try:
        return cls(params, **kwargs)
    except Mir101Error:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(f"optim ({name}): {err}") from err


def make_scheduler(
    optimizer: torch.optim.Optimizer, name: str | None, total_steps: int, warmup_steps: int = 0
) -> SchedulerConfig:
    """A Lightning ``lr_scheduler`` config by name, or ``None`` for ``none``.

    Args:
        optimizer: the optimizer whose learning rate is scheduled.
        name: ``none`` (or ``None``), ``cosine``, ``plateau`` or ``step`` (see their factories).
        total_steps: optimizer steps of the whole training (``trainer.estimated_stepping_batches``).
        warmup_steps: steps of linear warm-up (``cosine`` only).
    """
    factory = SCHEDULERS.get(str(name or "none"), where="optim.scheduler")
    return factory(optimizer, max(int(total_steps), 1), int(warmup_steps))


@SCHEDULERS.register("none")
def _no_scheduler(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int) -> SchedulerConfig:
    """A constant learning rate."""
    return None


def cosine_with_warmup(step: int, total_steps: int, warmup_steps: int) -> float:
    """The learning-rate factor at ``step``: linear from ``1 / warmup`` to 1 over ``warmup_steps``,
    then half a cosine from 1 to 0 at ``total_steps`` (0 after).

    Examples:
        >>> [round(cosine_with_warmup(s, 10, 2), 3) for s in (0, 1, 2, 6, 10)]
        [0.5, 1.0, 1.0, 0.5, 0.0]
    """
    if step < warmup_steps:
        return (step + 1) / max(warmup_steps, 1)
    progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
    return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


@SCHEDULERS.register("cosine")
def _cosine(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int) -> SchedulerConfig:
    """Per step: linear warm-up, then cosine decay to 0 (:func:`cosine_with_warmup`)."""
    sched = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: cosine_with_warmup(step, total_steps, warmup_steps)
    )
    return {"scheduler": sched, "interval": "step"}


@SCHEDULERS.register("plateau")
def _plateau(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int) -> SchedulerConfig:
    """Per epoch: halve the learning rate after 2 validations without a lower ``val/loss``."""
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
    return {"scheduler": sched, "monitor": "val/loss", "interval": "epoch"}


@SCHEDULERS.register("step")
def _step(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int) -> SchedulerConfig:
    """Per step: halve the learning rate every third of training."""
    sched = torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(total_steps // 3, 1), gamma=0.5)
    return {"scheduler": sched, "interval": "step"}


def optimizer_from_config(params: Iterable[Any], optim: Mapping[str, Any]) -> torch.optim.Optimizer:
    """The optimizer an ``optim`` mapping describes; keys beyond :data:`OPTIM_KEYS` go to the optimizer."""
    extra = {k: v for k, v in optim.items() if k not in OPTIM_KEYS}
    return make_optimizer(
        params,
        str(optim.get("name", "adam")),
        float(optim.get("lr", 1e-3)),
        float(optim.get("weight_decay", 0.0)),
        **extra,
    )


def scheduler_from_config(
    optimizer: torch.optim.Optimizer, optim: Mapping[str, Any], total_steps: int
) -> SchedulerConfig:
    """The scheduler config an ``optim`` mapping describes (``scheduler``, ``warmup_steps``)."""
    return make_scheduler(optimizer, optim.get("scheduler"), total_steps, int(optim.get("warmup_steps", 0)))
