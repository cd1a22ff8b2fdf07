"""Train / valid / test splits by work, clique or track — never by patch, so nothing leaks.

Book page: ``book/intro.md`` (datasets and splits).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from mir101.errors import ParameterError, StoreError

__all__ = ["split_groups", "save_split", "load_split", "SPLIT_NAMES"]

SPLIT_NAMES = ("train", "valid", "test")


def split_groups(
    groups: Mapping[str, object], valid: float = 0.15, test: float = 0.15, seed: int = 0
) -> dict[str, list[str]]:
    """Split item keys so that all items of one group land in the same split.

    Args:
        groups: item key -> group (work id, clique, track); items of a group stay together.
        valid, test: fractions of the *groups* given to validation and test.
        seed: the shuffle seed; the same seed gives the same split on any machine.

    Returns:
        ``{"train": [...], "valid": [...], "test": [...]}`` with keys in store order.

    A non-zero fraction always gets at least one group when there are 3 groups or more.

    Examples:
        >>> s = split_groups({"a": 1, "b": 1, "c": 2, "d": 3}, valid=0.3, test=0.3, seed=0)
        >>> sorted(len(v) for v in s.values())
        [1, 1, 2]
    """
    if not 0 <= valid < 1 or not 0 <= test < 1 or valid + test >= 1:
        raise ParameterError(f"valid={valid} and test={test} must be fractions whose sum is below 1")
    if not groups:
        raise StoreError("cannot split a store with no items")
    names = sorted({str(g) for g in groups.values()})
    rng = np.random.default_rng(seed)
    order = [names[i] for i in rng.permutation(len(names))]
    n = len(order)
    n_test = int(round(test * n))
    n_valid = int(round(valid * n))
    if n >= 3:
        n_test = max(n_test, 1 if test > 0 else 0)
        n_valid = max(n_valid, 1 if valid > 0 else 0)
    n_test = min(n_test, max(n - 1, 0))
    n_valid = min(n_valid, max(n - 1 - n_test, 0))
    which = {g: "test" for g in order[:n_test]}
    which.update({g: "valid" for g in order[n_test : n_test + n_valid]})
    out: dict[str, list[str]] = {k: [] for k in SPLIT_NAMES}
    for key, g in groups.items():
        out[which.get(str(g), "train")].append(key)
    return out


def save_split(split: Mapping[str, Sequence[str]], path: str | os.PathLike) -> None:
    """Write a split as JSON (what a run folder keeps as ``split.json``)."""
    from mir101.utils.io import atomic_path

    with atomic_path(path) as tmp:  # a kill mid-write leaves the previous file (or none)
        tmp.write_text(json.dumps({k: list(v) for k, v in split.items()}, indent=1), encoding="utf-8")


def load_split(path: str | os.PathLike) -> dict[str, list[str]]:
    """Read a split written by :func:`save_split`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise StoreError(f"cannot read split file {path}: {err}") from err
    missing = [k for k in SPLIT_NAMES if k not in data]
    if missing:
        raise StoreError(f"split file {path} lacks {missing}")
    return {k: list(data[k]) for k in SPLIT_NAMES}
