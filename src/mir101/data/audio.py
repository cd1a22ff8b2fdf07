"""Reading a user's audio file: mono float32 at the sample rate a model needs.

What can be repaired safely (several channels, another sample rate, a truncated WAV) is repaired
and logged; what cannot (missing, empty, corrupt, NaN samples) is an :class:`~mir101.errors.AudioError`
naming the file. Every task's ``predict`` reads audio through :func:`load_audio`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["load_audio", "AudioLimits", "audio_limits", "FAR_OUT_OF_RANGE"]

log = logging.getLogger(__name__)

#: a float file whose samples reach this far outside [-1, 1] is normalised to peak 1 (and a store
#: holding such samples fails ``mir101 data validate``): no audio is written that loud on purpose
FAR_OUT_OF_RANGE = 10.0


@dataclass(frozen=True)
class AudioLimits:
    """What a header may claim before mir101 believes it: sample rates in ``[min_sr, max_sr]``
    Hz, at most ``max_seconds`` of audio in one file or store item.

    A damaged header (a 40 KB file claiming 1 Hz becomes 441 M samples once resampled to
    22050 Hz) is refused instead of read for minutes. The rare real case is allowed by the
    environment variables ``MIR101_MIN_SR``, ``MIR101_MAX_SR`` and ``MIR101_MAX_AUDIO_SECONDS``
    (see :func:`audio_limits`), or by :func:`load_audio`'s ``max_seconds``.
    """

    min_sr: float = 1000.0
    max_sr: float = 768_000.0
    max_seconds: float = 4 * 3600.0

    def sr_problem(self, sr: float) -> str | None:
        """Why sample rate ``sr`` is not believed (``None``: it is)."""
        if self.min_sr <= sr <= self.max_sr:
            return None
        return (
            f"a sample rate of {sr:g} Hz is outside the {self.min_sr:g}-{self.max_sr:g} Hz mir101 reads "
            "(a damaged header?); if it is right, set MIR101_MIN_SR / MIR101_MAX_SR"
        )

    def duration_problem(self, samples: int, sr: float) -> str | None:
        """Why ``samples`` at ``sr`` Hz are too long to read at once (``None``: they are not)."""
        seconds = samples / sr
        if seconds <= self.max_seconds:
            return None
        return (
            f"{samples} samples at {sr:g} Hz ({seconds / 3600:.1f} h) is longer than the "
            f"{self.max_seconds:g} s mir101 reads at once (a damaged header?); if it is right, set "
            f"MIR101_MAX_AUDIO_SECONDS={int(seconds) + 1}"
        )


def audio_limits(max_seconds: float | None = None) -> AudioLimits:
    """The limits in force: :class:`AudioLimits`' defaults, or the environment's
    ``MIR101_MIN_SR``, ``MIR101_MAX_SR``, ``MIR101_MAX_AUDIO_SECONDS`` (``max_seconds``, when
    given, wins over the latter).

    Raises:
        ParameterError: an environment variable that is not a positive number.
    """
    from mir101.errors import ParameterError

    default = AudioLimits()
    values = {}
    for field, var in (
        ("min_sr", "MIR101_MIN_SR"),
        ("max_sr", "MIR101_MAX_SR"),
        ("max_seconds", "MIR101_MAX_AUDIO_SECONDS"),
    ):
        text = os.environ.get(var, "").strip()
        if not text:
            values[field] = getattr(default, field)
            continue
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not value > 0 or not np.isfinite(value):
            raise ParameterError(f"{var}={text!r} must be a positive number")
        values[field] = value
    if max_seconds is not None:
        if not max_seconds > 0:
            raise ParameterError(f"max_seconds={max_seconds!r} must be positive")
        values["max_seconds"] = float(max_seconds)
    return AudioLimits(**values)


def load_audio(path: str | Path, sr: int, max_seconds: float | None = None) -> np.ndarray:
    """Read an audio file as mono float32 at ``sr``.

    What can be repaired safely is repaired and logged: several channels are mixed down, another
    sample rate is resampled, a truncated WAV (the header announces more audio than the file
    holds) is read up to where it stops, samples far outside [-1, 1] (a float file written
    unscaled) are normalised to peak 1. Integer formats (8, 16, 24, 32 bits) are scaled to
    [-1, 1]; silence is valid audio.

    The header is not believed blindly: a sample rate or a duration outside :func:`audio_limits`
    is refused before the samples are read (``max_seconds`` raises the duration bound).

    Raises:
        AudioError: naming the file: missing, empty, unreadable (not audio, corrupt), no samples,
            NaN/inf samples, or a sample rate / duration outside the limits.
    """
    import soundfile as sf

    from mir101.errors import AudioError

    path = Path(path)
    limits = audio_limits(max_seconds)
    if not path.is_file():
        raise AudioError(f"audio file not found: {path}")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: the file is empty (0 bytes)")
    try:
        info = sf.info(str(path))
        _check_header(path, info.samplerate, info.frames, limits)
        x, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except AudioError:
        raise
    except Exception as err:  # soundfile raises LibsndfileError / RuntimeError
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise AudioError(f"{path}: cannot read audio, corrupt or not an audio format ({first})") from err
    _check_header(path, file_sr, x.shape[0], limits)
    truncated = _truncated_wav(path)
    if truncated is not None:
        log.warning(
            "%s: truncated WAV: the header announces %d bytes of audio, the file holds %d; "
            "reading the %.2f s present",
            path,
            truncated[0],
            truncated[1],
            x.shape[0] / file_sr,
        )
    if x.shape[0] == 0:
        raise AudioError(f"{path}: the audio is empty (no samples)")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        first = int(np.argmax(bad))
        raise AudioError(
            f"{path}: the audio holds {int(bad.sum())} NaN or inf sample(s), the first at "
            f"{first / file_sr:.3f} s (sample {first})"
        )
    peak = float(np.max(np.abs(x)))
    if peak > FAR_OUT_OF_RANGE:
        log.warning(
            "%s: samples reach %.3g, far outside [-1, 1] (a float file written unscaled?): normalised to peak 1",
            path,
            peak,
        )
        x = (x.astype(np.float64) / peak).astype(np.float32)
    if x.shape[1] > 1:
        log.info("%s: %d channels mixed down to mono", path, x.shape[1])
    x = x.mean(axis=1)
    if file_sr != sr:
        import librosa

        log.info("%s: resampled from %d Hz to %d Hz", path, file_sr, sr)
        x = librosa.resample(x, orig_sr=file_sr, target_sr=sr).astype(np.float32)
    return x


def _check_header(path: Path, sr: float, frames: int, limits: AudioLimits) -> None:
    from mir101.errors import AudioError

    problem = limits.sr_problem(sr) or (limits.duration_problem(frames, sr) if frames > 0 else None)
    if problem is not None:
        raise AudioError(f"{path}: {problem}")


def _truncated_wav(path: Path) -> tuple[int, int] | None:
    """``(announced, present)`` bytes of a RIFF/WAVE file's ``data`` chunk when the file stops
    before the end its header announces; ``None`` otherwise (other formats, streamed WAVs whose
    size field is 0 or 0xFFFFFFFF)."""
    size = path.stat().st_size
    with path.open("rb") as fid:
        head = fid.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        while pos + 8 <= size:
            fid.seek(pos)
            chunk = fid.read(8)
            n = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                present = size - pos - 8
                return (n, present) if 0 < n < 0xFFFFFFFF and n > present else None
            pos += 8 + n + (n & 1)
    return None
