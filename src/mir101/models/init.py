"""Initialisations that do not belong to one layer.

References:
    T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollar. "Focal Loss for Dense Object Detection",
    ICCV 2017 (section 4.1, "Initialization": the last layer's bias set to a prior).
"""

from __future__ import annotations

import math

from torch import nn

from mir101.models.parts import ModelParts

__all__ = ["init_output_prior"]


def init_output_prior(model: nn.Module, prior: float) -> nn.Module:
    """Set the bias of the model's last biased layer so that ``sigmoid(output)`` starts at ``prior``.

    A multi-label output where few labels are active (4 voices among 216 pitch bins) otherwise
    starts at 0.5 everywhere: the first hundreds of steps only learn that nearly every bin is off.
    Starting at the prior (bias = log(prior / (1 - prior))) skips that phase.

    Args:
        model: any network; its last ``Conv1d``/``Conv2d``/``Linear`` with a bias is changed in place
            (in a :class:`~mir101.models.parts.ModelParts`, the last part ``model(x)`` runs, not a
            side branch such as a discriminator).
        prior: the expected fraction of active outputs, in (0, 1).

    Returns:
        the model.

    Raises:
        ValueError: a prior outside (0, 1), or a model without a biased last layer.

    Examples:
        >>> import torch
        >>> net = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Conv2d(4, 1, 1))
        >>> _ = init_output_prior(net, 0.02)
        >>> round(torch.sigmoid(net[2].bias).item(), 3)
        0.02
    """
    if not 0.0 < float(prior) < 1.0:
        raise ValueError(f"the output prior must be in (0, 1), got {prior}")
    last = None
    scope = model.parts[model.chain[-1]] if isinstance(model, ModelParts) else model
    for module in scope.modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            last = module
    if last is None or last.bias is None:
        raise ValueError(
            "init_output_prior needs the model to end with a Conv1d/Conv2d/Linear layer with a bias"
        )
    nn.init.constant_(last.bias, math.log(prior / (1.0 - prior)))
    return model
