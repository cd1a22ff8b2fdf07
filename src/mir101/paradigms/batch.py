"""Reading fields of a batch, whatever its kind: a tuple, a dict or a dataclass.

Supervised tasks yield ``(x, y)`` tuples; the coming ones yield more: a cover-song batch
``{"x": ..., "work": ...}``, a separation batch ``{"mix": ..., "stems": ...}``, a codec batch of
audio alone. Paradigms read their fields by key through :func:`batch_field` and count items with
:func:`batch_size`, so one paradigm serves all of them (Lightning moves all three kinds to the
device).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor

from mir101.errors import ParameterError

__all__ = ["batch_field", "batch_size", "batch_keys"]


def batch_keys(batch: Any) -> list[str] | int:
    """The field names of a dict or dataclass batch, or the length of a tuple batch."""
    if isinstance(batch, Mapping):
        return [str(k) for k in batch]
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        return [f.name for f in dataclasses.fields(batch)]
    if isinstance(batch, Sequence) and not isinstance(batch, (str, bytes)):
        return len(batch)
    raise ParameterError(f"a batch must be a tuple, a dict or a dataclass, got {type(batch).__name__}")


def batch_field(batch: Any, key: str | int, position: int | None = None, name: str = "key") -> Any:
    """One field of a batch.

    Args:
        batch: a tuple / list, a mapping or a dataclass instance.
        key: a field name (mappings, dataclasses) or an index (tuples).
        position: the index used for a tuple batch when ``key`` is a name (e.g. 0 for ``"x"``).
        name: the parameter that gave ``key``, named in errors (e.g. ``"input_key"``).

    Examples:
        >>> batch_field({"x": 1, "y": 2}, "y")
        2
        >>> batch_field((1, 2), "y", position=1)
        2
    """
    if isinstance(batch, Mapping):
        if key not in batch:
            raise ParameterError(
                f"{name}={key!r} is not a field of the batch; its fields: {batch_keys(batch)}"
            )
        return batch[key]
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        if not isinstance(key, str) or not hasattr(batch, key):
            raise ParameterError(
                f"{name}={key!r} is not a field of the batch; its fields: {batch_keys(batch)}"
            )
        return getattr(batch, key)
    if isinstance(batch, Sequence) and not isinstance(batch, (str, bytes)):
        index = key if isinstance(key, int) else position
        if index is None or not -len(batch) <= index < len(batch):
            raise ParameterError(
                f"{name}={key!r} cannot be read from a tuple batch of {len(batch)} fields "
                f"(give an index in [0, {len(batch)}), or yield dict batches)"
            )
        return batch[index]
    raise ParameterError(f"a batch must be a tuple, a dict or a dataclass, got {type(batch).__name__}")


def _first_tensor(value: Any) -> Tensor | None:
    if isinstance(value, Tensor):
        return value if value.dim() > 0 else None
    if isinstance(value, Mapping):
        values: Any = value.values()
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        values = (getattr(value, f.name) for f in dataclasses.fields(value))
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        values = value
    else:
        return None
    for v in values:
        t = _first_tensor(v)
        if t is not None:
            return t
    return None


def batch_size(batch: Any) -> int:
    """Items in a batch: the first dimension of its first tensor (fields in order), 1 if none."""
    t = _first_tensor(batch)
    return int(t.shape[0]) if t is not None else 1
