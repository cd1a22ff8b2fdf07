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
import math
import re
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


#: the most values a YAML file may expand to once its aliases are followed (an experiment holds a
#: few hundred; a "billion laughs" file of nested aliases expands to billions and would hang)
MAX_YAML_VALUES = 100_000
#: the deepest nesting a YAML file may have
MAX_YAML_DEPTH = 64


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file with the safe loader; errors name the file and the line.

    A file that is not UTF-8 text (a checkpoint, an audio file given by mistake), nested deeper
    than :data:`MAX_YAML_DEPTH` or whose aliases expand to more than :data:`MAX_YAML_VALUES`
    values is refused before anything else reads it.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        with path.open(encoding="utf-8") as fid:
            content = yaml.safe_load(fid)
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not a YAML text file (byte {err.start} is not UTF-8 text): give the experiment's .yaml"
        ) from err
    except RecursionError as err:
        raise ConfigError(
            f"{path}: invalid YAML: nested too deeply (at most {MAX_YAML_DEPTH} levels)"
        ) from err
    except yaml.YAMLError as err:
        # one line: where (line, column) and what; the CLI prints the first line of an error only
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = " ".join(str(x) for x in (getattr(err, "context", None), getattr(err, "problem", None)) if x)
        what = what or str(err).splitlines()[0]
        if "python/" in what:
            what += " (YAML is read with the safe loader: Python tags are refused)"
        raise ConfigError(f"{path}{where}: invalid YAML: {what}") from err
    _check_yaml_size(content, path)
    return content


def _check_yaml_size(content: Any, path: Path) -> None:
    """Count the values of ``content`` as a reader sees them (an alias counted each time it is
    used), stopping at :data:`MAX_YAML_VALUES`; refuse a deeper nesting than :data:`MAX_YAML_DEPTH`."""
    count = 0
    stack = [(content, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_YAML_VALUES:
            raise ConfigError(
                f"{path}: the YAML expands to more than {MAX_YAML_VALUES} values once its aliases (*name) "
                "are followed: aliases of aliases make it grow exponentially; write the values out"
            )
        if depth > MAX_YAML_DEPTH:
            raise ConfigError(f"{path}: invalid YAML: nested more than {MAX_YAML_DEPTH} levels deep")
        if isinstance(node, Mapping):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


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
        marked = _missing_keys(layer, source)
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
    except (OmegaConfBaseException, RecursionError) as err:
        raise _interpolation_error(err, str(path or "config")) from err
    if missing:
        key = sorted(missing)[0]
        raise ConfigError(f"{path or 'config'}: {key} must be set (e.g. {key}=...)")
    _check_values(cfg, str(path or "config"))
    OmegaConf.set_readonly(cfg, True)
    return cfg


def _missing_keys(layer: Any, source: str) -> set[str]:
    """Dotted keys a layer marks ``???``, found without resolving interpolations (a ``${...}``
    may name a key of another file, or loop: :func:`_interpolation_error` reports that)."""
    found: set[str] = set()
    if not isinstance(layer, (DictConfig, ListConfig)):
        return found
    stack: list[tuple[Any, str]] = [(layer, "")]
    while stack:
        node, prefix = stack.pop()
        keys = range(len(node)) if isinstance(node, ListConfig) else list(node.keys())
        for key in keys:
            dotted = f"{prefix}.{key}" if prefix else str(key)
            if OmegaConf.is_missing(node, key):
                found.add(dotted)
            elif not OmegaConf.is_interpolation(node, key):
                child = node._get_node(key)
                if isinstance(child, (DictConfig, ListConfig)) and not child._is_none():
                    stack.append((child, dotted))
    return found


def _interpolation_error(err: BaseException, source: str) -> ConfigError:
    """One line naming the key whose ``${...}`` cannot be resolved, and why."""
    if isinstance(err, RecursionError):
        return ConfigError(f"{source}: an interpolation ${{...}} leads back to itself (a cycle)")
    key = getattr(err, "full_key", None)
    first = str(err).splitlines()[0] if str(err) else type(err).__name__
    if "Recursive interpolation" in first:
        first += " (the ${...} values lead back to each other: a cycle)"
    return ConfigError(f"{source}: key '{key}': {first}" if key else f"{source}: {first}")


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


#: the seeds numpy, torch and Lightning all accept
MAX_SEED = 2**32 - 1
#: ``corpus_args`` keys that place a build outside the cache (``mir101 data chorales --out DIR
#: --name NAME`` takes them): an experiment (or a run folder from elsewhere) never writes there
CORPUS_PLACEMENT_KEYS = ("out", "name")


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _check_values(cfg: DictConfig, source: str) -> None:
    """Values the schema's types let through but no library can use: each a ConfigError naming the key."""
    d = cfg.data
    for key in ("patch_frames", "patch_hop_frames", "batch_size"):
        if d[key] <= 0:
            raise ConfigError(f"{source}: data.{key}={d[key]} must be a positive integer")
    if d.num_workers < 0:
        raise ConfigError(f"{source}: data.num_workers={d.num_workers} must be >= 0")
    if d.max_items is not None and d.max_items <= 0:
        raise ConfigError(
            f"{source}: data.max_items={d.max_items} must be a positive integer, or null for every item"
        )
    if not 0 <= d.split.valid < 1 or not 0 <= d.split.test < 1 or d.split.valid + d.split.test >= 1:
        raise ConfigError(
            f"{source}: data.split.valid={d.split.valid} and data.split.test={d.split.test} "
            "must be fractions in [0, 1) whose sum is below 1"
        )
    for key, seed in (("train.seed", cfg.train.seed), ("data.split.seed", d.split.seed)):
        if not 0 <= seed <= MAX_SEED:
            raise ConfigError(f"{source}: {key}={seed} must be an integer from 0 to {MAX_SEED}")
    _check_corpus_args(d, "data", source)
    for name, node in (d.test_stores or {}).items():
        if isinstance(node, Mapping):
            _check_corpus_args(node, f"data.test_stores.{name}", source)
    o = cfg.optim
    if not _finite(o.lr) or o.lr <= 0:
        raise ConfigError(f"{source}: optim.lr={o.lr} must be positive and finite (e.g. 1e-3)")
    if not _finite(o.weight_decay) or o.weight_decay < 0:
        raise ConfigError(f"{source}: optim.weight_decay={o.weight_decay} must be a finite number >= 0")
    if o.warmup_steps < 0:
        raise ConfigError(f"{source}: optim.warmup_steps={o.warmup_steps} must be >= 0")
    t = cfg.trainer
    if t.max_epochs <= 0 and t.max_steps <= 0:
        raise ConfigError(f"{source}: trainer.max_epochs or trainer.max_steps must be positive")
    if t.max_time is not None and not re.fullmatch(r"\d+:\d\d:\d\d:\d\d", str(t.max_time).strip()):
        sexagesimal = (
            " (YAML reads an unquoted 1:00:00 as a number in base 60: quote it)"
            if str(t.max_time).isdigit()
            else ""
        )
        raise ConfigError(
            f"{source}: trainer.max_time={t.max_time!r} must be a duration DD:HH:MM:SS (e.g. '00:12:00:00' "
            f"for 12 hours), or null{sexagesimal}"
        )
    if t.gradient_clip_val is not None and (not _finite(t.gradient_clip_val) or t.gradient_clip_val < 0):
        raise ConfigError(
            f"{source}: trainer.gradient_clip_val={t.gradient_clip_val} must be a finite number >= 0, or null"
        )
    for key in ("val_check_interval", "limit_train_batches", "limit_val_batches"):
        value = t[key]
        if value is not None and (
            not _finite(value) or value < 0 or (key == "val_check_interval" and value == 0)
        ):
            raise ConfigError(
                f"{source}: trainer.{key}={value} must be a fraction of an epoch in (0, 1] or a number of "
                "batches, or null"
            )
    if t.accumulate_grad_batches < 1:
        raise ConfigError(
            f"{source}: trainer.accumulate_grad_batches={t.accumulate_grad_batches} must be >= 1"
        )
    if t.log_every_n_steps < 1:
        raise ConfigError(f"{source}: trainer.log_every_n_steps={t.log_every_n_steps} must be >= 1")
    if cfg.train.patience is not None and cfg.train.patience < 0:
        raise ConfigError(
            f"{source}: train.patience={cfg.train.patience} must be >= 0 (0: no early stopping)"
        )
    if cfg.train.mode not in (None, "min", "max"):
        raise ConfigError(f"{source}: train.mode='{cfg.train.mode}' must be 'min' or 'max'")
    if cfg.input and "name" not in cfg.input:
        raise ConfigError(f"{source}: the 'input' section needs a 'name' (e.g. name: hcqt)")
    if cfg.task and "name" not in cfg.task:
        raise ConfigError(f"{source}: the 'task' section needs a 'name' (e.g. name: multipitch)")


def _check_corpus_args(node: Any, where: str, source: str) -> None:
    """``corpus_args`` are the builder's parameters, but never where it writes: an experiment's
    corpus is built in the user cache (keyed by its parameters), so a config (or a run folder's
    config.yaml from elsewhere) cannot make mir101 write anywhere else."""
    args = node.get("corpus_args") if isinstance(node, Mapping) else None
    if not isinstance(args, Mapping):
        if args is not None:
            raise ConfigError(f"{source}: {where}.corpus_args must be a mapping of the corpus' parameters")
        return
    for key in CORPUS_PLACEMENT_KEYS:
        if key in args:
            raise ConfigError(
                f"{source}: {where}.corpus_args.{key} is not allowed: an experiment's corpus is built in "
                "the user cache; to build it in a folder of yours run `mir101 data "
                f"{node.get('corpus') or 'chorales'} --out DIR` and give {where}.store=DIR/NAME"
            )


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
