"""Inputs by name, so that an experiment switches input with one line of its config.

Book page: ``book/inputs.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mir101.errors import ConfigError, ParameterError
from mir101.inputs.base import InputModule
from mir101.inputs.chroma import Chroma
from mir101.inputs.cqt import CQT
from mir101.inputs.hcqt import HarmonicCQT
from mir101.inputs.logmel import LogMel
from mir101.inputs.stft import Spectrogram
from mir101.inputs.waveform import Waveform
from mir101.utils.registry import Registry

__all__ = ["INPUTS", "build_input"]

#: Every input class by its config name (case-insensitive).
INPUTS: Registry[type[InputModule]] = Registry("input")
INPUTS.add("waveform", Waveform)
INPUTS.add("stft", Spectrogram)
INPUTS.add("logmel", LogMel)
INPUTS.add("cqt", CQT)
INPUTS.add("hcqt", HarmonicCQT)
INPUTS.add("chroma", Chroma)


def build_input(node: Mapping[str, Any]) -> InputModule:
    """Build the input described by a config's ``input`` section.

    Args:
        node: ``{"name": <registry name>, **kwargs of that class}``, e.g.
            ``{"name": "hcqt", "sr": 22050, "hop_length": 512, "bins_per_semitone": 3}``.

    Raises:
        ConfigError: no ``name``, an unknown name (the message lists the valid ones), an argument
            the class does not take (the message lists those it takes) or a bad value.

    Examples:
        >>> build_input({"name": "CQT", "n_octaves": 4}).n_bins
        144
    """
    kwargs = dict(node)
    name = kwargs.pop("name", None)
    if not name:
        raise ConfigError(f"the 'input' section needs a 'name', one of {INPUTS.names()}; got {dict(node)}")
    INPUTS.get(str(name), where="input.name")  # an unknown name, said once
    where = f"input '{name}'"
    try:
        return INPUTS.build(str(name), kwargs, where=where)
    except ConfigError:
        raise  # already names the input
    except ParameterError as err:
        raise ConfigError(f"{where}: {err}") from err
