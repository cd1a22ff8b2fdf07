"""What the tagging and chord tasks share: the pooling a config chooses, the evaluation sets, the speed.

Book page: ``book/tagging.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from mir101.data.store import Store
from mir101.errors import ConfigError
from mir101.tasks.base import Task

__all__ = ["POOLINGS", "with_pooling", "held_out_sets", "inference_speed"]

#: ``task.pooling`` -> the model layer that pools over time
POOLINGS = {
    "mean": "globalmeanpool",
    "max": "globalmaxpool",
    "attention": "attentionpool",
    "autopool": "autopool",
}
#: every layer name that pools over time (aliases included), i.e. what ``task.pooling`` replaces
_POOL_LAYERS = {"globalmeanpool", "mean", "globalmaxpool", "max", "attentionpool", "autopool"}


def with_pooling(layers: list[Any], pooling: str) -> list[Any]:
    """A copy of a layer list whose last pooling-over-time layer is ``POOLINGS[pooling]``.

    The new layer keeps the old one's ``dim`` and ``keepdim``; the attention pool infers its
    channels from its input.

    Examples:
        >>> with_pooling(["relu", {"autopool": {"dim": -1}}, "flatten"], "max")
        ['relu', {'globalmaxpool': {'dim': -1}}, 'flatten']
    """
    if pooling not in POOLINGS:
        raise ConfigError(f"task.pooling={pooling!r} must be one of {sorted(POOLINGS)} (or null)")
    out = list(layers)
    for i in range(len(out) - 1, -1, -1):
        item = out[i]
        name = item if isinstance(item, str) else next(iter(item), None) if isinstance(item, dict) else None
        if name in _POOL_LAYERS:
            old = (item.get(name) or {}) if isinstance(item, dict) else {}
            kept = {k: v for k, v in dict(old).items() if k in ("dim", "keepdim")}
            out[i] = {POOLINGS[pooling]: kept}
            return out
    raise ConfigError(
        f"task.pooling={pooling!r}: the model has no pooling-over-time layer to replace (one of "
        f"{sorted(_POOL_LAYERS)}); add one to its layers or remove task.pooling"
    )


def held_out_sets(task: Task, split: dict[str, list[str]]) -> dict[str, tuple[Store, list[str]]]:
    """The evaluation sets: ``test`` (the split's test items), and each ``data.test_stores`` store
    restricted to the test split's groups (the held-out works rendered again), or all its items
    when none of them belongs to a test group (a foreign store)."""
    sets: dict[str, tuple[Store, list[str]]] = {"test": (task.store, split["test"])}
    test_groups = set(task.groups(task.store, split["test"]).values())
    for name, (store, keys) in task.test_stores().items():
        groups = task.groups(store, keys)
        held = [k for k in keys if groups[k] in test_groups]
        sets[name] = (store, held or keys)
    return sets


def inference_speed(
    run: Callable[[np.ndarray], Any], store: Store, keys: list[str], sr: float
) -> dict[str, float]:
    """End-to-end speed of ``run(audio)`` (input features + network + decoding) on some items of a
    store, in seconds of audio per second; items are resampled to ``sr`` first (not timed)."""
    if not keys:
        return {}
    total_audio = total_time = 0.0
    for key in keys:
        audio, item_sr = store.audio(key)
        if item_sr != sr:
            from mir101.inputs.resample import resample

            audio = resample(torch.from_numpy(np.asarray(audio, np.float32)), item_sr, int(sr)).numpy()
        t0 = time.perf_counter()
        run(audio)
        total_time += time.perf_counter() - t0
        total_audio += len(audio) / sr
    return {"audio_s_per_s": round(total_audio / total_time, 1), "threads": torch.get_num_threads()}
