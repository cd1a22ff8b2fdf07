"""What every brick shares: its constructor keywords kept for ``get_config``, shape checks, activations.

A brick is a plain :class:`torch.nn.Module` whose constructor takes keyword arguments with
immutable defaults. :class:`Brick` records the values it was built with (defaults included), so
that ``type(m)(**m.get_config())`` rebuilds an identical (untrained) module, the model factory can
print them, and a run folder can save them.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from mir101.errors import ParameterError, ShapeError
from mir101.utils.registry import Registry

__all__ = ["Brick", "check_ndim", "make_activation", "ACTIVATIONS", "pair"]


class Brick(nn.Module):
    """Base class of the mir101 bricks: ``get_config()`` returns the constructor's keyword arguments.

    Subclasses write an ordinary ``__init__``; nothing else is needed. The arguments it was called
    with (defaults filled in) are recorded when it returns. When a subclass calls
    ``super().__init__(...)`` of another brick, the outermost class's arguments win.

    Examples:
        >>> class Scale(Brick):
        ...     def __init__(self, *, factor: float = 2.0):
        ...         super().__init__()
        ...         self.factor = factor
        >>> Scale(factor=3.0).get_config()
        {'factor': 3.0}
    """

    _config: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        signature = inspect.signature(init)

        @functools.wraps(init)
        def recording_init(self: Brick, *args: Any, **kw: Any) -> None:
            bound = signature.bind(self, *args, **kw)
            bound.apply_defaults()
            init(self, *args, **kw)
            self._config = {k: v for k, v in bound.arguments.items() if k != "self"}

        cls.__init__ = recording_init  # type: ignore[method-assign]

    def get_config(self) -> dict[str, Any]:
        """The constructor's keyword arguments: ``type(self)(**self.get_config())`` rebuilds it."""
        return dict(self._config)

    def extra_repr(self) -> str:
        if list(self.children()):  # containers print their children instead
            return ""
        return ", ".join(f"{k}={v!r}" for k, v in self._config.items())


def check_ndim(x: Tensor, ndim: int | tuple[int, ...], layout: str, who: str) -> None:
    """Raise :class:`ShapeError` unless ``x.dim()`` is ``ndim`` (or one of them).

    Args:
        x: the tensor a brick received.
        ndim: the accepted number of dimensions, batch included.
        layout: the expected layout in words, e.g. ``"(batch, channels, time)"``.
        who: the brick's name, for the message.
    """
    accepted = (ndim,) if isinstance(ndim, int) else ndim
    if x.dim() not in accepted:
        raise ShapeError(f"{who} expects input {layout}, got shape {tuple(x.shape)}")


def pair(value: int | tuple[int, ...] | list[int], name: str) -> tuple[int, int]:
    """``3 -> (3, 3)``, ``(5, 3) -> (5, 3)``; anything else raises :class:`ParameterError`."""
    if isinstance(value, int):
        return (value, value)
    if len(value) == 2 and all(isinstance(v, int) for v in value):
        return (int(value[0]), int(value[1]))
    raise ParameterError(f"{name}={value!r} must be an int or a pair of ints (freq, time)")


#: Activations bricks accept by name (``activation="gelu"``); the model factory exposes them too.
ACTIVATIONS: Registry[Callable[..., nn.Module]] = Registry("activation")
for _name, _cls in {
    "relu": nn.ReLU,
    "leakyrelu": nn.LeakyReLU,
    "prelu": nn.PReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "softplus": nn.Softplus,
    "identity": nn.Identity,
}.items():
    ACTIVATIONS.add(_name, _cls)


def make_activation(name: str | None) -> nn.Module:
    """An activation module from its name in :data:`ACTIVATIONS` (``None`` gives the identity).

    Raises:
        UnknownNameError: ``name`` is not in :data:`ACTIVATIONS` (a ``ParameterError``); the message
            lists the valid names.
    """
    if name is None:
        return nn.Identity()
    return ACTIVATIONS.get(name)()
