"""Name -> class registries whose errors list the valid names and the allowed kwargs."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from mir101.errors import ConfigError, Mir101Error, UnknownNameError

__all__ = ["Registry", "check_kwargs"]

T = TypeVar("T")


def _accepted(fn: Callable) -> tuple[set[str], bool]:
    sig = inspect.signature(fn)
    names = {p.name for p in sig.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    names.discard("self")
    var_kw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    return names, var_kw


def check_kwargs(fn: Callable, kwargs: Mapping[str, Any], where: str) -> None:
    """Raise :class:`ConfigError` naming ``where`` if ``kwargs`` has a key ``fn`` does not take."""
    names, var_kw = _accepted(fn)
    if var_kw:
        return
    unknown = sorted(set(kwargs) - names)
    if unknown:
        hint = difflib.get_close_matches(unknown[0], sorted(names), n=1)
        tip = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise ConfigError(f"{where}: unknown argument(s) {unknown}{tip}; allowed: {sorted(names)}")


class Registry(Generic[T]):
    """A case-insensitive mapping from names to classes (or factories).

    Every string choice of mir101 is resolved by one: task and input names, the layers of a YAML
    list, and a brick's string arguments (``norm="batch"``, ``positions="rope"``). An unknown name
    raises :class:`~mir101.errors.UnknownNameError` with one message everywhere:
    ``unknown <kind> '<name>' (did you mean '<closest>'?); valid names: [...]``.

    Args:
        kind: what the registry holds, used in error messages ("input", "layer", "task"); for a
            brick argument, the argument's name ("norm", "positions").

    Examples:
        >>> inputs = Registry("input")
        >>> @inputs.register("logmel")
        ... class LogMel: ...
        >>> inputs.get("LogMel") is LogMel
        True
        >>> inputs.get("logmle")
        Traceback (most recent call last):
        ...
        mir101.errors.UnknownNameError: unknown input 'logmle' (did you mean 'logmel'?); valid names: ['logmel']
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, *names: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            for name in names or (getattr(obj, "__name__", None),):
                key = str(name).lower()
                if key in self._items and self._items[key] is not obj:
                    raise ValueError(f"{self.kind} '{name}' registered twice")
                self._items[key] = obj
            return obj

        return deco

    def add(self, name: str, obj: T) -> None:
        self.register(name)(obj)

    def get(self, name: str, where: str | None = None) -> T:
        """The object registered as ``name`` (any case); :class:`UnknownNameError` if there is none.

        Args:
            name: the name looked up.
            where: prefixed to the error message (``"layer 3"``), or ``None``.
        """
        key = str(name).lower()
        if key not in self._items:
            hint = difflib.get_close_matches(key, list(self._items), n=1)
            tip = f" (did you mean '{hint[0]}'?)" if hint else ""
            prefix = f"{where}: " if where else ""
            raise UnknownNameError(f"{prefix}unknown {self.kind} '{name}'{tip}; valid names: {self.names()}")
        return self._items[key]

    def build(self, name: str, kwargs: Mapping[str, Any] | None = None, where: str | None = None) -> Any:
        """Instantiate ``name`` with ``kwargs`` after checking every kwarg is accepted."""
        cls = self.get(name, where)
        kwargs = dict(kwargs or {})
        where = where or f"{self.kind} '{name}'"
        check_kwargs(cls, kwargs, where)
        try:
            return cls(**kwargs)  # type: ignore[operator]
        except Mir101Error:
            raise
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{where}: {err}") from err

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return str(name).lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
