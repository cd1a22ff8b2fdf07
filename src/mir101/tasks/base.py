"""The Task contract: what every task shares, and the five things each one must say.

A task is a module that plugs into one runner (:mod:`mir101.tasks.runner`), one CLI and one
book. The base class holds what every task shares: the store(s), the split by work, the input
and its feature cache, the model built from the config. A subclass says what makes it a task:

- :meth:`Task.datamodule` -- its batches (targets from the annotations);
- :meth:`Task.system` -- its paradigm (a :class:`~mir101.paradigms.System`: loss, optimizers);
- :meth:`Task.evaluate` -- its evaluation with the field's metrics, an :class:`EvalResult`;
- :meth:`Task.report_sections` -- what its ``report.md`` shows beyond the metrics table;
- :meth:`Task.predict` -- what it writes for a user's audio file.

Everything else (training, checkpoints, run folders, ``metrics.json``, the report's tables and
training curves, the one-line summary the CLI prints) is the same for every task. A task passes
the contract test (``tests/tasks/test_contract.py``): tiny train -> evaluate -> report -> predict
-> reload from the run folder -> same metrics.

Book page: ``book/intro.md``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from torch import nn

from mir101.config import to_container
from mir101.data.splits import split_groups
from mir101.data.store import Store
from mir101.errors import ConfigError, StoreError
from mir101.tasks.result import EvalResult
from mir101.utils.registry import Registry

__all__ = ["Task", "TASKS", "EvalResult", "open_store", "select_keys", "device_of"]

log = logging.getLogger(__name__)

#: task name -> Task subclass
TASKS: Registry[type[Task]] = Registry("task")


def open_store(node: Mapping[str, Any], where: str = "data") -> Store:
    """Open ``node.store`` or build / reuse the embedded corpus ``node.corpus`` (with ``corpus_args``)."""
    store, corpus = node.get("store"), node.get("corpus")
    if not store and not corpus:
        raise ConfigError(f"{where}: give 'store' (a path) or 'corpus' (an embedded one, e.g. chorales)")
    if store:  # a user's store replaces the config's embedded corpus: data.store=PATH is enough
        if corpus:
            log.info("%s.store=%s given: the embedded corpus '%s' is not used", where, store, corpus)
        return Store(store)
    from mir101.data.corpora import get_corpus_store

    return Store(get_corpus_store(str(corpus), **dict(to_container(node.get("corpus_args")) or {})))


def select_keys(store: Store, where: Mapping[str, Any] | None, max_items: int | None = None) -> list[str]:
    """Keys whose first global value of each ``where`` name equals the given value."""
    where = dict(where or {})
    keys = [k for k in store.keys if all(str(store.value(k, n)) == str(v) for n, v in where.items())]
    if not keys:
        raise StoreError(
            f"{store.pyjama_path}: no entry matches data.where={where} ({len(store)} entries in all); "
            "data.where={} keeps every entry"
        )
    return keys[:max_items] if max_items else keys


class Task(ABC):
    """Base class of the tasks. Subclasses set ``name``, ``Options`` and the abstract methods.

    Args:
        cfg: the resolved experiment config (see :mod:`mir101.config`).
    """

    name: ClassVar[str] = ""
    #: the report's title
    title: ClassVar[str] = ""
    #: a dataclass of the task's own options (the config's ``task`` section minus ``name``)
    Options: ClassVar[type] = object
    #: lightning metric to monitor for early stopping / best checkpoint, and its mode
    monitor: ClassVar[tuple[str, str]] = ("val/loss", "min")
    #: the metrics of the report's table, in order (default: every metric of the sets)
    report_columns: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, cfg: DictConfig):
        self.cfg = cfg
        self.options = self._parse_options(cfg.task)

    # ------------------------------------------------------------------ options
    def _parse_options(self, node: Any) -> Any:
        raw = {k: v for k, v in (to_container(node) or {}).items() if k != "name"}
        if not is_dataclass(self.Options):
            if raw:
                raise ConfigError(f"task '{self.name}' takes no options, got {sorted(raw)}")
            return None
        try:
            merged = OmegaConf.merge(OmegaConf.structured(self.Options), raw)
        except OmegaConfBaseException as err:
            allowed = sorted(f.name for f in fields(self.Options))
            key = getattr(err, "full_key", "?")
            raise ConfigError(
                f"task '{self.name}': bad option '{key}' ({str(err).splitlines()[0]}); allowed: {allowed}"
            ) from err
        return OmegaConf.to_object(merged)

    # ------------------------------------------------------------------ data
    @cached_property
    def store(self) -> Store:
        return open_store(self.cfg.data)

    @cached_property
    def keys(self) -> list[str]:
        return select_keys(self.store, to_container(self.cfg.data.where), self.cfg.data.max_items)

    def groups(self, store: Store, keys: list[str]) -> dict[str, str]:
        """Item key -> split group (``data.split.by`` annotation; the key itself when missing)."""
        by = self.cfg.data.split.by
        return {k: str(store.value(k, by, default=k)) for k in keys}

    def make_split(self) -> dict[str, list[str]]:
        s = self.cfg.data.split
        return split_groups(self.groups(self.store, self.keys), valid=s.valid, test=s.test, seed=s.seed)

    def training_stores(
        self,
        stores: Mapping[str, Any] | None,
        split: Mapping[str, list[str]],
        new_works: bool = False,
        option: str = "task.train_stores",
    ) -> list[tuple[str, Store, list[str]]]:
        """More training material: ``(name, store, keys)`` of each ``{name: {corpus | store, where}}``.

        An item joins training only when its split group (``data.split.by``, the work) is not one
        of the split's validation or test groups, so held-out works stay held out whatever store
        they come from. ``new_works=False`` also requires the group to be one of the training
        split's (the same works rendered again); ``True`` lets works the split never saw join (more
        music). ``where`` defaults to ``data.where``; a ``null`` entry is switched off.
        """
        train_groups = set(self.groups(self.store, list(split["train"])).values())
        held = set(self.groups(self.store, list(split["valid"]) + list(split["test"])).values())
        out = []
        for name, node in (to_container(stores) or {}).items():
            where = f"{option}.{name}"
            if node is None:  # option.NAME=null: switched off from the command line
                continue
            if not isinstance(node, dict):
                raise ConfigError(f"{where} must be a mapping with 'store' or 'corpus'")
            store = open_store(node, where=where)
            keys = select_keys(store, node.get("where", to_container(self.cfg.data.where)))
            groups = self.groups(store, keys)
            keys = [k for k in keys if groups[k] not in held and (new_works or groups[k] in train_groups)]
            if not keys:
                raise ConfigError(
                    f"{where}: none of its items belongs to a "
                    + ("work outside the held-out splits" if new_works else "training work of the split")
                )
            log.info("%s: %d training items", where, len(keys))
            out.append((name, store, keys))
        return out

    @cached_property
    def input(self) -> nn.Module:
        from mir101.inputs import build_input

        if not self.cfg.input:
            raise ConfigError(f"task '{self.name}' needs an 'input' section (e.g. input: {{name: hcqt}})")
        return build_input(to_container(self.cfg.input))

    def features(self, store: Store, keys: list[str] | None = None) -> Any:
        """The feature cache of ``keys`` of a store (default: the task's selected keys of its own
        store) for this task's input; built on first use, then reused."""
        from mir101.inputs import FeatureCache

        if keys is None:
            if store is not self.store:
                raise ValueError("features(store) needs keys for a store other than the task's own")
            keys = self.keys
        memo = self.__dict__.setdefault("_feature_caches", {})
        ident = (str(store.pyjama_path), tuple(keys))
        if ident not in memo:
            memo[ident] = FeatureCache(store, self.input, dtype=self.cfg.data.feature_dtype, keys=keys)
        return memo[ident]

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one training patch without the batch dim: (channels, freq, patch_frames), or
        (1, patch samples) for the waveform."""
        shape = self.input.output_shape(self.input.hop_length * (self.cfg.data.patch_frames - 1))
        return tuple(shape[:-1]) + (self.cfg.data.patch_frames,)

    def test_stores(self) -> dict[str, tuple[Store, list[str]]]:
        """Extra held-out stores (``data.test_stores``) with the keys to evaluate."""
        out = {}
        for name, node in (to_container(self.cfg.data.test_stores) or {}).items():
            if not isinstance(node, Mapping):
                raise ConfigError(f"data.test_stores.{name} must be a mapping with 'store' or 'corpus'")
            store = open_store(node, where=f"data.test_stores.{name}")
            keys = select_keys(store, node.get("where", to_container(self.cfg.data.where)))
            out[name] = (store, keys)
        return out

    # ------------------------------------------------------------------ model
    def build_model(self) -> nn.Module:
        from mir101.models import build_model

        if not self.cfg.model or not ({"layers", "parts"} & set(self.cfg.model)):
            raise ConfigError(
                "the config needs a 'model' section with a 'layers' list, 'parts' (one layer list "
                "per part), or a path to a model YAML"
            )
        model = dict(to_container(self.cfg.model))
        model.pop("input_shape", None)  # the task's input decides it
        variables = {**(model.pop("variables", None) or {}), **self.model_variables()}
        return build_model(model, self.input_shape, variables=variables)

    def model_variables(self) -> dict[str, Any]:
        """Values of the ``$name`` arguments of the model's layers that come from the data (e.g.
        ``{"n_classes": 8}`` for ``linear: {out_features: $n_classes}``). Default: none."""
        return {}

    def callbacks(self, split: Mapping[str, list[str]]) -> list[Any]:
        """Lightning callbacks of this task's training (e.g. a validation metric the paradigm does
        not compute); none by default."""
        return []

    # ------------------------------------------------------------------ the contract
    @abstractmethod
    def datamodule(self, split: Mapping[str, list[str]]) -> Any:
        """The training and validation batches of the split (a ``LightningDataModule``)."""

    @abstractmethod
    def system(self, model: nn.Module) -> Any:
        """The paradigm that trains ``model`` (a :class:`~mir101.paradigms.System`)."""

    @abstractmethod
    def evaluate(self, model: nn.Module, split: Mapping[str, list[str]], run_dir: Path) -> EvalResult:
        """Score the trained ``model`` on the held-out items with the field's metrics.

        The sets are at least ``test`` (the split's test items); tasks add the held-out works of
        ``data.test_stores`` (e.g. rendered with another SoundFont) under their names. What the
        report draws goes in ``EvalResult.examples``.
        """

    @abstractmethod
    def predict(self, model: nn.Module, run_dir: Path, audio_path: Path, out_dir: Path) -> dict[str, Any]:
        """Run the model on a user's audio file; write the outputs into ``out_dir`` and return a
        JSON-able summary of what was written (paths, counts)."""

    # ------------------------------------------------------------------ report and summary
    def report_sections(self, result: EvalResult, run_dir: Path) -> list[str]:
        """Markdown sections of ``report.md`` after the metrics table (plots of the examples...).

        Figures go in ``run_dir / "figures"``. The default adds nothing.
        """
        return []

    def report(self, result: EvalResult, run_dir: Path) -> Path:
        """Write ``run_dir/report.md``: the config line, a table per evaluation set, the task's own
        sections, then the training curves."""
        from mir101.tasks import reports

        run_dir = Path(run_dir)
        sections = [reports.header_section(self), reports.results_section(result, self.report_columns)]
        sections += self.report_sections(result, run_dir)
        sections += reports.history_section(run_dir)
        return reports.write_report(run_dir, self.title or f"{self.name} report", sections)

    @classmethod
    def summary(cls, result: EvalResult) -> str:
        """One line: the primary metric on every evaluation set (a class method: the CLI prints it
        from a ``metrics.json`` without building the task).

        Examples:
            'test Accuracy 0.918 (14 items) | other_soundfont Accuracy 0.860 (14 items)'
        """
        parts = []
        for name, scores in result.sets.items():
            items = f" ({int(scores['items'])} items)" if "items" in scores else ""
            parts.append(f"{name} {result.primary} {float(scores[result.primary]):.3f}{items}")
        return " | ".join(parts) or "no evaluation set"


def device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")
