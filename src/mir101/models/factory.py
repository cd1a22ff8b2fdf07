"""Build a network from a YAML layer list: names from the registry, input sizes inferred by tracing.

A model is a list of layers. Each item is a bare name (``relu``), a one-key mapping
``{name: {kwargs}}``, or one of the skip items ``{store: NAME}`` (keep the current tensor),
``{concat: NAME}`` (concatenate the kept tensor on the channel axis, for U-Net skips) and
``{add: NAME}`` (add it, for residuals)::

    input_shape: [6, 216, 64]            # (channels, freq, time) of one patch, batch excluded
    layers:
      - batchnorm2d                      # num_features inferred: 6
      - conv2d: {out_channels: 16, kernel_size: [5, 5], padding: same}
      - relu
      - store: E1
      - conv2d: {out_channels: 16, kernel_size: 3, padding: same}
      - concat: E1                       # (1, 32, 216, 64)
      - conv2d: {out_channels: 1, kernel_size: 1}

The factory runs a dummy input of shape ``(1, *input_shape)`` through the layers as it builds
them, so the size argument a layer needs (``in_channels``, ``num_features``, ``in_features``,
``input_size``, ``normalized_shape``, ``d_model``...) is read from the tensor that actually
arrives; ``-1`` (the tutorial's placeholder) means the same. Anything wrong (an unknown name, an
argument the layer does not take, a shape it cannot accept) fails here, at build time, with a
:class:`~mir101.errors.ModelBuildError` naming the layer index, its name, the input shape it
received and what it expected.

An argument may name a variable, ``$name``, given by the caller or by the file's ``variables``
mapping (its default): ``{linear: {out_features: $n_classes}}`` lets a task set the number of
classes from its data (``build_model(..., variables={"n_classes": 50})``).

A layer may return more than a tensor: a :class:`~mir101.bricks.results.BrickOutput` (a
bottleneck's auxiliary losses, codes...). The next layer receives its ``output``, the shapes are
read from it, ``model(x)`` still returns a tensor, and ``model(x, return_results=True)`` returns
a :class:`ModelOutput` with every such result and their losses, keyed by module path
(``net.3``, ``net.3.commitment``).

A model of several parts (encoder, bottleneck, decoder, discriminator) names one layer list
per part under ``parts:``; each part reads the model input, or another part's output::

    input_shape: [1, 1024]
    parts:
      encoder: {layers: [...]}          # the first part reads the model input
      bottleneck: {layers: [...]}       # a part reads the previous part's output by default
      decoder: {layers: [...]}
      discriminator: {input: input, layers: [...]}   # a tensor shaped like the model input

This builds a :class:`~mir101.models.parts.ModelParts` (see there for how it runs).

A layer that takes a condition (FiLM) names it: ``{film: {condition: genre}}``; ``genre`` is a
tensor stored earlier with ``{store: genre}`` or an extra input of the model, declared with
``build_model(..., conditions={"genre": (10,)})`` and passed as ``model(x, genre=c)``.

Book: "Models from YAML".
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from mir101.bricks.results import BrickOutput
from mir101.config import load_model_file
from mir101.errors import ConfigError, Mir101Error, ModelBuildError, ShapeError
from mir101.models.registry import LAYERS, SKIP_OPS, LayerSpec
from mir101.utils.registry import check_kwargs

if TYPE_CHECKING:
    from mir101.models.parts import ModelParts

__all__ = [
    "build_model",
    "LayerModel",
    "ModelOutput",
    "Step",
    "load_model_file",
    "normalise_layers",
    "dummy_inputs",
    "run_step",
]

DTYPES = {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64, "long": torch.int64}
DTYPE_NAMES = {torch.float32: "float32", torch.float64: "float64", torch.int64: "int64"}


@dataclass
class ModelOutput:
    """Everything a model's forward pass returns with ``return_results=True``.

    Attributes:
        output: the model's output, the tensor ``model(x)`` returns.
        results: the :class:`~mir101.bricks.results.BrickOutput` of every layer that returned
            one, keyed by the layer's module path (``net.3``; ``bottleneck.net.0`` in a
            multi-part model, as in ``model.named_modules()``).
        losses: every auxiliary loss term of those results, keyed ``<module path>.<name>``
            (``bottleneck.net.0.commitment``); a paradigm adds ``sum(out.losses.values())``.
        parts: in a multi-part model, the output of each part the forward pass ran.
    """

    output: Tensor
    results: dict[str, BrickOutput] = field(default_factory=dict)
    losses: dict[str, Tensor] = field(default_factory=dict)
    parts: dict[str, Tensor] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One item of a built layer list.

    Attributes:
        name: the registry name (lower case) or a skip item (``store``, ``concat``, ``add``).
        kwargs: the arguments the layer was built with, inferred ones included.
        given: the arguments as written in the layer list.
        ref: the stored tensor a skip item or a conditioned layer refers to.
        output_shape: the output shape with a batch of 1.
    """

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    given: dict[str, Any] = field(default_factory=dict)
    ref: str | None = None
    output_shape: tuple[int, ...] = ()

    @property
    def is_skip(self) -> bool:
        return self.name in SKIP_OPS


class LayerModel(nn.Module):
    """A network built from a layer list by :func:`build_model`.

    Attributes:
        layers: the layer list as written (plain lists and dicts, ready to save as YAML).
        input_shape: the shape of one input item, batch excluded, e.g. ``(6, 216, 64)``.
        output_shape: the shape of one output item for that input.
        steps: one :class:`Step` per item, with the inferred arguments and output shapes.
        net: the modules, one per item (``nn.Identity`` for skip items), so that parameter names
            are ``net.<index>.<name>``.

    Shape:
        - input: ``(batch, *input_shape)``; fully convolutional models accept other lengths
        - output: ``(batch, *output_shape)``

    ``model(x)`` returns the output tensor; ``model(x, return_results=True)`` a
    :class:`ModelOutput` that also holds what layers returning a
    :class:`~mir101.bricks.results.BrickOutput` gave, and their losses. (A keyword of the
    forward pass rather than another method, so that wrappers such as DDP see the call.)
    """

    def __init__(
        self,
        net: nn.ModuleList,
        steps: list[Step],
        layers: list[Any],
        input_shape: tuple[int, ...],
        conditions: Mapping[str, tuple[int, ...]] | None = None,
        input_dtype: str = "float32",
        variables: Mapping[str, Any] | None = None,
    ):
        super().__init__()
        self.net = net
        self.steps = steps
        self.layers = layers
        self.input_shape = tuple(input_shape)
        self.output_shape = steps[-1].output_shape[1:] if steps else self.input_shape
        self.conditions = dict(conditions or {})
        self.input_dtype = input_dtype
        self.variables = dict(variables or {})
        self.output_dtype = "float32"  # of the traced output, set by build_model

    def get_config(self) -> dict[str, Any]:
        """``build_model(**model.get_config())`` builds the same architecture."""
        config: dict[str, Any] = {"layers": self.layers, "input_shape": list(self.input_shape)}
        if self.conditions:
            config["conditions"] = {k: list(v) for k, v in self.conditions.items()}
        if self.input_dtype != "float32":
            config["input_dtype"] = self.input_dtype
        if self.variables:
            config["variables"] = dict(self.variables)
        return config

    def forward(
        self, x: Tensor, *, return_results: bool = False, **conditions: Tensor
    ) -> Tensor | ModelOutput:
        """Run the layers: the output tensor, or a :class:`ModelOutput` if ``return_results``."""
        if x.dim() != len(self.input_shape) + 1:
            raise ShapeError(
                f"this model takes (batch, *{self.input_shape}) inputs, got shape {tuple(x.shape)}"
            )
        missing = sorted(set(self.conditions) - set(conditions))
        if missing:
            raise ShapeError(f"this model needs the conditions {missing}: call model(x, {missing[0]}=tensor)")
        saved: dict[str, Tensor] = dict(conditions)
        results: dict[str, BrickOutput] = {}
        for i, (step, module) in enumerate(zip(self.steps, self.net)):
            y = run_step(step, module, x, saved)
            if isinstance(y, BrickOutput):
                results[f"net.{i}"] = y
                y = y.output
            x = y
        if not return_results:
            return x
        return ModelOutput(x, results, gather_losses(results))

    def extra_repr(self) -> str:
        return f"input_shape={self.input_shape}, output_shape={self.output_shape}"


def gather_losses(results: Mapping[str, BrickOutput]) -> dict[str, Tensor]:
    """Every loss term of ``results``, keyed ``<layer key>.<loss name>``."""
    return {f"{key}.{name}": loss for key, result in results.items() for name, loss in result.losses.items()}


def run_step(step: Step, module: nn.Module, x: Tensor, saved: dict[str, Tensor]) -> Tensor | BrickOutput:
    """Apply one item: a layer (with its condition if it has one) or a skip item.

    A layer may return a :class:`~mir101.bricks.results.BrickOutput`; the caller passes its
    ``output`` on.
    """
    if step.name == "store":
        saved[step.ref] = x  # type: ignore[index]
        return x
    if step.name == "concat":
        return torch.cat([x, saved[step.ref]], dim=1)  # type: ignore[index]
    if step.name == "add":
        return x + saved[step.ref]  # type: ignore[index]
    if step.ref is not None:
        return module(x, saved[step.ref])
    return module(x)


@contextmanager
def quiet_dummy_pass() -> Iterator[None]:
    """Silence torch's performance note on 'same' padding with even kernels (Bittner's 70x3) for dummy passes."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Using padding='same' with even kernel", category=UserWarning
        )
        yield


def dummy_inputs(
    input_shape: tuple[int, ...], input_dtype: str, conditions: Mapping[str, tuple[int, ...]]
) -> tuple[Tensor, dict[str, Tensor]]:
    """A fixed random input item ``(1, *input_shape)`` and the model's conditions, for tracing."""
    generator = torch.Generator().manual_seed(0)
    dtype = DTYPES[input_dtype]
    if dtype.is_floating_point:
        x = torch.randn((1, *input_shape), generator=generator, dtype=dtype)
    else:
        x = torch.zeros((1, *input_shape), dtype=dtype)
    return x, {k: torch.randn((1, *v), generator=generator) for k, v in conditions.items()}


# ----------------------------------------------------------------------------- parsing
def _plain(value: Any) -> Any:
    """OmegaConf containers -> plain dict / list (the factory never keeps OmegaConf objects)."""
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        return value
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value


def _tupled(value: Any) -> Any:
    """YAML lists -> tuples, recursively, so kwargs are immutable (``kernel_size: [5, 5]``)."""
    if isinstance(value, list):
        return tuple(_tupled(v) for v in value)
    if isinstance(value, dict):
        return {k: _tupled(v) for k, v in value.items()}
    return value


def normalise_layers(layers: Sequence[Any]) -> list[tuple[str, dict[str, Any] | str]]:
    """Parse a layer list into ``(name, kwargs)`` pairs (``(op, NAME)`` for skip items).

    Accepts ``name``, ``{name: {kwargs}}``, ``{name: null}``, ``{store|concat|add: NAME}`` and the
    tutorial's ``[Name, {kwargs}]`` pairs.
    """
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise ModelBuildError(f"a model's 'layers' must be a list, got {type(layers).__name__}")
    parsed: list[tuple[str, dict[str, Any] | str]] = []
    for i, item in enumerate(layers):
        if isinstance(item, str):
            name, args = item, None
        elif isinstance(item, Mapping) and len(item) == 1:
            name, args = next(iter(item.items()))
        elif isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str):
            name, args = item[0], None if item[1] == "empty" else item[1]
        elif isinstance(item, Mapping):
            raise ModelBuildError(
                f"layer {i}: an item is one name or a one-key mapping {{name: {{kwargs}}}}, got keys "
                f"{list(item)} (check the indentation of the arguments under the layer name)"
            )
        else:
            raise ModelBuildError(f"layer {i}: expected a name or {{name: {{kwargs}}}}, got {item!r}")
        name = str(name).lower()
        if name in SKIP_OPS:
            if not isinstance(args, str) or not args:
                raise ModelBuildError(
                    f"layer {i} '{name}': give the stored tensor's name, e.g. {{{name}: E1}}"
                )
            parsed.append((name, args))
        elif args is None:
            parsed.append((name, {}))
        elif isinstance(args, Mapping):
            parsed.append((name, dict(args)))
        else:
            raise ModelBuildError(
                f"layer {i} '{name}': its arguments must be a mapping {{argument: value}}, got {args!r}"
            )
    return parsed


# ----------------------------------------------------------------------------- building
def _substitute(value: Any, variables: Mapping[str, Any], where: str) -> Any:
    """Replace ``$name`` strings (also inside lists) by ``variables[name]``."""
    if isinstance(value, str) and value.startswith("$"):
        if value[1:] not in variables:
            raise ModelBuildError(
                f"{where}: the variable {value} has no value; give variables={{'{value[1:]}': ...}} "
                f"(or a 'variables' mapping in the model file); known: {sorted(variables)}"
            )
        return variables[value[1:]]
    if isinstance(value, (list, tuple)):
        return type(value)(_substitute(v, variables, where) for v in value)
    return value


def _fill_inferred(
    i: int, name: str, spec: LayerSpec, kwargs: dict[str, Any], shape: tuple[int, ...]
) -> None:
    for key, rule in spec.infer.items():
        try:
            actual = rule(shape, kwargs) if callable(rule) else shape[rule]
        except IndexError as err:
            raise ModelBuildError(f"layer {i} '{name}': expected input {spec.layout}, got {shape}") from err
        given = kwargs.get(key)
        if given is None or given == -1 or given == [-1] or given == (-1,):
            kwargs[key] = actual
        elif isinstance(given, int) and given != actual:
            axis = "the last axis" if rule == -1 else f"axis {rule}" if isinstance(rule, int) else "its axis"
            raise ModelBuildError(
                f"layer {i} '{name}': {key}={given} but the input {shape} has {actual} on {axis} "
                f"(expected {spec.layout}); remove {key} to infer it"
            )


def _build_layer(
    i: int,
    name: str,
    given: dict[str, Any],
    x: Tensor,
    saved: dict[str, Tensor],
    variables: Mapping[str, Any],
) -> tuple[nn.Module, Step, Tensor]:
    """Build item ``i`` for the input ``x`` and run it once: the module, its step and its output."""
    shape = tuple(x.shape)
    try:
        spec = LAYERS.get(name, where=f"layer {i}")
    except ConfigError as err:
        raise ModelBuildError(str(err)) from err
    where = f"layer {i} '{name}'"
    kwargs = {k: _substitute(v, variables, where) for k, v in _tupled(dict(given)).items()}
    ref = None
    if spec.condition is not None:
        ref = kwargs.pop("condition", None)
        if ref not in saved:
            raise ModelBuildError(
                f"{where}: needs 'condition: NAME', a tensor stored before it or a model condition; "
                f"got {ref!r}, available: {sorted(saved)}"
            )
        kwargs.setdefault(spec.condition, saved[ref].shape[-1])
    if spec.ndim is not None and len(shape) not in spec.ndim:
        raise ModelBuildError(f"{where}: expected input {spec.layout}, got {shape}")
    _fill_inferred(i, name, spec, kwargs, shape)
    try:
        check_kwargs(spec.factory, kwargs, where)
    except ConfigError as err:
        raise ModelBuildError(str(err)) from err
    try:
        module = spec.factory(**kwargs)
    except (Mir101Error, TypeError, ValueError, RuntimeError) as err:  # torch: negative sizes...
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelBuildError(f"{where}: cannot be built with {kwargs}: {first}") from err
    step = Step(name=name, kwargs=kwargs, given=given, ref=ref)
    try:
        with torch.no_grad(), quiet_dummy_pass():
            y = run_step(step, module.eval(), x, saved)
    except Exception as err:  # any failure of the dummy pass is a build error, explained
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelBuildError(
            f"{where}: input {shape} does not fit (expected {spec.layout}): {first}"
        ) from err
    module.train()
    if isinstance(y, BrickOutput):
        y = y.output
    if not isinstance(y, Tensor):
        raise ModelBuildError(
            f"{where}: returns {type(y).__name__}; a layer of a layer list returns a tensor or a "
            "BrickOutput (mir101.bricks.results) whose 'output' is the tensor for the next layer"
        )
    return module, Step(name=name, kwargs=kwargs, given=given, ref=ref, output_shape=tuple(y.shape)), y


def _skip_step(i: int, op: str, ref: str, x: Tensor, saved: dict[str, Tensor]) -> tuple[Step, Tensor]:
    """Check and run a skip item (``store``, ``concat``, ``add``): its step and its output."""
    shape = tuple(x.shape)
    if op != "store":
        if ref not in saved:
            hint = difflib.get_close_matches(ref, list(saved), n=1)
            tip = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ModelBuildError(
                f"layer {i} '{op}': no tensor stored as '{ref}' before this layer{tip}; stored: {sorted(saved)}"
            )
        other = tuple(saved[ref].shape)
        if op == "concat" and (len(other) != len(shape) or other[2:] != shape[2:]):
            raise ModelBuildError(
                f"layer {i} 'concat': cannot concatenate the input {shape} with '{ref}' {other} on channels: "
                "every axis but 1 must match (with pooling, make freq and time divisible by 2**levels)"
            )
        if op == "add" and other != shape:
            raise ModelBuildError(
                f"layer {i} 'add': cannot add '{ref}' {other} to the input {shape}: shapes differ"
            )
    y = run_step(Step(op, ref=ref), nn.Identity(), x, saved)
    return Step(name=op, given={op: ref}, ref=ref, output_shape=tuple(y.shape)), y


def build_model(
    layers: Sequence[Any] | Mapping[str, Any] | str | Path | None = None,
    input_shape: Sequence[int] | None = None,
    *,
    parts: Mapping[str, Any] | None = None,
    conditions: Mapping[str, Sequence[int]] | None = None,
    input_dtype: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> LayerModel | ModelParts:
    """Build a network from a layer list, inferring every input size from ``input_shape``.

    Args:
        layers: the layer list; or a mapping with ``layers`` (and optionally ``input_shape``,
            ``conditions``, ``input_dtype``, ``variables``), e.g. a loaded model YAML or an
            experiment's ``model`` section; or a mapping with ``parts`` (one layer list per
            part, see :func:`~mir101.models.parts.build_parts`); or the path of a model YAML.
        parts: instead of ``layers``, one layer list per part (as ``build_model(**model.get_config())``
            of a multi-part model passes them).
        input_shape: one input item's shape, batch excluded: ``(channels, freq, time)`` for a
            spectrogram patch such as ``(6, 216, 64)``, ``(1, samples)`` for a waveform.
            Overrides the mapping's ``input_shape``.
        conditions: shapes (batch excluded) of extra inputs that conditioned layers (FiLM) use.
        input_dtype: ``"float32"`` (default) or ``"int64"`` for token indices.
        variables: values of the ``$name`` arguments; they override the mapping's ``variables``.

    Returns:
        a :class:`LayerModel` with ``input_shape``, ``output_shape``, ``layers`` and ``steps``;
        a :class:`~mir101.models.parts.ModelParts` for a mapping with ``parts``.

    Raises:
        ModelBuildError: naming the layer index and name, the input shape it received and the
            layout it expected.

    Examples:
        >>> model = build_model(["batchnorm2d", {"conv2d": {"out_channels": 4, "kernel_size": 3}}], (6, 20, 10))
        >>> model.output_shape
        (4, 18, 8)
    """
    if parts is not None:
        if layers is not None:
            raise ModelBuildError("give either 'layers' (one list) or 'parts' (several lists), not both")
        layers = {"parts": parts}
    layers = _plain(layers)
    if layers is None:
        raise ModelBuildError("build_model needs a layer list, a model mapping or the path of a model YAML")
    if isinstance(layers, (str, Path)):
        if not Path(layers).is_file():
            raise ModelBuildError(f"model file not found: '{layers}' (give a model YAML or a list of layers)")
        layers = load_model_file(layers)
    if isinstance(layers, Mapping) and "parts" in layers:
        if "layers" in layers:
            raise ModelBuildError("give either 'layers' (one list) or 'parts' (several lists), not both")
        from mir101.models.parts import build_parts

        return build_parts(
            layers, input_shape, conditions=conditions, input_dtype=input_dtype, variables=variables
        )
    if isinstance(layers, Mapping):
        config = dict(layers)
        if "layers" not in config:
            raise ModelBuildError(
                f"a model mapping needs a 'layers' list (or 'parts'); got keys {sorted(config)}"
            )
        input_shape = input_shape if input_shape is not None else config.get("input_shape")
        conditions = conditions if conditions is not None else config.get("conditions")
        input_dtype = input_dtype or config.get("input_dtype")
        variables = {**(_plain(config.get("variables")) or {}), **(variables or {})}
        layers = config["layers"]
    if input_shape is None:
        raise ModelBuildError("an input_shape is needed to infer the layer sizes, e.g. (6, 216, 64)")
    input_shape = tuple(int(s) for s in _plain(input_shape))
    if not input_shape or any(s <= 0 for s in input_shape):
        raise ModelBuildError(f"input_shape={input_shape} must be positive sizes, batch excluded")
    input_dtype = input_dtype or "float32"
    if input_dtype not in DTYPES:
        raise ModelBuildError(f"input_dtype={input_dtype!r} must be one of {sorted(DTYPES)}")
    parsed = normalise_layers(_plain(layers))
    layers = list(_plain(layers))
    if not parsed:
        raise ModelBuildError("the layer list is empty")

    conditions = {k: tuple(int(s) for s in v) for k, v in (_plain(conditions) or {}).items()}
    x, saved = dummy_inputs(input_shape, input_dtype, conditions)

    modules: list[nn.Module] = []
    steps: list[Step] = []
    for i, (name, args) in enumerate(parsed):
        if isinstance(args, str):
            module: nn.Module = nn.Identity()
            step, x = _skip_step(i, name, args, x, saved)
        else:
            module, step, x = _build_layer(i, name, args, x, saved, variables or {})
        modules.append(module)
        steps.append(step)
    model = LayerModel(nn.ModuleList(modules), steps, layers, input_shape, conditions, input_dtype, variables)
    model.output_dtype = DTYPE_NAMES.get(x.dtype, "float32")
    return model
