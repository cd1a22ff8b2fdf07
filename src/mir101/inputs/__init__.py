"""Inputs: waveform, STFT, log-mel, CQT, harmonic CQT and chroma as batched, differentiable torch modules.

Each takes audio ``(batch, samples)`` and returns ``(batch, channels, freq, time)`` (the waveform:
``(batch, 1, samples)``), and says where its frames and bins lie (``frame_times``, ``frequencies``).
:func:`build_input` builds one from a config's ``input`` section; :class:`FeatureCache` stores
the features of a whole data store once; :meth:`InputModule.chunks` computes a long signal in
bounded memory.

Book page: ``book/inputs.md``.
"""

from mir101.inputs.base import FeatureChunk, InputModule, as_batch, compress
from mir101.inputs.cache import FeatureCache
from mir101.inputs.chroma import Chroma
from mir101.inputs.cqt import CQT, cqt_frequencies
from mir101.inputs.hcqt import HarmonicCQT
from mir101.inputs.logmel import LogMel
from mir101.inputs.registry import INPUTS, build_input
from mir101.inputs.resample import resample
from mir101.inputs.stft import Spectrogram
from mir101.inputs.waveform import Waveform

__all__ = [
    "InputModule",
    "FeatureChunk",
    "Waveform",
    "Spectrogram",
    "LogMel",
    "CQT",
    "HarmonicCQT",
    "Chroma",
    "INPUTS",
    "build_input",
    "FeatureCache",
    "as_batch",
    "compress",
    "cqt_frequencies",
    "resample",
]
