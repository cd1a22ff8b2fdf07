"""Experiment configuration: YAML files (OmegaConf) validated against a schema, with dotlist overrides.

An experiment is one YAML file with these sections::

    task:     {name: multipitch, ...}      # the task and its own options
    data:     {corpus: chorales, ...}      # where the audio comes from, splits, patches, batches
    input:    {name: hcqt, ...}            # kwargs of one class of mir101.inputs
    model:    {layers: [...]}              # a YAML layer list, or a path to one
    optim:    {name: adam, lr: 1e-3}
    train:    {seed: 0, patience: 10, ...} # mir101's own training options (seed, early stopping...)
    trainer:  {max_epochs: 20, ...}        # Lightning's Trainer keys only, passed through

A file may start with ``extends: base.yaml`` (or a list): those files are merged first, so one
experiment row only states what differs. ``data``, ``optim``, ``train`` and ``trainer`` are typed here: an unknown key or a wrong type fails with the
key, the file and the allowed keys. ``task``, ``input`` and ``model`` map onto classes whose
registries check their kwargs when they are built. YAML is always loaded with a safe loader.

Examples:
    >>> cfg = load_config("configs/multipitch/hcqt_conv2d.yaml", ["trainer.max_epochs=3"])  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mir101.errors import ConfigError

__all__ = [
    "ExperimentConfig",
    "DataConfig",
    "SplitConfig",
    "OptimConfig",
    "TrainConfig",
    "TrainerConfig",
    "load_config",
    "load_yaml",
    "load_model_file",
    "to_container",
    "save_config",
]


@dataclass
class SplitConfig:
    """How items are split. ``by`` names the annotation that groups items (never split by patch)."""

    by: str = "work_id"
    valid: float = 0.15
    test: float = 0.15
    seed: int = 0


@dataclass
class DataConfig:
    """Where the audio comes from and how it is cut into batches.

    Either ``store`` (the path of a store without extension: ``DIR/name`` for ``name.hdf5`` and
    ``name.pyjama``) or ``corpus`` (an embedded corpus built on demand, with ``corpus_args``).
    ``test_stores`` are extra held-out stores evaluated after training (e.g. another SoundFont).
    ``where`` keeps only the entries whose global values match (e.g. ``{role: mix}``).
    """

    store: str | None = None
    corpus: str | None = None
    corpus_args: dict[str, Any] = field(default_factory=dict)
    test_stores: dict[str, Any] = field(default_factory=dict)
    where: dict[str, Any] = field(default_factory=dict)
    split: SplitConfig = field(default_factory=SplitConfig)
    patch_frames: int = 64
    patch_hop_frames: int = 32
    batch_size: int = 16
    num_workers: int = 0
    cache_features: bool = True
    feature_dtype: str = "float16"
    max_items: int | None = None


@dataclass
class OptimConfig:
    """Optimizer and learning-rate schedule."""

    name: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    scheduler: str | None = None
    warmup_steps: int = 0


@dataclass
class TrainConfig:
    """mir101's own training options (what is not a :class:`lightning.Trainer` argument).

    Args:
        seed: seeds every generator; the draws of epoch ``e`` depend only on ``(seed, e)``.
        patience: early stopping after this many validations without improvement (0: off).
        monitor: the logged value that picks the best checkpoint and stops early (default: the
            task's, e.g. ``val/f1``); ``mode`` is ``min`` or ``max`` (default: the task's).
        channels_last: stores 4-D inputs and conv weights channels-last, which speeds some
            convolution stacks up several times on CPU (oneDNN) and slows others down: measure
            per model.
        tensorboard: also log to ``RUN/tensorboard`` (the CSV log is always written).
    """

    seed: int = 0
    patience: int = 10
    monitor: str | None = None
    mode: str | None = None
    channels_last: bool = False
    tensorboard: bool = False


#: keys that moved from ``trainer`` to ``train`` (configs and run folders written before still load)
MOVED_TO_TRAIN = tuple(TrainConfig.__dataclass_fields__)


@dataclass
class TrainerConfig:
    """Keyword arguments of :class:`lightning.Trainer`, passed through unchanged.

    ``accelerator``, ``devices``, ``strategy``, ``num_nodes`` and ``precision`` make a multi-GPU
    or multi-node run the same command. mir101's own options are in :class:`TrainConfig`.
    """

    max_epochs: int = 20
    max_steps: int = -1
    max_time: str | None = None
    accelerator: str = "auto"
    devices: Any = 1
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    deterministic: bool = True
    gradient_clip_val: float | None = None
    accumulate_grad_batches: int = 1
    limit_train_batches: Any = None
    limit_val_batches: Any = None
    val_check_interval: Any = None
    log_every_n_steps: int = 10
    enable_progress_bar: bool = True


@dataclass
class ExperimentConfig:
    """The whole experiment; see the module docstring."""

    name: str | None = None
    task: dict[str, Any] = field(default_factory=dict)
    data: DataConfig = field(default_factory=DataConfig)
    input: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    run_dir: str | None = None


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file with the safe loader; errors name the file and the line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        with path.open(encoding="utf-8") as fid:
            return yaml.safe_load(fid)
    except yaml.YAMLError as err:
        # one line: where (line, column) and what; the CLI prints the first line of an error only
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = " ".join(str(x) for x in (getattr(err, "context", None), getattr(err, "problem", None)) if x)
        what = what or str(err).splitlines()[0]
        if "python/" in what:
            what += " (YAML is read with the safe loader: Python tags are refused)"
        raise ConfigError(f"{path}{where}: invalid YAML: {what}") from err


def _allowed_keys(node_type: type) -> list[str]:
    return sorted(getattr(node_type, "__dataclass_fields__", {}))


def _explain(err: OmegaConfBaseException, source: str) -> ConfigError:
    key = getattr(err, "full_key", None) or "?"
    msg = str(err).splitlines()[0]
    parent = key.rsplit(".", 1)[0] if "." in key else None
    schema: type = ExperimentConfig
    for part in parent.split(".") if parent else []:
        sub = getattr(schema, "__dataclass_fields__", {}).get(part)
        schema = sub.default_factory if sub is not None and callable(sub.default_factory) else None  # type: ignore[assignment]
        if schema is None:
            break
    allowed = _allowed_keys(schema) if schema is not None else []
    if "not in" in msg and allowed:
        leaf = key.rsplit(".", 1)[-1]
        hint = difflib.get_close_matches(leaf, allowed, n=1)
        tip = f" (did you mean '{hint[0]}'?)" if hint else ""
        return ConfigError(f"{source}: unknown key '{key}'{tip}; allowed keys here: {allowed}")
    return ConfigError(f"{source}: key '{key}': {msg}")


def load_model_file(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a model YAML as a mapping with ``layers`` (one list) or ``parts`` (several).

    The one reader of model files (the experiment config uses it for ``model: FILE``). It accepts:

    - a bare list: the layers;
    - a mapping with ``layers`` or ``parts`` (and optionally ``input_shape``, ``variables``,
      ``conditions``, ``input_dtype``);
    - an experiment file: its ``model:`` section, itself a list, such a mapping, or the path of a
      model YAML (relative to that file or to the current directory).

    Raises:
        ConfigError: naming the file and what it holds instead.
    """
    path = Path(path)
    if path.resolve() in _seen:
        raise ConfigError(
            f"{path}: its 'model' section leads back to itself ({' -> '.join(map(str, _seen))})"
        )
    content = load_yaml(path)
    if isinstance(content, Mapping) and not {"layers", "parts"} & set(content) and "model" in content:
        content = content["model"]
        if isinstance(content, str):
            candidates = [Path(content), path.parent / content]
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                raise ConfigError(
                    f"{path}: model file not found: '{content}' (looked in . and {path.parent})"
                )
            return load_model_file(found, (*_seen, path.resolve()))
    if isinstance(content, list):
        content = {"layers": content}
    if not isinstance(content, Mapping) or not {"layers", "parts"} & set(content):
        got = f"keys {sorted(content)}" if isinstance(content, Mapping) else type(content).__name__
        raise ConfigError(
            f"{path}: a model file holds a 'layers' list, a 'parts' mapping or an experiment's "
            f"'model' section; got {got}"
        )
    if "layers" in content and "parts" in content:
        raise ConfigError(f"{path}: give either 'layers' (one list) or 'parts' (several lists), not both")
    return dict(content)


def _resolve_model(cfg: DictConfig, base_dir: Path) -> None:
    """A ``model`` given as a path is replaced by that file's content (``layers`` or ``parts``).

    The file is read by :func:`load_model_file`, the one reader of model YAMLs.
    """
    model = cfg.model
    if isinstance(model, str):
        candidates = [Path(model), base_dir / model]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise ConfigError(f"model file not found: '{model}' (looked in . and {base_dir})")
        cfg.model = OmegaConf.create(load_model_file(path))


def _read_with_extends(path: Path, seen: list[Path]) -> list[tuple[str, Any]]:
    """The file and, first, the files it ``extends`` (a path or a list, relative to the file)."""
    if path.resolve() in seen:
        raise ConfigError(f"{path}: 'extends' loops back to itself ({' -> '.join(map(str, seen))})")
    content = load_yaml(path) or {}
    if not isinstance(content, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of sections, got {type(content).__name__}"
        )
    parents = content.pop("extends", None) or []
    model = content.get("model")
    if isinstance(model, str) and (path.resolve().parent / model).is_file():
        content["model"] = str((path.resolve().parent / model).resolve())  # relative to its own file
    out: list[tuple[str, Any]] = []
    for parent in [parents] if isinstance(parents, str) else list(parents):
        out.extend(_read_with_extends(path.resolve().parent / parent, seen + [path.resolve()]))
    out.append((str(path), content))
    return out


def load_config(
    path: str | Path | None = None,
    overrides: Sequence[str] = (),
    base: dict[str, Any] | None = None,
) -> DictConfig:
    """Load an experiment config, apply dotlist ``overrides`` and validate it.

    Args:
        path: a YAML file; ``None`` starts from the defaults (and ``base``).
        overrides: ``key=value`` strings, e.g. ``["trainer.max_epochs=3", "data.batch_size=8"]``.
        base: a mapping merged before the file (used by tests and the book).

    Returns:
        a validated, read-only :class:`omegaconf.DictConfig` shaped like :class:`ExperimentConfig`.

    Raises:
        ConfigError: naming the file, the key and the allowed keys or type.
    """
    schema = OmegaConf.structured(ExperimentConfig)
    layers: list[tuple[str, Any]] = []
    if base:
        layers.append(("<base>", base))
    base_dir = Path.cwd()
    if path is not None:
        layers.extend(_read_with_extends(Path(path), []))
        base_dir = Path(path).resolve().parent
    bad = [o for o in overrides if "=" not in o]
    if bad:
        raise ConfigError(f"override {bad[0]!r} must look like key=value (e.g. trainer.max_epochs=3)")
    if overrides:
        try:
            layers.append(("command line", OmegaConf.from_dotlist(list(overrides))))
        except OmegaConfBaseException as err:
            raise ConfigError(f"command line: {err}") from err
    cfg = schema
    missing: set[str] = set()  # keys a layer marks '???' and no later layer sets
    for source, content in layers:
        content = _migrate(content, source)
        if isinstance(content, dict) and "model" in content and isinstance(content["model"], list):
            content = {**content, "model": {"layers": content["model"]}}
        layer = OmegaConf.create(content) if isinstance(content, dict) else content
        marked = OmegaConf.missing_keys(layer)
        missing = {
            k for k in missing if OmegaConf.select(layer, k, default=None, throw_on_missing=False) is None
        }
        missing |= marked
        try:
            cfg = OmegaConf.merge(cfg, layer)
        except OmegaConfBaseException as err:
            raise _explain(err, source) from err
    assert isinstance(cfg, DictConfig)
    for override in overrides:
        # `data.where={}` on the command line empties the mapping (a merge would keep its keys)
        key, value = (part.strip() for part in override.split("=", 1))
        if value in ("{}", "[]"):
            OmegaConf.update(cfg, key, {} if value == "{}" else [], merge=False)
    _resolve_model(cfg, base_dir)
    try:
        OmegaConf.resolve(cfg)
    except OmegaConfBaseException as err:
        raise ConfigError(f"{path or 'config'}: {err}") from err
    if missing:
        key = sorted(missing)[0]
        raise ConfigError(f"{path or 'config'}: {key} must be set (e.g. {key}=...)")
    _check_values(cfg, str(path or "config"))
    OmegaConf.set_readonly(cfg, True)
    return cfg


def _migrate(content: Any, source: str) -> Any:
    """Configs written before ``train`` existed: ``trainer.seed`` (and the other keys of
    :data:`MOVED_TO_TRAIN`) move to ``train``, logged once; an ``eval`` section (never used) is dropped."""
    import logging

    if isinstance(content, DictConfig):
        content = OmegaConf.to_container(content, resolve=False)
    if not isinstance(content, dict):
        return content
    trainer = content.get("trainer")
    moved = [k for k in MOVED_TO_TRAIN if isinstance(trainer, dict) and k in trainer]
    if moved:
        content = {**content, "trainer": {k: v for k, v in trainer.items() if k not in moved}}
        content["train"] = {**(content.get("train") or {}), **{k: trainer[k] for k in moved}}
        logging.getLogger(__name__).warning(
            "%s: trainer.%s is now train.%s (mir101's own options left the Lightning section)",
            source,
            moved[0],
            moved[0],
        )
    if "eval" in content:
        content = {k: v for k, v in content.items() if k != "eval"}
    return content


def _check_values(cfg: DictConfig, source: str) -> None:
    d = cfg.data
    for key in ("patch_frames", "patch_hop_frames", "batch_size"):
        if d[key] <= 0:
            raise ConfigError(f"{source}: data.{key}={d[key]} must be a positive integer")
    if d.num_workers < 0:
        raise ConfigError(f"{source}: data.num_workers={d.num_workers} must be >= 0")
    if not 0 <= d.split.valid < 1 or not 0 <= d.split.test < 1 or d.split.valid + d.split.test >= 1:
        raise ConfigError(
            f"{source}: data.split.valid={d.split.valid} and data.split.test={d.split.test} "
            "must be fractions in [0, 1) whose sum is below 1"
        )
    if cfg.optim.lr <= 0:
        raise ConfigError(f"{source}: optim.lr={cfg.optim.lr} must be positive")
    if cfg.trainer.max_epochs <= 0 and cfg.trainer.max_steps <= 0:
        raise ConfigError(f"{source}: trainer.max_epochs or trainer.max_steps must be positive")
    if cfg.train.mode not in (None, "min", "max"):
        raise ConfigError(f"{source}: train.mode='{cfg.train.mode}' must be 'min' or 'max'")
    if cfg.input and "name" not in cfg.input:
        raise ConfigError(f"{source}: the 'input' section needs a 'name' (e.g. name: hcqt)")
    if cfg.task and "name" not in cfg.task:
        raise ConfigError(f"{source}: the 'task' section needs a 'name' (e.g. name: multipitch)")


def to_container(node: Any) -> Any:
    """A plain ``dict``/``list`` copy of an OmegaConf node (anything else is returned as is)."""
    if isinstance(node, (DictConfig, ListConfig)):
        return OmegaConf.to_container(node, resolve=True)
    return node


def save_config(cfg: DictConfig, path: str | Path) -> None:
    """Write the resolved config as YAML (what a run folder keeps)."""
    from mir101.utils.io import atomic_path

    with atomic_path(path) as tmp:  # a kill mid-write leaves the previous file (or none)
        tmp.write_text(OmegaConf.to_yaml(cfg, resolve=True), encoding="utf-8")
