"""Codes files: what ``mir101 codec encode`` writes and ``mir101 codec decode`` reads (``.npz``).

One NumPy ``.npz`` archive (read with ``allow_pickle=False``: a file cannot run code) holding::

    format        "mir101-codes"        what the file is
    version       1
    kind          "tokens" | "latents"  integer codes (VQ / RVQ) or float32 latents (AE / VAE)
    data          (codebooks, frames) int32, or (latent_dim, frames) float32
    sr            sample rate of the audio (Hz)
    n_samples     length of the audio (samples), to trim the last frame's padding
    hop           audio samples per frame
    codebook_size codes per codebook (0 for latents)
    model         the fingerprint of the model that made them (a hash of its weights)

A file that is not such an archive, was truncated, or was made by another model or at another
sample rate is refused with one line that says so (:class:`CodesFileError`).

Book page: ``book/bottlenecks.md``.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mir101.errors import Mir101Error
from mir101.utils.io import atomic_path

__all__ = ["Codes", "CodesFileError", "FORMAT", "VERSION"]

FORMAT = "mir101-codes"
VERSION = 1
KINDS = ("tokens", "latents")
FIELDS = ("format", "version", "kind", "data", "sr", "n_samples", "hop", "codebook_size", "model")


class CodesFileError(Mir101Error, ValueError):
    """A codes file is corrupt, of another format, or does not fit the model asked to decode it."""


@dataclass
class Codes:
    """The transmitted representation of one audio file (see the module docstring).

    Examples:
        >>> c = Codes("tokens", np.zeros((2, 5), np.int32), sr=16000, n_samples=1600, hop=320, codebook_size=16, model="ab12")
        >>> c.seconds, c.kbps
        (0.1, 0.4)
    """

    kind: str
    data: np.ndarray
    sr: int
    n_samples: int
    hop: int
    codebook_size: int
    model: str

    @property
    def seconds(self) -> float:
        return self.n_samples / self.sr

    @property
    def kbps(self) -> float:
        """The bitrate of these codes: frames/s x codebooks x log2(codebook size), or 32 bits per latent value."""
        bits = np.log2(self.codebook_size) if self.kind == "tokens" else 32.0
        return float(self.sr / self.hop * self.data.shape[0] * bits / 1000.0)

    def save(self, path: str | Path) -> Path:
        """Write the archive atomically (a kill mid-write leaves no half file)."""
        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "wb") as fid:
            np.savez(
                fid,
                format=np.array(FORMAT),
                version=np.array(VERSION),
                kind=np.array(self.kind),
                data=self.data,
                sr=np.array(self.sr),
                n_samples=np.array(self.n_samples),
                hop=np.array(self.hop),
                codebook_size=np.array(self.codebook_size),
                model=np.array(self.model),
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> Codes:
        """Read and check a codes file; anything wrong is a :class:`CodesFileError` naming the file."""
        path = Path(path)
        if not path.is_file():
            raise CodesFileError(f"codes file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as archive:
                content: dict[str, Any] = {k: archive[k] for k in archive.files}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CodesFileError(
                f"{path}: not a readable codes file, corrupt or truncated ({first}); encode the audio again "
                "with `mir101 codec encode`"
            ) from err
        missing = [f for f in FIELDS if f not in content]
        if missing or str(content.get("format", "")) != FORMAT:
            raise CodesFileError(
                f"{path}: not a mir101 codes file (missing {missing or ['format']}); it must be written by "
                "`mir101 codec encode`"
            )
        if int(content["version"]) != VERSION:
            raise CodesFileError(
                f"{path}: codes format version {int(content['version'])}, this mir101 reads {VERSION}"
            )
        codes = cls(
            kind=str(content["kind"]),
            data=content["data"],
            sr=int(content["sr"]),
            n_samples=int(content["n_samples"]),
            hop=int(content["hop"]),
            codebook_size=int(content["codebook_size"]),
            model=str(content["model"]),
        )
        codes._check(path)
        return codes

    def _check(self, path: Path) -> None:
        if self.kind not in KINDS:
            raise CodesFileError(f"{path}: kind '{self.kind}' must be one of {list(KINDS)}")
        if self.data.ndim != 2 or self.data.shape[1] < 1:
            raise CodesFileError(
                f"{path}: data must be (codebooks or channels, frames), got shape {self.data.shape}"
            )
        if self.sr <= 0 or self.hop <= 0 or self.n_samples <= 0:
            raise CodesFileError(
                f"{path}: sr={self.sr}, hop={self.hop}, n_samples={self.n_samples} must be positive"
            )
        if self.n_samples > self.data.shape[1] * self.hop:
            raise CodesFileError(
                f"{path}: {self.data.shape[1]} frames of {self.hop} samples cannot hold n_samples={self.n_samples}"
            )
        if self.kind == "tokens":
            if not np.issubdtype(self.data.dtype, np.integer):
                raise CodesFileError(f"{path}: tokens must be integers, got dtype {self.data.dtype}")
            if self.data.size and (self.data.min() < 0 or self.data.max() >= self.codebook_size):
                raise CodesFileError(
                    f"{path}: tokens must lie in [0, {self.codebook_size}), got [{self.data.min()}, {self.data.max()}]"
                )
        elif not np.issubdtype(self.data.dtype, np.floating) or not np.isfinite(self.data).all():
            raise CodesFileError(f"{path}: latents must be finite floats, got dtype {self.data.dtype}")

    def check_fits(self, codec: Any, model_id: str, path: str | Path, run: str | Path) -> None:
        """Raise :class:`CodesFileError` unless these codes can be decoded by ``codec`` (a
        :class:`~mir101.tasks.codec.engine.NeuralCodec` whose weights hash to ``model_id``)."""
        if self.sr != codec.sr:
            raise CodesFileError(
                f"{path}: codes of {self.sr} Hz audio, but the codec of {run} works at {codec.sr} Hz"
            )
        if self.model != model_id:
            raise CodesFileError(
                f"{path}: these codes were made by another model ({self.model}), not by the one of {run} "
                f"({model_id}): decode them with the run that encoded them"
            )
        if self.kind != codec.kind or self.hop != codec.hop:  # same weights: cannot differ, unless edited
            raise CodesFileError(
                f"{path}: {self.kind} at hop {self.hop} do not fit this codec ({codec.kind}, hop {codec.hop})"
            )
        rows = codec.n_quantizers if self.kind == "tokens" else codec.bottleneck.latent_dim
        if (
            self.kind == "tokens"
            and not 1 <= self.data.shape[0] <= rows
            or self.kind == "latents"
            and self.data.shape[0] != rows
        ):
            raise CodesFileError(f"{path}: {self.data.shape[0]} rows of {self.kind}, this codec has {rows}")
