"""Models of several parts (encoder, bottleneck, decoder, discriminator): one layer list each, shapes chained.

A codec, a separator or a GAN is not one stack of layers: a training paradigm calls its parts
separately (decode the quantised latent, judge real and decoded audio). The ``model`` section
then names one layer list per part, in order::

    input_shape: [1, 1024]                 # (channels, samples) of one item, batch excluded
    variables: {latent: 8}                 # shared by every part (a part may have its own)
    parts:
      encoder:                             # the first part reads the model input
        layers:
          - conv1d: {out_channels: 16, kernel_size: 4, stride: 4}
          - conv1d: {out_channels: $latent, kernel_size: 1}
      bottleneck: {layers: [tanh]}         # a part reads the previous part's output by default
      decoder:
        layers:
          - convtranspose1d: {out_channels: 1, kernel_size: 4, stride: 4}
      discriminator:                       # input: input -> a tensor shaped like the model input
        input: input
        layers: [{conv1d: {out_channels: 4, kernel_size: 9, stride: 4}}, flatten, {linear: {out_features: 1}}]

A part is ``{layers: [...]}`` (or just the list), with optional ``input`` (``input``, the model
input, or the name of another part, whose output it reads), ``variables`` and ``conditions``.
Each part is a :class:`~mir101.models.factory.LayerModel` whose ``input_shape`` is its source's
shape, found by building the parts in the order their inputs need (a cycle is an error).

``model(x)`` runs the *chain*: the first part, then, in order, every part that reads the
output of the last part run (encoder -> bottleneck -> decoder above). A part that reads
something else (the discriminator) is a side branch the paradigm calls itself:
``model.parts["discriminator"](y)`` or ``model.discriminator(y)``. Parameters are named
``<part>.net.<index>...``.

Book: "Models from YAML".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor, nn

from mir101.bricks.results import BrickOutput
from mir101.errors import ModelBuildError
from mir101.models.factory import DTYPES, LayerModel, ModelOutput, _plain, build_model

__all__ = ["ModelParts", "build_parts", "MODEL_INPUT"]

#: the ``input:`` of a part that reads the model input
MODEL_INPUT = "input"
#: the keys of one part's mapping
PART_KEYS = ("layers", "input", "variables", "conditions")
#: attributes of a ModelParts a part name may not shadow
_ATTRIBUTES = {
    "input_shape",
    "output_shape",
    "input_dtype",
    "sources",
    "declared",
    "chain",
    "names",
    "conditions",
}


class ModelParts(nn.Module):
    """A model of several named layer lists (parts), built by :func:`build_parts`.

    Attributes:
        parts: name -> :class:`~mir101.models.factory.LayerModel`, in the written order (also
            reachable as attributes: ``model.encoder``).
        sources: name -> what the part reads: ``"input"`` or another part's name.
        declared: name -> the ``input`` written in the config, or ``None`` (the default).
        chain: the parts ``model(x)`` runs, in order.
        input_shape: one model input item's shape, batch excluded.
        output_shape: the output shape of the chain's last part.

    Shape:
        - input: ``(batch, *input_shape)``
        - output: ``(batch, *output_shape)`` (the chain's last part)

    ``model(x, return_results=True)`` returns a :class:`~mir101.models.factory.ModelOutput`
    whose ``parts`` holds each chain part's output and whose ``results`` and ``losses`` are keyed
    by module path (``bottleneck.net.0``, ``bottleneck.net.0.commitment``).
    """

    def __init__(
        self,
        parts: Mapping[str, LayerModel],
        declared: Mapping[str, str | None],
        input_shape: tuple[int, ...],
        input_dtype: str = "float32",
    ):
        super().__init__()
        self.names = list(parts)
        for name, part in parts.items():
            self.add_module(name, part)
        self.declared = dict(declared)
        self.sources = _sources(self.names, self.declared)
        self.chain = _chain(self.names, self.sources)
        self.input_shape = tuple(input_shape)
        self.input_dtype = input_dtype
        self.output_shape = parts[self.chain[-1]].output_shape
        self.conditions = {k: v for part in parts.values() for k, v in part.conditions.items()}

    @property
    def parts(self) -> dict[str, LayerModel]:
        """Name -> part, in the written order."""
        return {name: getattr(self, name) for name in self.names}

    def get_config(self) -> dict[str, Any]:
        """``build_model(**model.get_config())`` builds the same architecture."""
        variables = [part.variables for part in self.parts.values()]
        shared = all(v == variables[0] for v in variables)  # then written once, for every part
        parts: dict[str, Any] = {}
        for name, part in self.parts.items():
            config: dict[str, Any] = {"layers": part.layers}
            if self.declared[name] is not None:
                config["input"] = self.declared[name]
            if part.variables and not shared:
                config["variables"] = dict(part.variables)
            if part.conditions:
                config["conditions"] = {k: list(v) for k, v in part.conditions.items()}
            parts[name] = config
        out: dict[str, Any] = {"parts": parts, "input_shape": list(self.input_shape)}
        if self.input_dtype != "float32":
            out["input_dtype"] = self.input_dtype
        if shared and variables[0]:
            out["variables"] = dict(variables[0])
        return out

    def forward(
        self, x: Tensor, *, return_results: bool = False, **conditions: Tensor
    ) -> Tensor | ModelOutput:
        """Run the chain: its last part's output, or a ``ModelOutput`` if ``return_results``."""
        outputs: dict[str, Tensor] = {}
        results: dict[str, BrickOutput] = {}
        losses: dict[str, Tensor] = {}
        for name in self.chain:
            part = getattr(self, name)
            given = {k: conditions[k] for k in part.conditions if k in conditions}
            if return_results:
                out = part(x, return_results=True, **given)
                results.update({f"{name}.{k}": v for k, v in out.results.items()})
                losses.update({f"{name}.{k}": v for k, v in out.losses.items()})
                x = out.output
            else:
                x = part(x, **given)
            outputs[name] = x
        if not return_results:
            return x
        return ModelOutput(x, results, losses, outputs)

    def extra_repr(self) -> str:
        return (
            f"input_shape={self.input_shape}, output_shape={self.output_shape}, "
            f"chain={' -> '.join(self.chain)}"
        )


def _sources(names: Sequence[str], declared: Mapping[str, str | None]) -> dict[str, str]:
    """What each part reads: its declared input, else the previous part (the first: the model input)."""
    return {name: declared.get(name) or (names[i - 1] if i else MODEL_INPUT) for i, name in enumerate(names)}


def _chain(names: Sequence[str], sources: Mapping[str, str]) -> list[str]:
    """The first part, then each part (in order) that reads the output of the last one kept."""
    chain = [names[0]]
    for name in names[1:]:
        if sources[name] == chain[-1]:
            chain.append(name)
    return chain


def _build_order(names: Sequence[str], sources: Mapping[str, str]) -> list[str]:
    """The parts in an order where each comes after the part it reads; a cycle is an error."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            loop = path[path.index(name) :] + [name]
            reads = ", ".join(f"'{a}' reads '{b}'" for a, b in zip(loop, loop[1:]))
            raise ModelBuildError(
                f"the parts' inputs form a cycle ({reads}): one of them must read 'input' or an earlier part"
            )
        state[name] = "visiting"
        if sources[name] != MODEL_INPUT:
            visit(sources[name], path + [name])
        state[name] = "done"
        order.append(name)

    for name in names:
        visit(name, [])
    return order


def _part_config(name: str, value: Any) -> dict[str, Any]:
    """One part's mapping, checked: ``{layers, input?, variables?, conditions?}`` (a list is its layers)."""
    if isinstance(value, list):
        value = {"layers": value}
    if not isinstance(value, Mapping):
        raise ModelBuildError(
            f"part '{name}': give a mapping {{layers: [...], input: ...}} or a layer list, got {value!r}"
        )
    unknown = sorted(set(value) - set(PART_KEYS))
    if unknown:
        raise ModelBuildError(f"part '{name}': unknown key(s) {unknown}; a part has {list(PART_KEYS)}")
    if "layers" not in value:
        raise ModelBuildError(f"part '{name}': no 'layers' list")
    return dict(value)


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise ModelBuildError(
            f"part name {name!r} must be an identifier (letters, digits, '_'), e.g. 'encoder'"
        )
    if name == MODEL_INPUT or name in _ATTRIBUTES or hasattr(ModelParts, name):
        raise ModelBuildError(f"part name '{name}' is reserved (an attribute of the model); choose another")


def build_parts(
    config: Mapping[str, Any],
    input_shape: Sequence[int] | None = None,
    *,
    conditions: Mapping[str, Sequence[int]] | None = None,
    input_dtype: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> ModelParts:
    """Build every part of ``config['parts']``, each on the output shape of the part it reads.

    Args:
        config: a mapping with ``parts`` (name -> ``{layers, input?, variables?, conditions?}``)
            and optionally ``input_shape``, ``input_dtype``, ``variables`` and ``conditions``
            shared by every part (a part's own ``variables`` override the shared ones).
        input_shape: one model input item's shape, batch excluded; overrides the mapping's.
        conditions: extra inputs (FiLM) given to every part, as in :func:`build_model`.
        input_dtype: the model input's dtype (``float32`` or ``int64``); a part reading another
            part takes that part's output dtype.
        variables: values of ``$name`` arguments, for every part; they override the files'.

    Returns:
        a :class:`ModelParts`.

    Raises:
        ModelBuildError: naming the part, what it reads and its shape, then the layer index,
            name and shapes (``part 'decoder' (reads 'bottleneck' (8, 64)): layer 0 ...``); or an
            unknown part in ``input:``, a cycle, an empty ``parts``.

    Examples:
        >>> model = build_parts({"parts": {"enc": [{"linear": {"out_features": 3}}], "dec": [{"linear": {"out_features": 5}}]}}, (5,))
        >>> model.parts["enc"].output_shape, model.output_shape, model.chain
        ((3,), (5,), ['enc', 'dec'])
    """
    config = dict(_plain(config))
    unknown = sorted(set(config) - {"parts", "input_shape", "input_dtype", "variables", "conditions"})
    if unknown:
        raise ModelBuildError(
            f"a model with 'parts' has unknown key(s) {unknown}; allowed: "
            "parts, input_shape, input_dtype, variables, conditions (layers go inside each part)"
        )
    raw = config["parts"]
    if not isinstance(raw, Mapping) or not raw:
        raise ModelBuildError(f"'parts' must be a non-empty mapping {{name: {{layers: [...]}}}}, got {raw!r}")
    for name in raw:
        _check_name(name)
    parts_cfg = {name: _part_config(name, value) for name, value in raw.items()}
    names = list(parts_cfg)
    declared = {name: parts_cfg[name].get("input") for name in names}
    for name, source in declared.items():
        if source is not None and source != MODEL_INPUT and source not in parts_cfg:
            raise ModelBuildError(
                f"part '{name}': input '{source}' is neither 'input' (the model input) nor a part; "
                f"parts: {names}"
            )
    sources = _sources(names, declared)
    order = _build_order(names, sources)

    input_shape = input_shape if input_shape is not None else config.get("input_shape")
    if input_shape is None:
        raise ModelBuildError("an input_shape is needed to infer the layer sizes, e.g. (1, 16000)")
    input_shape = tuple(int(s) for s in _plain(input_shape))
    input_dtype = input_dtype or config.get("input_dtype") or "float32"
    if input_dtype not in DTYPES:
        raise ModelBuildError(f"input_dtype={input_dtype!r} must be one of {sorted(DTYPES)}")
    shared_conditions = dict(_plain(conditions) if conditions is not None else config.get("conditions") or {})

    built: dict[str, LayerModel] = {}
    for name in order:
        part = parts_cfg[name]
        source = sources[name]
        if source == MODEL_INPUT:
            shape, dtype, reads = input_shape, input_dtype, "reads the model input"
        else:
            shape, dtype = built[source].output_shape, built[source].output_dtype
            reads = f"reads '{source}'"
        try:
            built[name] = build_model(
                part["layers"],
                shape,
                conditions={**shared_conditions, **(part.get("conditions") or {})},
                input_dtype=dtype,
                variables={
                    **(config.get("variables") or {}),
                    **(part.get("variables") or {}),
                    **(variables or {}),
                },
            )
        except ModelBuildError as err:
            raise ModelBuildError(f"part '{name}' ({reads}, shape {shape}): {err}") from err
    return ModelParts({name: built[name] for name in names}, declared, input_shape, input_dtype)
