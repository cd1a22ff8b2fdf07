"""The data store: one ``.hdf5`` (audio) + one ``.pyjama`` (annotations), the tutorial's format.

Each HDF5 dataset is one audio item (a float waveform with attribute ``sr_hz``); each pyjama
entry's ``filepath[0].value`` is its HDF5 key. A store is named by its path without extension:
``Store("data/bach10")`` opens ``data/bach10.hdf5`` and ``data/bach10.pyjama``. The tutorial's
files, where the audio is named ``<name>_audio.hdf5``, open unchanged.

Book page: ``book/intro.md``.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from mir101.data.audio import FAR_OUT_OF_RANGE, AudioLimits, audio_limits
from mir101.data.pyjama import (
    SCHEMA_VERSION,
    annotation_kind,
    entry_key,
    series_unit,
    validate_collection,
    value_problems,
)
from mir101.errors import AnnotationError, StoreError, StoreValidationError
from mir101.utils.io import LazyHDF5, atomic_path

__all__ = [
    "Store",
    "StoreWriter",
    "store_paths",
    "Segments",
    "Series",
    "available_memory",
]

log = logging.getLogger(__name__)


def store_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """``(hdf5, pyjama)`` paths of a store given by its prefix or by either file.

    ``DIR/name`` -> ``DIR/name.hdf5`` (or the tutorial's ``DIR/name_audio.hdf5``) and ``DIR/name.pyjama``.
    """
    path = Path(path)
    if path.is_dir():  # a folder holding one store (what `mir101 data ... --out DIR` writes)
        found = sorted(path.glob("*.pyjama"))
        if len(found) == 1:
            path = found[0].with_suffix("")
        elif found:
            raise StoreError(
                f"{path} holds {len(found)} stores ({', '.join(p.stem for p in found)}): name one, "
                f"e.g. {found[0].with_suffix('')}"
            )
        else:
            raise StoreError(f"{path} is a folder without a store (no .pyjama file in it)")
    given_hdf5 = path if path.suffix in (".hdf5", ".h5") else None
    stem = path.with_suffix("") if path.suffix in (".hdf5", ".h5", ".pyjama") else path
    if given_hdf5 is not None and stem.name.endswith("_audio"):
        stem = stem.with_name(stem.name[: -len("_audio")])
    pyjama = stem.with_name(stem.name + ".pyjama")
    candidates = [stem.with_name(stem.name + ext) for ext in (".hdf5", "_audio.hdf5", ".h5")]
    if given_hdf5 is not None:
        candidates.insert(0, given_hdf5)
    hdf5 = next((c for c in candidates if c.exists()), candidates[0])
    return hdf5, pyjama


@dataclass(frozen=True)
class Segments:
    """Segment annotations of one item: ``time``, ``duration`` (seconds) and ``value`` arrays."""

    time: np.ndarray
    duration: np.ndarray
    value: np.ndarray
    extra: tuple[dict[str, Any], ...] = ()

    def __len__(self) -> int:
        return len(self.time)


@dataclass(frozen=True)
class Series:
    """A time series of one item: ``time`` (frames,) and ``value`` (voices, frames); ``unit``."""

    time: np.ndarray
    value: np.ndarray
    unit: str


class Store(LazyHDF5):
    """Read access to a data store.

    Args:
        path: the store's prefix (``DIR/name``) or the path of its ``.hdf5`` or ``.pyjama``.
        validate: on open, run every check of :meth:`validate` that reads no audio: the pyjama
            structure and value types, pyjama/HDF5 keys, each item's dtype, shape, ``sr_hz``,
            declared duration (:func:`~mir101.data.audio.audio_limits`) and declared size
            against the available memory. :meth:`validate` also reads every sample (NaN, inf,
            samples far outside [-1, 1]).

    Raises:
        StoreError: a file is missing or unreadable; StoreValidationError: the store has problems
            (the first one, in one line saying how many more: ``mir101 data validate`` lists all).

    Examples:
        >>> store = Store("tests/data/tiny")          # doctest: +SKIP
        >>> audio, sr = store.audio(store.keys[0])    # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, validate: bool = True):
        self.hdf5_path, self.pyjama_path = store_paths(path)
        for p in (self.hdf5_path, self.pyjama_path):
            if not p.is_file():
                raise StoreError(f"store file not found: {p}")
        try:
            with self.pyjama_path.open(encoding="utf-8") as fid:
                self.document = json.load(fid)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise StoreError(f"{self.pyjama_path}: not valid JSON ({err})") from err
        except RecursionError as err:
            raise StoreError(f"{self.pyjama_path}: not a pyjama document (JSON nested too deeply)") from err
        # without validation, open whatever has the layout (validate() lists the problems); a
        # document without a 'collection.entry' list cannot be read at all
        if validate or not _has_entry_list(self.document):
            problems = validate_collection(self.document, str(self.pyjama_path), values=False)
            if problems:
                raise StoreValidationError(problems)
        self.entries: list[dict[str, Any]] = list(self.document["collection"]["entry"])
        definition = self.document["collection"].get("descriptiondefinition", {})
        self.definition: dict[str, Any] = dict(definition) if isinstance(definition, Mapping) else {}
        # entries without a usable filepath are skipped here (validate() reports them)
        self._index: dict[str, int] = {}
        for i, e in enumerate(self.entries):
            try:
                self._index.setdefault(entry_key(e), i)
            except (KeyError, IndexError, TypeError, AttributeError):
                continue
        self.keys: list[str] = list(self._index)
        self._h5: h5py.File | None = None
        if validate:
            # what `mir101 data validate` checks without reading audio, on every open: a command
            # never trains on (or reads) what validate would reject
            problems = value_problems(self.document, str(self.pyjama_path))
            problems += self._content_problems(read_audio=False, fail_on_open=True)
            self.close()
            if problems:
                raise StoreValidationError(_first_problem(problems, self.pyjama_path))

    # ------------------------------------------------------------------ hdf5 access
    def _h5_path(self) -> Path:
        return self.hdf5_path

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys)

    def __repr__(self) -> str:
        return f"Store('{self.pyjama_path.with_suffix('')}', items={len(self)})"

    def _dataset(self, key: str) -> h5py.Dataset:
        if key not in self._index:
            raise StoreError(f"{self.pyjama_path}: no entry with filepath '{key}'")
        if key not in self.h5:
            raise StoreError(f"{self.hdf5_path}: no audio for key '{key}' (it has an annotation entry)")
        return self.h5[key]

    def sr(self, key: str) -> int:
        """Sample rate (Hz) of an item, from its ``sr_hz`` attribute."""
        ds = self._dataset(key)
        if "sr_hz" not in ds.attrs:
            raise StoreError(f"{self.hdf5_path}: item '{key}' has no 'sr_hz' attribute")
        return int(ds.attrs["sr_hz"])

    def duration(self, key: str) -> float:
        """Duration in seconds of an item."""
        return self._dataset(key).shape[-1] / self.sr(key)

    def audio(self, key: str, start: int | None = None, stop: int | None = None) -> tuple[np.ndarray, int]:
        """``(waveform (samples,) float32, sr)`` of an item, optionally samples ``[start, stop)``.

        A multichannel item (channels, samples) is mixed down to mono.
        """
        ds = self._dataset(key)
        sl = slice(start, stop)
        x = ds[..., sl] if ds.ndim > 1 else ds[sl]
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == 2:
            x = x.mean(axis=0)
        return x, self.sr(key)

    # ------------------------------------------------------------------ annotations
    def entry(self, key: str) -> dict[str, Any]:
        """The pyjama entry of an item."""
        if key not in self._index:
            raise StoreError(f"{self.pyjama_path}: no entry with filepath '{key}'")
        return self.entries[self._index[key]]

    def values(self, key: str, name: str) -> list[Any]:
        """Global values of annotation ``name`` (e.g. tags); ``[]`` if the item has none."""
        return [item["value"] for item in self.entry(key).get(name, [])]

    def value(self, key: str, name: str, default: Any = None) -> Any:
        """The first global value of ``name`` (e.g. ``work_id``), or ``default``."""
        vals = self.values(key, name)
        return vals[0] if vals else default

    def segments(self, key: str, name: str) -> Segments:
        """Segment annotation ``name`` of an item, sorted by time."""
        items = sorted(self.entry(key).get(name, []), key=lambda it: (it["time"], str(it["value"])))
        extra = tuple({k: v for k, v in it.items() if k not in ("time", "duration", "value")} for it in items)
        return Segments(
            time=np.array([it["time"] for it in items], dtype=float),
            duration=np.array([it["duration"] for it in items], dtype=float),
            value=np.array(
                [it["value"] for it in items],
                dtype=object if items and isinstance(items[0]["value"], str) else float,
            ),
            extra=extra,
        )

    def series(self, key: str, name: str) -> Series:
        """Series annotation ``name`` as ``Series(time (frames,), value (voices, frames), unit)``."""
        items = self.entry(key).get(name, [])
        if not items:
            raise StoreError(f"{self.pyjama_path}: item '{key}' has no '{name}' annotation")
        item = items[0]
        values = item["value"]
        voices = values if values and all(isinstance(v, list) for v in values) else [values]
        return Series(
            time=np.asarray(item["time"], dtype=float),
            value=np.asarray(voices, dtype=float),
            unit=series_unit(name, self.definition),
        )

    def annotation_kinds(self) -> dict[str, str]:
        """Every annotation name present in the store -> its kind (global/segment/series)."""
        kinds: dict[str, str] = {}
        for e in self.entries:
            for name, items in e.items():
                if name != "filepath" and name not in kinds and items:
                    kinds[name] = annotation_kind(items)
        return kinds

    def label_set(self, name: str) -> list[str]:
        """Sorted distinct values of a global or segment annotation over the whole store."""
        out: set[str] = set()
        for e in self.entries:
            out.update(str(it["value"]) for it in e.get(name, []) if "value" in it)
        return sorted(out)

    # ------------------------------------------------------------------ summaries
    def info(self) -> dict[str, Any]:
        """Items, total duration, sample rates and annotation counts (what ``mir101 data info`` prints)."""
        srs: Counter[int] = Counter()
        total = 0.0
        for k in self.keys:
            if k in self.h5:
                sr = int(self.h5[k].attrs.get("sr_hz", 0)) or 0
                srs[sr] += 1
                if sr:
                    total += self.h5[k].shape[-1] / sr
        counts: dict[str, dict[str, Any]] = {}
        for name, kind in self.annotation_kinds().items():
            n_items = sum(1 for e in self.entries if e.get(name))
            n_ann = sum(len(e.get(name, [])) for e in self.entries)
            counts[name] = {"kind": kind, "items": n_items, "annotations": n_ann}
        return {
            "store": str(self.pyjama_path.with_suffix("")),
            "items": len(self.keys),
            "duration_s": round(total, 2),
            "sample_rates": dict(srs),
            "schemaversion": self.document.get("schemaversion"),
            "annotations": counts,
            "metadata": self.document.get("mir101", {}),
        }

    def validate(self) -> list[str]:
        """Every problem of the store: pyjama structure and values, pyjama/HDF5 mismatches, bad
        audio (every sample is read)."""
        problems = validate_collection(self.document, str(self.pyjama_path))
        return problems + self._content_problems(read_audio=True)

    def _content_problems(self, read_audio: bool, fail_on_open: bool = False) -> list[str]:
        """Problems of the HDF5 items and of annotations that depend on them; ``read_audio``:
        also scan every sample. ``fail_on_open``: an HDF5 that cannot be opened raises."""
        try:
            h5keys = set(self.h5.keys())
        except StoreError as err:
            if fail_on_open:
                raise
            return [str(err)]
        problems = []
        src = str(self.hdf5_path)
        present = {}
        for key, i in self._index.items():
            if key in h5keys or (("/" in key) and key in self.h5):
                present[key] = i
            else:
                problems.append(f"{self.pyjama_path}: entry {i} ('{key}'): no audio with this key in {src}")
        tops = {k.split("/", 1)[0] for k in self._index}
        for key in sorted(h5keys - set(self.keys) - tops):
            problems.append(f"{src}: item '{key}' has no annotation entry in {self.pyjama_path}")
        limits = audio_limits()
        memory = available_memory()
        for key, i in present.items():
            where = f"{src}: item '{key}' (entry {i})"
            ds = self.h5[key]
            if not isinstance(ds, h5py.Dataset):
                problems.append(f"{where}: a group of datasets, not an audio dataset")
                continue
            bad_audio = _audio_problems(ds, where, read_audio, limits, memory)
            problems.extend(bad_audio)
            sr = ds.attrs.get("sr_hz")
            if not bad_audio and ds.shape[-1]:
                dur = ds.shape[-1] / float(sr)
                for name, items in self.entries[i].items():
                    if (
                        name == "filepath"
                        or not isinstance(items, list)
                        or annotation_kind(items) != "segment"
                    ):
                        continue
                    late = [
                        j
                        for j, it in enumerate(items)
                        if isinstance(it, Mapping)
                        and isinstance(it.get("time"), (int, float))
                        and it["time"] > dur + 1e-3
                    ]
                    if late:
                        problems.append(
                            f"{self.pyjama_path}: entry {i} ('{key}'), key '{name}'[{late[0]}]: starts at "
                            f"{items[late[0]]['time']:.3f} s, after the end of the audio ({dur:.3f} s)"
                        )
        problems.extend(self._chord_label_problems())
        return problems

    def _chord_label_problems(self) -> list[str]:
        """Chord segments (``chord``, ``chord_*``) whose label mir_eval cannot parse, one problem per
        annotation (the first bad label named)."""
        from mir101.data.targets import chord_class  # targets import this module

        known: dict[str, str | None] = {}  # label -> why it is bad (None: fine)
        problems = []
        for i, entry in enumerate(self.entries):
            if not isinstance(entry, Mapping):
                continue
            for name, items in entry.items():
                if not (name == "chord" or name.startswith("chord_")) or not isinstance(items, list):
                    continue
                for j, item in enumerate(items):
                    if not isinstance(item, Mapping) or not isinstance(item.get("value"), str):
                        continue
                    label = item["value"]
                    if label not in known:
                        try:
                            chord_class(label)
                            known[label] = None
                        except AnnotationError as err:
                            known[label] = str(err)
                    if known[label] is not None:
                        problems.append(
                            f"{self.pyjama_path}: entry {i} ('{_key_or_index(entry, i)}'), key "
                            f"'{name}'[{j}]: {known[label]} (expected Harte syntax, e.g. C:maj, A:min7, N)"
                        )
                        break
        return problems


def _has_entry_list(document: Any) -> bool:
    coll = document.get("collection") if isinstance(document, Mapping) else None
    return isinstance(coll, Mapping) and isinstance(coll.get("entry"), list)


def _key_or_index(entry: Mapping[str, Any], i: int) -> str:
    try:
        return entry_key(entry)
    except (KeyError, IndexError, TypeError):
        return f"#{i}"


#: the most channels an item may have: a (samples, channels) array stored the wrong way round
#: is refused instead of read as thousands of channels of a few samples
MAX_CHANNELS = 64


def _first_problem(problems: list[str], pyjama: Path) -> list[str]:
    """What opening a store reports: its first problem, in one line saying how many more there are
    (``mir101 data validate`` lists them all)."""
    if len(problems) <= 1:
        return problems
    prefix = pyjama.with_suffix("")
    return [
        f"{problems[0]} (and {len(problems) - 1} more problem(s): `mir101 data validate {prefix}` lists them all)"
    ]


def _size(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``None`` if the system does not say)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # psutil is optional
        pass
    try:
        with open("/proc/meminfo", encoding="ascii") as fid:
            for line in fid:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _positive_number(x: Any) -> bool:
    try:
        return bool(np.isscalar(x) and not isinstance(x, (str, bytes)) and np.isfinite(x) and float(x) > 0)
    except (TypeError, ValueError):
        return False


def _audio_problems(
    ds: h5py.Dataset,
    where: str,
    read_audio: bool = True,
    limits: AudioLimits | None = None,
    memory: int | None = None,
) -> list[str]:
    """Problems of one audio item: its dtype, shape, ``sr_hz`` and declared duration and size
    (from the HDF5 header, nothing read), then, with ``read_audio``, every sample."""
    limits = limits or audio_limits()
    problems = []
    sr = ds.attrs.get("sr_hz")
    if sr is None:
        problems.append(f"{where}: missing attribute 'sr_hz'")
        sr = None
    elif not _positive_number(sr):
        shown = sr.item() if isinstance(sr, np.generic) else sr
        shown = shown.tolist() if isinstance(shown, np.ndarray) else shown
        problems.append(f"{where}: attribute 'sr_hz' must be a positive number, got {shown!r}")
        sr = None
    elif limits.sr_problem(float(sr)):
        problems.append(f"{where}: attribute 'sr_hz': {limits.sr_problem(float(sr))}")
        sr = None
    if not np.issubdtype(ds.dtype, np.floating):
        problems.append(
            f"{where}: audio must be float, got dtype {ds.dtype} (store float32 waveforms in [-1, 1]; "
            "integer PCM divided by its full scale)"
        )
        return problems
    if ds.ndim not in (1, 2):
        problems.append(f"{where}: audio must be (samples,) or (channels, samples), got shape {ds.shape}")
        return problems
    if ds.ndim == 2 and (ds.shape[0] > MAX_CHANNELS or (ds.shape[0] > ds.shape[1] and ds.shape[1] > 0)):
        problems.append(
            f"{where}: audio must be (samples,) or (channels, samples), got shape {ds.shape}: "
            f"{ds.shape[0]} channels of {ds.shape[1]} samples? (a (samples, channels) array must be transposed)"
        )
        return problems
    if ds.shape[-1] == 0:
        problems.append(f"{where}: audio is empty")
        return problems
    if sr is not None:
        long = limits.duration_problem(int(ds.shape[-1]), float(sr))
        if long:
            problems.append(f"{where}: declares {long}")
            return problems
    need = int(ds.size) * (4 + ds.dtype.itemsize)  # the stored samples and their float32 copy
    if memory is not None and need > memory:
        problems.append(
            f"{where}: declares {ds.shape[-1]} samples ({_size(need)} to read), more than the "
            f"available memory ({_size(memory)})"
        )
        return problems
    if not read_audio:
        return problems
    step = 1 << 20
    peak = 0.0
    for s in range(0, ds.shape[-1], step):
        block = ds[..., s : s + step]
        if not np.all(np.isfinite(block)):
            bad = int(np.argmax(~np.isfinite(block.reshape(-1)))) % block.shape[-1] + s
            problems.append(f"{where}: audio holds NaN or inf (first at sample {bad})")
            return problems
        peak = max(peak, float(np.max(np.abs(block))))
    if peak > FAR_OUT_OF_RANGE:
        problems.append(
            f"{where}: samples reach {peak:.3g}, far outside [-1, 1] (audio must be float in [-1, 1]; "
            "unscaled integers?)"
        )
    return problems


class StoreWriter:
    """Write a store atomically: both files appear only when the writer closes without error.

    Args:
        path: the store's prefix (``DIR/name``).
        definition: the pyjama ``descriptiondefinition`` (what each annotation means).
        metadata: free JSON recorded under the document's ``mir101`` key (build parameters...).
        compression: HDF5 compression of audio datasets (``None`` for none).

    Examples:
        >>> with StoreWriter("out/tiny") as w:                                   # doctest: +SKIP
        ...     w.add("a.wav", audio, 22050, {"tag": [{"value": "piano"}]})
    """

    def __init__(
        self,
        path: str | os.PathLike,
        definition: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        compression: str | None = None,
    ):
        self.hdf5_path, self.pyjama_path = store_paths(Path(str(path)))
        self.definition = dict(definition or {})
        self.metadata = dict(metadata or {})
        self.compression = compression
        self.entries: list[dict[str, Any]] = []
        self._hdf5_cm = atomic_path(self.hdf5_path)
        self._tmp = self._hdf5_cm.__enter__()
        self._h5 = h5py.File(self._tmp, "w")

    def add(self, key: str, audio: np.ndarray, sr: int, annotations: Mapping[str, Any] | None = None) -> None:
        """Add one item: its waveform (samples,) or (channels, samples), sample rate and annotations."""
        if key in self._h5:
            raise StoreError(f"{self.hdf5_path}: key '{key}' added twice")
        audio = np.asarray(audio, dtype=np.float32)
        ds = self._h5.create_dataset(key, data=audio, compression=self.compression)
        ds.attrs["sr_hz"] = int(sr)
        entry: dict[str, Any] = {"filepath": [{"value": key}]}
        entry.update(annotations or {})
        self.entries.append(entry)

    def add_entries(self, items: Iterable[tuple[str, np.ndarray, int, Mapping[str, Any]]]) -> None:
        for key, audio, sr, ann in items:
            self.add(key, audio, sr, ann)

    def close(self, ok: bool = True) -> None:
        self._h5.close()
        if not ok:
            self._hdf5_cm.__exit__(RuntimeError, RuntimeError("aborted"), None)
            return
        document = {
            "schemaversion": SCHEMA_VERSION,
            "collection": {"descriptiondefinition": self.definition, "entry": self.entries},
            "mir101": self.metadata,
        }
        # The HDF5 file is moved into place first and the pyjama last: a store whose pyjama
        # exists is complete, whatever moment a kill happened at.
        if self.pyjama_path.exists():
            self.pyjama_path.unlink()
        self._hdf5_cm.__exit__(None, None, None)
        with atomic_path(self.pyjama_path) as tmp:
            # compact JSON: the indented encoder is Python's slow path on large corpora
            tmp.write_text(json.dumps(document, separators=(",", ":")), encoding="utf-8")
        log.info("wrote store %s (%d items)", self.pyjama_path.with_suffix(""), len(self.entries))

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.close(ok=exc_type is None)
