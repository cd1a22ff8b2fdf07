"""Exceptions raised by mir101.

Every error a user can cause is a :class:`Mir101Error` whose message names the culprit (the
file, entry, key, layer or parameter), the value received and what was expected, so that a
newcomer can act on it. The CLI prints these as one line (``--debug`` shows the traceback).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "Mir101Error",
    "ParameterError",
    "ConfigError",
    "UnknownNameError",
    "StoreError",
    "StoreValidationError",
    "AudioError",
    "AnnotationError",
    "ShapeError",
    "ModelBuildError",
    "CheckpointError",
    "MissingDependencyError",
    "CorpusError",
    "Interrupted",
]


class Mir101Error(Exception):
    """Base class of every error mir101 raises on purpose."""


class ParameterError(Mir101Error, ValueError):
    """A function or class argument has an invalid value."""


class ConfigError(Mir101Error):
    """An experiment configuration is invalid (unknown key, wrong type, bad value)."""


class UnknownNameError(ConfigError, ParameterError):
    """A name looked up in a :class:`~mir101.utils.registry.Registry` is not there (a layer, a norm...).

    The message lists the valid names and the closest one. It is both a :class:`ConfigError` (a
    name in a YAML file) and a :class:`ParameterError` (a brick's string argument, such as
    ``norm="batch"``), so code catching either keeps working.
    """


class StoreError(Mir101Error):
    """A data store (``.hdf5`` + ``.pyjama``) cannot be opened or read."""


class StoreValidationError(StoreError):
    """A data store has one or more problems; ``problems`` lists them all, one per line."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        head = f"{len(self.problems)} problem(s) in the data store"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class AudioError(Mir101Error):
    """Audio that cannot be used: empty, NaN/inf, wrong shape, unreadable, too short."""


class AnnotationError(Mir101Error):
    """An annotation cannot be turned into a target (unknown label, bad segment...)."""


class ShapeError(Mir101Error, ValueError):
    """A tensor has a shape a module does not accept."""


class ModelBuildError(Mir101Error):
    """A model cannot be built from its layer list (unknown layer, bad kwarg, shape mismatch)."""


class CheckpointError(Mir101Error):
    """A checkpoint cannot be loaded (missing, corrupt, or made with another config)."""


class MissingDependencyError(Mir101Error, ImportError):
    """An optional package is needed; the message says how to install it."""


class CorpusError(Mir101Error):
    """An embedded corpus cannot be built (renderer missing, silent note, bad SoundFont...)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a command that can be continued: ``hint`` says how (the CLI prints
    ``interrupted; <hint>`` and exits 130). A KeyboardInterrupt, so code that stops on Ctrl-C
    still does."""

    def __init__(self, hint: str):
        super().__init__(hint)
        self.hint = hint
