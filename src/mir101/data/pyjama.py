"""The ``.pyjama`` annotation format of the tutorial's datasets (one JSON file per dataset).

Layout (``schemaversion`` 1.31, as published with the tutorial; see
https://github.com/geoffroypeeters/pyjama)::

    {"schemaversion": 1.31,
     "collection": {
        "descriptiondefinition": {"tag": {...}, "pitchmidi": {...}, ...},
        "entry": [
           {"filepath": [{"value": "<hdf5 key>"}],
            "tag":       [{"value": "classical"}, {"value": "violin"}],          # global values
            "work_id":   [{"value": "bwv269"}],                                  # clique id
            "pitchmidi": [{"value": 67, "time": 0.5, "duration": 0.27}, ...],    # segments
            "chord":     [{"value": "C:maj", "time": 0.0, "duration": 1.0}, ...],
            "f0":        [{"value": [[...voice 1...], [...voice 2...]], "time": [...]}]}  # series
        ]}}

Every annotation is a list of items holding a ``value``. Its *kind* follows from the items:
``time`` + ``duration`` make a segment, a ``time`` list makes a series, otherwise it is a global
value. Series values are one list per voice (voices x frames), or one flat list (one voice).

Book page: ``book/intro.md`` (the dataset format).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "SCHEMA_VERSION",
    "EXCLUSIVE_SEGMENTS",
    "annotation_kind",
    "entry_key",
    "validate_collection",
    "value_problems",
    "series_unit",
    "is_numeric_annotation",
    "NUMERIC_ANNOTATIONS",
]

SCHEMA_VERSION = 1.31
#: segment annotations whose segments must not overlap each other (one label at a time)
EXCLUSIVE_SEGMENTS = frozenset({"chord"})
#: annotations whose values are numbers (as are those whose name holds 'midi', starts with 'f0',
#: or whose ``descriptiondefinition`` gives a ``unit``): a pitch "C4" is refused, not trained on
NUMERIC_ANNOTATIONS = frozenset({"pitchmidi", "pitch", "velocity", "f0", "f0multi", "tempo", "transposition"})
_RESERVED = frozenset({"filepath"})


def entry_key(entry: Mapping[str, Any]) -> str:
    """The HDF5 key of an entry: ``entry['filepath'][0]['value']``."""
    return str(entry["filepath"][0]["value"])


def annotation_kind(items: list[Any]) -> str:
    """``'segment'``, ``'series'`` or ``'global'`` from the shape of an annotation's items."""
    for item in items:
        if isinstance(item, Mapping):
            if "duration" in item and "time" in item:
                return "segment"
            if isinstance(item.get("time"), list):
                return "series"
    return "global"


def series_unit(name: str, definition: Mapping[str, Any] | None = None) -> str:
    """Unit of a series annotation: the definition's ``unit`` if given, else ``'midi'`` for
    ``f0multi`` / names holding 'midi' (the tutorial's Bach10 store), else ``'hz'``."""
    if definition and isinstance(definition.get(name), Mapping) and "unit" in definition[name]:
        return str(definition[name]["unit"]).lower()
    return "midi" if (name == "f0multi" or "midi" in name) else "hz"


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def is_numeric_annotation(name: str, definition: Mapping[str, Any] | None = None) -> bool:
    """Whether annotation ``name`` holds numbers: a known numeric name, a name holding 'midi' or
    starting with 'f0', or one whose definition gives a ``unit``."""
    if name in NUMERIC_ANNOTATIONS or "midi" in name or name.startswith("f0"):
        return True
    d = definition.get(name) if isinstance(definition, Mapping) else None
    return isinstance(d, Mapping) and "unit" in d


def _value_problem(value: Any, numeric: bool) -> str | None:
    """Why a global or segment ``value`` is unusable (``None``: it is fine)."""
    if numeric:
        if not _is_number(value):
            return f"value {value!r} must be a finite number"
        return None
    if isinstance(value, bool) or _is_number(value) or isinstance(value, str):
        return None
    if isinstance(value, float):
        return f"value {value!r} must be a finite number or a string"
    return f"value {value!r} must be a string or a number, got {type(value).__name__}"


def _check_segments(
    name: str, items: list[Any], where: str, problems: list[str], numeric: bool, values: list[str]
) -> None:
    spans = []
    for j, item in enumerate(items):
        at = f"{where}, key '{name}'[{j}]"
        if not isinstance(item, Mapping) or "value" not in item:
            problems.append(f"{at}: a segment must be an object with 'value', 'time', 'duration'")
            continue
        bad = _value_problem(item["value"], numeric)
        if bad:
            values.append(f"{at}: {bad}")
        t, d = item.get("time"), item.get("duration")
        if not _is_number(t) or not _is_number(d):
            problems.append(f"{at}: 'time' and 'duration' must be finite numbers, got {t!r} and {d!r}")
            continue
        if t < 0:
            problems.append(f"{at}: negative time {t}")
        if d <= 0:
            problems.append(f"{at}: duration must be positive, got {d}")
        spans.append((t, t + d, j))
    if name in EXCLUSIVE_SEGMENTS:
        spans.sort()
        for (t0, e0, j0), (t1, _e1, j1) in zip(spans, spans[1:]):
            if t1 < e0 - 1e-6:
                problems.append(
                    f"{where}, key '{name}': segments [{j0}] ({t0:.3f}-{e0:.3f} s) and [{j1}] "
                    f"(starting {t1:.3f} s) overlap; '{name}' segments must not overlap"
                )


def _check_series(name: str, items: list[Any], where: str, problems: list[str]) -> None:
    for j, item in enumerate(items):
        at = f"{where}, key '{name}'[{j}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("time"), list) or "value" not in item:
            problems.append(f"{at}: a series must be an object with a 'time' list and a 'value' list")
            continue
        times, values = item["time"], item["value"]
        if not all(_is_number(t) for t in times):
            problems.append(f"{at}: 'time' must hold finite numbers only")
            continue
        if any(b <= a for a, b in zip(times, times[1:])):
            k = next(i for i, (a, b) in enumerate(zip(times, times[1:])) if b <= a)
            problems.append(
                f"{at}: times are not increasing (time[{k}]={times[k]} >= time[{k + 1}]={times[k + 1]})"
            )
        if not isinstance(values, list):
            problems.append(
                f"{at}: 'value' must be a list (one per frame) or a list of lists (voices x frames)"
            )
            continue
        voices = values if values and all(isinstance(v, list) for v in values) else [values]
        for v, voice in enumerate(voices):
            if len(voice) != len(times):
                problems.append(f"{at}: voice {v} has {len(voice)} values for {len(times)} times")
            elif not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in voice):
                problems.append(f"{at}: voice {v} holds non-numeric values")


def validate_collection(data: Any, source: str, values: bool = True) -> list[str]:
    """All problems of a parsed ``.pyjama`` document, each naming ``source``, the entry and key.

    ``values=False``: the structure only, not the type of each value (:func:`value_problems`).
    """
    structure, wrong = _collect(data, source)
    return structure + wrong if values else structure


def value_problems(data: Any, source: str) -> list[str]:
    """Values of the wrong type (a pitch ``"C4"``, a tag ``null``) in a parsed ``.pyjama`` document."""
    return _collect(data, source)[1]


def _collect(data: Any, source: str) -> tuple[list[str], list[str]]:
    """``(structure problems, value problems)`` of a parsed document."""
    wrong: list[str] = []
    problems: list[str] = []
    if not isinstance(data, Mapping):
        return [f"{source}: the top level must be a JSON object, got {type(data).__name__}"], wrong
    if "schemaversion" not in data:
        problems.append(f"{source}: missing key 'schemaversion'")
    coll = data.get("collection")
    if not isinstance(coll, Mapping):
        return problems + [f"{source}: missing or invalid key 'collection' (an object with 'entry')"], wrong
    definition = coll.get("descriptiondefinition", {})
    if not isinstance(definition, Mapping):
        problems.append(f"{source}: 'collection.descriptiondefinition' must be an object")
        definition = {}
    entries = coll.get("entry")
    if not isinstance(entries, list):
        return problems + [f"{source}: missing or invalid key 'collection.entry' (a list of entries)"], wrong
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        where = f"{source}: entry {i}"
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: an entry must be a JSON object")
            continue
        fp = entry.get("filepath")
        if not (
            isinstance(fp, list) and fp and isinstance(fp[0], Mapping) and isinstance(fp[0].get("value"), str)
        ):
            problems.append(f"{where}: missing key 'filepath' (a list [{{'value': '<hdf5 key>'}}])")
        else:
            key = fp[0]["value"]
            if key in seen:
                problems.append(f"{where}: filepath '{key}' already used by entry {seen[key]}")
            seen[key] = i
            where = f"{where} ('{key}')"
        for name, items in entry.items():
            if name in _RESERVED:
                continue
            if not isinstance(items, list):
                problems.append(f"{where}, key '{name}': an annotation must be a list of items")
                continue
            kind = annotation_kind(items)
            numeric = is_numeric_annotation(name, definition)
            if kind == "segment":
                _check_segments(name, items, where, problems, numeric, wrong)
            elif kind == "series":
                _check_series(name, items, where, problems)
            else:
                for j, item in enumerate(items):
                    if not isinstance(item, Mapping) or "value" not in item:
                        problems.append(
                            f"{where}, key '{name}'[{j}]: an item must be an object with a 'value'"
                        )
                        continue
                    bad = _value_problem(item["value"], numeric)
                    if bad:
                        wrong.append(f"{where}, key '{name}'[{j}]: {bad}")
    return problems, wrong
