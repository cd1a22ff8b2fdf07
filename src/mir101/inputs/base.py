"""The contract every input shares: accepted shapes, frame/bin bookkeeping, compression, config.

An *input* turns audio ``(batch, samples)`` into the tensor a model reads,
``(batch, channels, freq, time)``. Every input also says where its frames lie in time
(:meth:`InputModule.frame_times`) and what its bins mean (:meth:`InputModule.frequencies`), so that
tasks never recompute hops or bin frequencies themselves.

Book page: ``book/inputs.md``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from mir101.errors import ParameterError, ShapeError

__all__ = ["InputModule", "FeatureChunk", "as_batch", "compress", "LOG_CHOICES", "LOG_GAIN"]

#: Compressions an input can apply to its (power or magnitude) output.
LOG_CHOICES = (None, "log1p", "db")
#: The tutorial's ``C`` in ``log(1 + C·x)`` (``feature.py``: ``f_log = np.log(1 + 10000 * x)``).
LOG_GAIN = 10000.0


def as_batch(
    x: Tensor | np.ndarray,
    name: str = "input",
    dtype: torch.dtype = torch.float32,
    device: torch.device | None = None,
) -> Tensor:
    """Audio of shape ``(samples,)``, ``(batch, samples)`` or ``(batch, 1, samples)`` as ``(batch, 1, samples)``.

    The one place where inputs check what they receive (nnAudio's ``broadcast_dim`` idea).
    NumPy arrays are converted; the result has the module's ``dtype`` and lies on its ``device``
    (so that ``hcqt(numpy_audio)`` works on a GPU module).

    Raises:
        ShapeError: on any other shape (a multichannel ``(batch, 2, samples)`` included: mix it
            down first, as :meth:`mir101.data.Store.audio` does), or on empty audio.

    Examples:
        >>> as_batch(torch.zeros(100)).shape
        torch.Size([1, 1, 100])
        >>> as_batch(torch.zeros(4, 100)).shape
        torch.Size([4, 1, 100])
    """
    x = torch.as_tensor(x)
    received = tuple(x.shape)
    if x.ndim == 1:
        x = x[None, None]
    elif x.ndim == 2:
        x = x[:, None]
    elif not (x.ndim == 3 and x.shape[1] == 1):
        raise ShapeError(
            f"{name} expects audio of shape (samples,), (batch, samples) or (batch, 1, samples); "
            f"got shape {received}" + (" (mix the channels down to mono first)" if x.ndim == 3 else "")
        )
    if x.shape[-1] == 0:
        raise ShapeError(f"{name} got empty audio of shape {received}")
    if x.is_complex():
        raise ShapeError(f"{name} expects real audio, got dtype {x.dtype}")
    return x.to(device=device, dtype=dtype)


def compress(x: Tensor, log: str | None, log_gain: float = LOG_GAIN, power: float = 1.0) -> Tensor:
    """Compress a non-negative spectrum ``x`` (a magnitude if ``power=1``, a power if ``power=2``).

    - ``None``: ``x`` unchanged;
    - ``"log1p"``: ``log(1 + log_gain · x)``, the tutorial's compression (finite at 0, smooth gradient);
    - ``"db"``: ``(20 / power) · log10(max(x, 1e-5 ** power))`` (10 log10 of a power, 20 log10 of a
      magnitude), i.e.
      :func:`librosa.power_to_db` / :func:`librosa.amplitude_to_db` with ``ref=1`` and ``top_db=None``
      (no clipping relative to the maximum, so that each frame does not depend on the batch).
    """
    if log is None:
        return x
    if log == "log1p":
        return torch.log1p(log_gain * x)
    if log == "db":
        return (20.0 / power) * torch.log10(torch.clamp(x, min=1e-5**power))
    raise ParameterError(f"log={log!r} must be one of {list(LOG_CHOICES)}")


def _check_log(log: str | None, log_gain: float) -> None:
    if log not in LOG_CHOICES:
        raise ParameterError(f"log={log!r} must be one of {list(LOG_CHOICES)}")
    if log == "log1p" and not log_gain > 0:
        raise ParameterError(f"log_gain={log_gain!r} must be positive")


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ParameterError(f"{name}={value!r} must be a positive integer")
    return int(value)


def _check_positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not value > 0:
        raise ParameterError(f"{name}={value!r} must be a positive number")
    return float(value)


class InputModule(nn.Module):
    """Base class of every input: sample rate, hop, frame times, bins, output shape, config.

    Subclasses set ``sr``, ``hop_length``, ``n_channels`` and ``n_bins`` in ``__init__`` and
    implement ``forward``, :meth:`frequencies` and :meth:`get_config`.

    Frame ``k`` is centred on sample ``k * hop_length`` (librosa's ``center=True``): audio of
    ``n`` samples gives ``1 + n // hop_length`` frames.
    """

    sr: int
    hop_length: int
    n_channels: int
    n_bins: int

    @property
    def frame_rate(self) -> float:
        """Frames per second: ``sr / hop_length``."""
        return self.sr / self.hop_length

    def n_frames(self, n_samples: int) -> int:
        """Number of frames the input makes of ``n_samples`` samples: ``1 + n_samples // hop_length``."""
        return 1 + int(n_samples) // self.hop_length

    def frame_times(self, n_frames: int) -> np.ndarray:
        """Time in seconds of the centre of each of ``n_frames`` frames: ``k * hop_length / sr``."""
        return np.arange(int(n_frames)) * self.hop_length / self.sr

    def output_shape(self, n_samples: int) -> tuple[int, ...]:
        """``(channels, freq, frames)`` of the output for audio of ``n_samples`` samples (no batch)."""
        return (self.n_channels, self.n_bins, self.n_frames(n_samples))

    def frequencies(self) -> np.ndarray:
        """Centre frequency (Hz) of each of the ``n_bins`` bins."""
        raise NotImplementedError

    def context_frames(self) -> int:
        """How many frames on each side of frame ``k`` the samples it reads reach (its longest
        filter, decimation filters included): measured once from impulses, exactly, since the
        output of silence is left unchanged outside a filter's support."""
        if "_context_frames" not in self.__dict__:
            self.__dict__["_context_frames"] = _measure_context(self)
        return int(self.__dict__["_context_frames"])

    @torch.no_grad()
    def chunks(
        self, audio: Tensor | np.ndarray, chunk_frames: int = 4096, overlap_frames: int = 0
    ) -> Iterator[FeatureChunk]:
        """The output of a long signal, ``chunk_frames`` frames at a time, in bounded memory.

        Each chunk is computed from the samples its frames read (:meth:`context_frames` more on
        each side), so its frames equal those of ``self(audio)`` up to float rounding whatever
        the length of ``audio``: a prediction over hours of audio never holds the whole transform.

        Args:
            audio: ``(samples,)``, ``(batch, samples)`` or ``(batch, 1, samples)``.
            chunk_frames: frames per chunk (the last one may be shorter).
            overlap_frames: frames given on each side of a chunk besides its own (clipped at the
                ends), e.g. the context a model needs around the frames it predicts.

        Yields:
            :class:`FeatureChunk`: frames ``[start, stop)`` of ``self(audio)`` (consecutive chunks
            tile the output) in ``features``, which holds frames ``[first, first + n)``, the overlap
            included.

        Examples:
            >>> cqt = CQT(n_octaves=2, fmin=220.0)                             # doctest: +SKIP
            >>> parts = [c.core for c in cqt.chunks(torch.randn(22050 * 60), 512)]  # doctest: +SKIP
            >>> torch.allclose(torch.cat(parts, -1), cqt(x), rtol=1e-4)          # doctest: +SKIP
        """
        if type(self).n_frames is not InputModule.n_frames:
            raise ParameterError(f"{type(self).__name__} has no frame grid to compute in chunks")
        chunk_frames = _check_positive_int("chunk_frames", chunk_frames)
        if isinstance(overlap_frames, bool) or not isinstance(overlap_frames, int) or overlap_frames < 0:
            raise ParameterError(f"overlap_frames={overlap_frames!r} must be a non-negative integer")
        x = as_batch(audio, f"{type(self).__name__}.chunks")
        length, hop = x.shape[-1], self.hop_length
        n, context = self.n_frames(length), self.context_frames()
        for start in range(0, n, chunk_frames):
            stop = min(start + chunk_frames, n)
            lo, hi = max(start - overlap_frames, 0), min(stop + overlap_frames, n)
            first, last = max(lo - context, 0), min(hi + context, n)  # frames computed: [first, last)
            # whole hops from the signal's start keep frame centres (and decimation phases) aligned
            segment = x[..., first * hop : length if last == n else last * hop]
            yield FeatureChunk(start, stop, lo, self(segment)[..., lo - first : hi - first])

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments: ``type(m)(**m.get_config())`` rebuilds the module."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())


@dataclass(frozen=True)
class FeatureChunk:
    """One chunk of :meth:`InputModule.chunks`: frames ``[start, stop)`` of the whole output.

    Attributes:
        start, stop: the frames this chunk stands for (chunks tile the output).
        first: the frame ``features[..., 0]`` is (``start`` minus the overlap, clipped at 0).
        features: ``(batch, channels, freq, frames)``, the overlap included.
    """

    start: int
    stop: int
    first: int
    features: Tensor

    @property
    def core(self) -> Tensor:
        """Frames ``[start, stop)`` only."""
        return self.features[..., self.start - self.first : self.stop - self.first]


@torch.no_grad()
def _measure_context(module: InputModule) -> int:
    """Frames on each side that an impulse on a frame centre reaches, plus two spare frames (an
    impulse between two centres, or at another decimation phase, reaches at most one frame more)."""
    hop, length = module.hop_length, 1 << 18
    while True:
        centre = length // 2 // hop
        x = torch.zeros(2, length)  # silence, and an impulse on frame `centre`
        x[1, centre * hop] = 1.0
        y = module(x)
        touched = (y[1] != y[0]).flatten(0, -2).any(dim=0).nonzero().flatten()
        reach = max(centre - int(touched[0]), int(touched[-1]) - centre) if len(touched) else 0
        if reach < centre - 2 or length >= 1 << 24:
            return reach + 2
        length *= 2  # the response reached the edges: measure on a longer signal


def _n_twos(n: int) -> int:
    """How many times ``n`` divides by 2 (``n > 0``)."""
    return (n & -n).bit_length() - 1


def _log2_int(x: float) -> int | None:
    """``log2(x)`` if ``x`` is a power of two (1/2, 1, 2, 4...), else ``None``."""
    e = math.log2(x)
    return round(e) if abs(e - round(e)) < 1e-9 else None
