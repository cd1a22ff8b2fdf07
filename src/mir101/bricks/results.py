"""What a brick returns when one tensor is not enough: the tensor the next layer takes, plus its loss terms.

Paper (its first user, the VQ-VAE bottleneck): van den Oord, Vinyals & Kavukcuoglu, "Neural
Discrete Representation Learning", NeurIPS 2017, https://arxiv.org/abs/1711.00937

A bottleneck (vector quantiser, VAE) gives the next layer its output but also values a
training paradigm needs: auxiliary losses (commitment, KL), codes, perplexity. Such a brick
returns a dataclass deriving from :class:`BrickOutput` (as audiocraft's ``QuantizedResult``
does); the model factory passes ``.output`` on, records the shapes from it, and gathers every
``losses`` entry (``model(x, return_results=True).losses``).

Book: "Models from YAML".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor

__all__ = ["BrickOutput"]


@dataclass
class BrickOutput:
    """The result of a brick that returns more than one tensor.

    Subclass it to add fields (``codes``, ``perplexity``, ``kl``...); keep ``output`` the tensor
    the next layer receives and put every term to add to the training loss in ``losses``.

    Args:
        output: the tensor the next layer receives, e.g. ``(batch, channels, time)``.
        losses: auxiliary loss terms by name, each a scalar tensor (weighted by the brick
            itself, so a paradigm can add them as they are).

    Examples:
        >>> import torch
        >>> result = BrickOutput(torch.zeros(2, 4), {"commitment": torch.tensor(0.5)})
        >>> result.output.shape, float(result.losses["commitment"])
        (torch.Size([2, 4]), 0.5)
    """

    output: Tensor
    losses: dict[str, Tensor] = field(default_factory=dict)
