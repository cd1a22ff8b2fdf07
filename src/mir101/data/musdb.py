"""MUSDB18 as a separation store: the mixture and its four stems of every track, in the store format.

MUSDB18 (Rafii, Liutkus, Stöter, Mimilakis & Bittner, 2017, https://sigsep.github.io/datasets/musdb.html)
holds 150 tracks (100 ``train``, 50 ``test``), each a stereo mixture and its ``vocals``, ``drums``,
``bass`` and ``other`` stems. This converter reads the WAV layout (MUSDB18-HQ, or MUSDB18 decoded
with ``musdbconvert``)::

    ROOT/train/<track>/mixture.wav, vocals.wav, drums.wav, bass.wav, other.wav
    ROOT/test/<track>/...

and writes one store item per file: ``<subset>-<track>-mix`` (``role: mix``) and
``<subset>-<track>-<source>`` (``role: <source>``, ``mix_key``), annotated with ``work_id`` (the
track) and ``subset``. The separation task then reads it with ``task.sources: [vocals, drums,
bass, other]`` (``data.store=DIR/musdb``). The ``.stem.mp4`` files of MUSDB18 need ffmpeg to
decode: they are refused with a message saying how to convert them.

Book page: ``book/separation.md``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mir101.data.store import StoreWriter
from mir101.errors import AudioError, StoreError

__all__ = ["MUSDB_SOURCES", "musdb_to_store"]

#: the stems of MUSDB18, in its order
MUSDB_SOURCES = ("vocals", "drums", "bass", "other")

DEFINITION = {
    "role": {"type": "global", "description": "mix, or the source of a stem (vocals/drums/bass/other)"},
    "mix_key": {"type": "global", "description": "store key of the mixture a stem belongs to"},
    "work_id": {"type": "global", "description": "the track"},
    "subset": {"type": "global", "description": "MUSDB18's split: train or test"},
}


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.&'()-]+", "_", name).strip("_") or "track"


def musdb_to_store(
    root: str | os.PathLike,
    out: str | os.PathLike,
    subsets: Sequence[str] = ("train", "test"),
    sources: Sequence[str] = MUSDB_SOURCES,
    max_tracks: int | None = None,
) -> Path:
    """Convert a MUSDB18 WAV tree into a store at the prefix ``out``; returns the prefix.

    Raises:
        StoreError: ``root`` holds no track folder of the subsets (or only ``.stem.mp4`` files), a
            track lacks a stem, or a stem's sample rate / length differs from its mixture's.
    """
    import soundfile as sf

    root = Path(root)
    tracks = [(s, d) for s in subsets for d in sorted((root / s).glob("*")) if d.is_dir()]
    if max_tracks is not None:
        tracks = tracks[:max_tracks]
    if not tracks:
        mp4 = list(root.rglob("*.stem.mp4"))[:1]
        hint = (
            f" (found {mp4[0].name}: MUSDB18's stem files need ffmpeg; decode them to WAV with "
            "`musdbconvert ROOT WAVROOT` from the musdb package, or use MUSDB18-HQ)"
            if mp4
            else ""
        )
        raise StoreError(
            f"{root}: no track folders under {list(subsets)} (ROOT/train/<track>/mixture.wav){hint}"
        )
    out = Path(out)
    with StoreWriter(
        out, definition=DEFINITION, metadata={"corpus": "musdb18", "sources": list(sources)}
    ) as w:
        for subset, track in tracks:
            name = f"{subset}-{_safe(track.name)}"
            files = {"mix": track / "mixture.wav", **{s: track / f"{s}.wav" for s in sources}}
            missing = [p.name for p in files.values() if not p.is_file()]
            if missing:
                raise StoreError(
                    f"{track}: missing {missing} (a MUSDB18 track folder holds mixture.wav and {list(sources)})"
                )
            ref_sr = ref_len = None
            for role, path in files.items():
                try:
                    audio, sr = sf.read(str(path), dtype="float32", always_2d=True)
                except (RuntimeError, sf.LibsndfileError) as err:
                    raise AudioError(f"{path}: not a readable audio file ({err})") from err
                if ref_sr is None:
                    ref_sr, ref_len = sr, len(audio)
                elif sr != ref_sr or len(audio) != ref_len:
                    raise StoreError(
                        f"{path}: {sr} Hz, {len(audio)} samples; its mixture has {ref_sr} Hz, {ref_len} samples"
                    )
                ann = {
                    "role": [{"value": role}],
                    "work_id": [{"value": track.name}],
                    "subset": [{"value": subset}],
                }
                if role != "mix":
                    ann["mix_key"] = [{"value": f"{name}-mix"}]
                w.add(f"{name}-{role}", np.ascontiguousarray(audio.T), sr, ann)
    return out
