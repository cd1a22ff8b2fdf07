"""Every metric function by name, so that a task or a config can ask for a score by its name.

The functions live in one file per family (:mod:`~mir101.metrics.multipitch`,
:mod:`~mir101.metrics.ranking`, :mod:`~mir101.metrics.frechet`), each registering itself here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mir101.utils.registry import Registry

__all__ = ["METRICS"]

#: metric name -> function (case-insensitive)
METRICS: Registry[Callable[..., Any]] = Registry("metric")
