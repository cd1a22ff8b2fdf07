"""What a built model costs, layer by layer: output shape, parameters and multiply-accumulates (MACs).

MACs are counted with forward hooks, for one input item (a batch of 1), on the layers that do
the arithmetic:

- convolutions (1-D, 2-D, transposed, grouped/depthwise, SincNet's):
  ``output elements x in_channels / groups x kernel taps``
  (transposed: ``input elements x out_channels / groups x kernel taps``);
- linear layers: ``output elements x in_features``;
- recurrent layers: ``gates x (input + hidden) x hidden`` per step, direction and layer
  (4 gates for an LSTM, 3 for a GRU, 1 for a vanilla RNN);
- attention: the two products ``Q K^T`` and ``A V``, ``2 x T_query x T_key x d_model``
  (its projections are linear layers, counted as such).

A model of several parts is summarised part by part, each on a dummy item of its own input
shape (every part run once, side branches such as a discriminator included).

Normalisations, activations, pooling and elementwise operations are not counted: they are few
and memory-bound. (``torch.utils.flop_counter`` was not used because it skips the LSTM kernels
and CPU attention.) One MAC is two FLOPs.

Book: "Models from YAML".
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mir101.bricks import MultiHeadAttention, SincConv
from mir101.bricks.results import BrickOutput
from mir101.models.factory import LayerModel, Step, dummy_inputs, quiet_dummy_pass, run_step
from mir101.models.parts import ModelParts

__all__ = ["SummaryRow", "summarize", "format_summary", "count_macs", "receptive_field"]

GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _conv_macs(m: nn.Module, inputs: tuple, out: Tensor) -> int:
    taps = math.prod(m.kernel_size)
    if isinstance(m, nn.modules.conv._ConvTransposeNd):
        return inputs[0].numel() * (m.out_channels // m.groups) * taps
    return out.numel() * (m.in_channels // m.groups) * taps


def _linear_macs(m: nn.Module, inputs: tuple, out: Tensor) -> int:
    return out.numel() * m.in_features


def _rnn_macs(m: nn.Module, inputs: tuple, out: tuple) -> int:
    x = inputs[0]
    steps = x.shape[1 if (m.batch_first and x.dim() == 3) else 0]
    batch = x.shape[0] if (m.batch_first and x.dim() == 3) else (x.shape[1] if x.dim() == 3 else 1)
    directions = 2 if m.bidirectional else 1
    total = 0
    for layer in range(m.num_layers):
        n_in = m.input_size if layer == 0 else m.hidden_size * directions
        total += GATES[m.mode] * (n_in + m.hidden_size) * m.hidden_size
    return total * steps * directions * batch


def _attention_macs(m: nn.Module, inputs: tuple, out: Tensor) -> int:
    x = inputs[0]
    cache = inputs[1] if len(inputs) > 1 else None
    t_query = x.shape[1]
    t_key = cache.length if cache is not None else t_query  # the hook runs after the cache was extended
    return 2 * x.shape[0] * t_query * t_key * x.shape[2]


def _sinc_macs(m: nn.Module, inputs: tuple, out: Tensor) -> int:
    return out.numel() * m.kernel_size


COUNTERS: list[tuple[type, Callable[..., int]]] = [
    (nn.modules.conv._ConvNd, _conv_macs),
    (nn.Linear, _linear_macs),
    (nn.RNNBase, _rnn_macs),
    (MultiHeadAttention, _attention_macs),
    (SincConv, _sinc_macs),
]


class count_macs:  # noqa: N801 - used as a context manager, named like a function
    """Count the MACs of every forward pass through ``module`` while the context is open.

    Examples:
        >>> lin = nn.Linear(8, 4)
        >>> with count_macs(lin) as counter:
        ...     _ = lin(torch.zeros(3, 8))
        >>> counter.total
        96
    """

    def __init__(self, module: nn.Module):
        self.module, self.total, self._hooks = module, 0, []

    def __enter__(self) -> count_macs:
        for m in self.module.modules():
            for cls, fn in COUNTERS:
                if isinstance(m, cls):
                    self._hooks.append(m.register_forward_hook(self._hook(fn)))
                    break
        return self

    def _hook(self, fn: Callable[..., int]) -> Callable:
        def hook(m: nn.Module, inputs: tuple, out: object) -> None:
            self.total += int(fn(m, inputs, out))

        return hook

    def __exit__(self, *exc: object) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks.clear()


@dataclass(frozen=True)
class SummaryRow:
    """One line of a model summary: shapes exclude the batch; MACs are for one input item.

    ``part`` names the part of a multi-part model the layer belongs to (``None`` otherwise).
    """

    index: int
    name: str
    arguments: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    part: str | None = None


def _value(v: object) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_value(x) for x in v) + "]"
    return str(v)


def _arguments(step: Step) -> str:
    """The arguments as written, with ``$variables`` replaced by their values."""
    return ", ".join(
        f"{k}={_value(step.kwargs.get(k, v))}" for k, v in step.given.items() if k != "condition"
    )


@torch.no_grad()
def summarize(model: LayerModel | ModelParts) -> list[SummaryRow]:
    """Run one dummy item through ``model`` (eval mode) and return one row per layer.

    Args:
        model: a model from :func:`~mir101.models.build_model`.

    Returns:
        one :class:`SummaryRow` per item of the layer list, in order; for a multi-part model,
        the rows of each part in turn (``row.part`` says which; indices restart at 0).
    """
    if isinstance(model, ModelParts):
        return [row for name, part in model.parts.items() for row in _summarize_list(part, name)]
    return _summarize_list(model)


def _summarize_list(model: LayerModel, part: str | None = None) -> list[SummaryRow]:
    x, saved = dummy_inputs(model.input_shape, model.input_dtype, model.conditions)
    was_training = model.training
    model.eval()
    rows = []
    try:
        with quiet_dummy_pass():
            for i, (step, module) in enumerate(zip(model.steps, model.net)):
                with count_macs(module) as counter:
                    y = run_step(step, module, x, saved)
                x = y.output if isinstance(y, BrickOutput) else y
                params = sum(p.numel() for p in module.parameters())
                args = "" if step.is_skip else _arguments(step)
                if step.ref is not None and not step.is_skip:
                    args = f"condition={step.ref}" + (", " if args else "") + args
                name = f"{step.name} {step.ref}" if step.is_skip else step.name
                rows.append(SummaryRow(i, name, args, tuple(x.shape[1:]), params, counter.total, part))
    finally:
        model.train(was_training)
    return rows


def _si(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:.0f}"


def _table(rows: list[SummaryRow]) -> list[str]:
    """The rows as aligned lines: index, layer, arguments, output shape, parameters, MACs."""
    table = [("#", "layer", "arguments", "output shape", "params", "MACs")]
    for r in rows:
        args = r.arguments if len(r.arguments) <= 60 else r.arguments[:57] + "..."
        table.append((str(r.index), r.name, args, str(r.output_shape), f"{r.params:,}", f"{r.macs:,}"))
    widths = [max(len(row[c]) for row in table) for c in range(6)]
    right = {0, 4, 5}
    return [
        "  "
        + "  ".join(
            cell.rjust(w) if c in right else cell.ljust(w) for c, (cell, w) in enumerate(zip(row, widths))
        ).rstrip()
        for row in table
    ]


def format_summary(
    model: LayerModel | ModelParts, rows: list[SummaryRow] | None = None, title: str | None = None
) -> str:
    """The summary as a text table: index, layer, arguments, output shape, parameters, MACs, and totals.

    A multi-part model prints one table per part, headed by the part's name, what it reads, its
    input and output shapes, parameters and MACs; then the totals.

    Examples:
        >>> from mir101.models import build_model
        >>> print(format_summary(build_model([{"linear": {"out_features": 2}}], (3,))))  # doctest: +NORMALIZE_WHITESPACE
        input (3,) -> output (2,)
          #  layer   arguments       output shape  params  MACs
          0  linear  out_features=2  (2,)               8     6
        total: 8 parameters (8 trainable), 6 MACs per input item
    """
    rows = summarize(model) if rows is None else rows
    lines = [] if title is None else [title]
    if isinstance(model, ModelParts):
        lines.append(f"input {model.input_shape} -> output {model.output_shape} ({' -> '.join(model.chain)})")
        for name, part in model.parts.items():
            own = [r for r in rows if r.part == name]
            source = "the model input" if model.sources[name] == "input" else f"'{model.sources[name]}'"
            params = sum(p.numel() for p in part.parameters())
            lines.append(
                f"part '{name}': reads {source}, input {part.input_shape} -> output {part.output_shape}, "
                f"{params:,} parameters, {_si(sum(r.macs for r in own))} MACs"
            )
            lines.extend(_table(own))
    else:
        lines.append(f"input {model.input_shape} -> output {model.output_shape}")
        lines.extend(_table(rows))
    n_params = sum(p.numel() for p in model.parameters())
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    macs = sum(r.macs for r in rows)
    each = " (each part run once)" if isinstance(model, ModelParts) else ""
    lines.append(
        f"total: {n_params:,} parameters ({n_train:,} trainable), {_si(macs)} MACs per input item{each}"
    )
    return "\n".join(lines)


def receptive_field(
    module: nn.Module,
    input_shape: tuple[int, ...],
    position: tuple[int, ...] | None = None,
    n_items: int = 4,
    seed: int = 0,
) -> Tensor:
    """Which input bins one output position depends on: ``|d y[:, :, position] / d x|``.

    The gradient of one output position (summed over output channels) with respect to random
    inputs, in eval mode (so that batch norm does not mix the items), summed over items and
    input channels; its non-zero support is the receptive field.

    Args:
        module: any module (a brick, a :class:`LayerModel`).
        input_shape: one input item's shape, batch excluded: ``(channels, freq, time)`` or
            ``(channels, time)``.
        position: the output position along the axes after the channels (default: the centre);
            ignored for an output ``(batch, features)`` without such axes.
        n_items: random items averaged, so that no unit is inactive for all of them.
        seed: seed of the random items.

    Returns:
        a map of shape ``input_shape[1:]`` (``(freq, time)`` or ``(time,)``), zero outside the field.

    Examples:
        >>> from mir101.bricks import CausalConv1d
        >>> field = receptive_field(CausalConv1d(kernel_size=3, dilation=2), (1, 20), position=(10,))
        >>> field.nonzero().flatten().tolist()
        [6, 8, 10]
    """
    probe = copy.deepcopy(module).eval()  # a copy: the caller's module keeps its mode and buffers
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn((n_items, *input_shape), generator=generator, requires_grad=True)
    with quiet_dummy_pass():
        y = probe(x)
    if y.dim() > 2:
        position = tuple(s // 2 for s in y.shape[2:]) if position is None else tuple(position)
        y = y[(slice(None), slice(None), *position)]
    y.sum().backward()
    return x.grad.abs().sum(dim=(0, 1)).float()
