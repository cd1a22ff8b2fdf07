"""What a task's evaluation returns: named evaluation sets of metrics, plus extras.

Every task evaluates on several *sets* (the held-out ``test`` works; the same works rendered with
another SoundFont; an expert-annotated subset...), each scored with the same metrics. The runner
writes the result as ``metrics.json`` in the run folder; the CLI, the quickstart, the book and the
benchmarks read it through :class:`EvalResult`, never by looking for a metric name in a dict::

    {"task": "multipitch", "primary": "Accuracy", "higher_is_better": true,
     "sets": {"test": {"Accuracy": 0.918, "Precision": 0.971, ..., "items": 14},
              "other_soundfont": {...}},
     "extras": {"threshold": 0.5, "speed": {"audio_s_per_s": 86.0, "threads": 2}}}

Book page: ``book/intro.md`` (run folders).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mir101.errors import CheckpointError

__all__ = ["EvalResult"]


@dataclass
class EvalResult:
    """Named evaluation sets of metrics, plus extras.

    Args:
        task: the task's registry name (``multipitch``).
        primary: the headline metric, present in every set (``Accuracy``, ``macro_recall``, ``MAP``).
        sets: evaluation set -> metric name -> value. Numbers only (``items``, the number of
            evaluated items, is one of them by convention).
        extras: anything else worth keeping, JSON-serialisable (a threshold chosen on validation,
            a curve, the inference speed).
        higher_is_better: whether a larger ``primary`` is better (False for distances, errors).
        examples: what the report draws (arrays of a few items); kept in memory only, never
            written to ``metrics.json``: a result read back from a run folder has none.

    Examples:
        >>> r = EvalResult("toy", "accuracy", {"test": {"accuracy": 0.75, "items": 4}})
        >>> r.score()
        0.75
        >>> EvalResult.from_json(r.to_json()) == r
        True
    """

    task: str
    primary: str
    sets: dict[str, dict[str, float]]
    extras: dict[str, Any] = field(default_factory=dict)
    higher_is_better: bool = True
    examples: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        # extras as metrics.json holds them (float keys become strings...): what a task returns
        # equals what a run folder gives back
        try:
            self.extras = json.loads(json.dumps(self.extras, default=float))
        except (TypeError, ValueError) as err:
            raise ValueError(f"EvalResult.extras must be JSON-serialisable: {err}") from err
        for name, scores in self.sets.items():
            if self.primary not in scores:
                raise ValueError(
                    f"evaluation set '{name}' has no '{self.primary}' (the primary metric); "
                    f"it has {sorted(scores)}"
                )

    def score(self, set_name: str = "test") -> float:
        """The primary metric on one evaluation set."""
        if set_name not in self.sets:
            raise KeyError(f"no evaluation set '{set_name}'; the sets are {sorted(self.sets)}")
        return float(self.sets[set_name][self.primary])

    def to_json(self) -> dict[str, Any]:
        """A plain dict for ``metrics.json`` (``examples`` left out)."""
        return {
            "task": self.task,
            "primary": self.primary,
            "higher_is_better": self.higher_is_better,
            "sets": {k: dict(v) for k, v in self.sets.items()},
            "extras": dict(self.extras),
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "metrics.json") -> EvalResult:
        """Read back :meth:`to_json`; a file of another shape is a :class:`CheckpointError`."""
        if not isinstance(data, Mapping) or not isinstance(data.get("sets"), Mapping):
            raise CheckpointError(
                f"{where}: not a mir101 evaluation (expected a mapping with 'task', 'primary' and "
                "'sets'); run `mir101 evaluate RUN` to write it again"
            )
        try:
            sets = {
                str(name): {str(k): _number(v, f"{where}: sets.{name}.{k}") for k, v in scores.items()}
                for name, scores in data["sets"].items()
            }
            return cls(
                task=str(data.get("task", "")),
                primary=str(data["primary"]),
                sets=sets,
                extras=dict(data.get("extras") or {}),
                higher_is_better=bool(data.get("higher_is_better", True)),
            )
        except (KeyError, AttributeError, TypeError, ValueError) as err:
            raise CheckpointError(
                f"{where}: not a mir101 evaluation ({err}); run `mir101 evaluate RUN` to write it again"
            ) from err

    def save(self, path: str | Path) -> None:
        """Write ``metrics.json`` atomically (a kill mid-write leaves the previous file)."""
        from mir101.utils.io import atomic_path

        with atomic_path(Path(path)) as tmp:
            tmp.write_text(json.dumps(self.to_json(), indent=1, default=float))

    @classmethod
    def load(cls, path: str | Path) -> EvalResult:
        """Read a run's ``metrics.json``; a missing, truncated or foreign file is a CheckpointError."""
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"{path}: no evaluation yet (run `mir101 evaluate {path.parent}`)")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CheckpointError(
                f"{path}: not valid JSON ({err}); run `mir101 evaluate {path.parent}` to write it again"
            ) from err
        return cls.from_json(data, where=str(path))


def _number(value: Any, where: str) -> float:
    """A metric value as read back: ints stay ints (``items``), anything not a number is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where} = {value!r} is not a number")
    return value
