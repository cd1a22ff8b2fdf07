"""Reading a user's audio file: mono float32 at the sample rate a model needs.

What can be repaired safely (several channels, another sample rate, a truncated WAV) is repaired
and logged; what cannot (missing, empty, corrupt, NaN samples) is an :class:`~mir101.errors.AudioError`
naming the file. Every task's ``predict`` reads audio through :func:`load_audio`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

__all__ = ["load_audio"]

log = logging.getLogger(__name__)


def load_audio(path: str | Path, sr: int) -> np.ndarray:
    """Read an audio file as mono float32 at ``sr``.

    What can be repaired safely is repaired and logged: several channels are mixed down, another
    sample rate is resampled, a truncated WAV (the header announces more audio than the file
    holds) is read up to where it stops. Integer formats (8, 16, 24, 32 bits) are scaled to
    [-1, 1]; silence is valid audio.

    Raises:
        AudioError: naming the file: missing, empty, unreadable (not audio, corrupt), no samples,
            or NaN/inf samples.
    """
    import soundfile as sf

    from mir101.errors import AudioError

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"audio file not found: {path}")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: the file is empty (0 bytes)")
    try:
        x, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:  # soundfile raises LibsndfileError / RuntimeError
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise AudioError(f"{path}: cannot read audio, corrupt or not an audio format ({first})") from err
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
    if x.shape[1] > 1:
        log.info("%s: %d channels mixed down to mono", path, x.shape[1])
    x = x.mean(axis=1)
    bad = ~np.isfinite(x)
    if bad.any():
        first = int(np.argmax(bad))
        raise AudioError(
            f"{path}: the audio holds {int(bad.sum())} NaN or inf sample(s), the first at "
            f"{first / file_sr:.3f} s (sample {first})"
        )
    if file_sr != sr:
        import librosa

        log.info("%s: resampled from %d Hz to %d Hz", path, file_sr, sr)
        x = librosa.resample(x, orig_sr=file_sr, target_sr=sr).astype(np.float32)
    return x


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
