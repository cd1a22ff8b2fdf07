"""Autoregressive training: predict each token from the ones before it (teacher forcing, cross-entropy).

Papers: Oord et al., "WaveNet: A Generative Model for Raw Audio", 2016,
https://arxiv.org/abs/1609.03499 (audio as a product of next-sample conditionals); Borsos et al.,
"AudioLM", 2022, https://arxiv.org/abs/2209.03143 and Copet et al., "MusicGen", 2023,
https://arxiv.org/abs/2306.05284 (next-token prediction over codec tokens).

The model receives the true previous tokens (teacher forcing: one parallel pass over the whole
sequence, thanks to the causal mask) and is scored by the cross-entropy of the true next token.
Only the tokens a step really holds count (a pattern's "empty" slots are masked out).

Book page: ``book/generation.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mir101.paradigms.base import System
from mir101.paradigms.batch import batch_field

__all__ = ["Autoregressive", "masked_token_cross_entropy"]


def masked_token_cross_entropy(logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Mean cross-entropy of ``(..., V)`` logits against ``(...)`` targets where ``mask`` is true.

    Examples:
        >>> logits = torch.tensor([[[0.0, 9.0]], [[9.0, 0.0]]])            # (2, 1, 2)
        >>> mask = torch.tensor([[True], [False]])
        >>> round(float(masked_token_cross_entropy(logits, torch.tensor([[1], [1]]), mask)), 4)
        0.0001
    """
    return F.cross_entropy(logits[mask], targets[mask])


class Autoregressive(System):
    """Teacher-forced cross-entropy of a codec-token model (batches ``{"codes": (B, K, T), "conditions": (B, C)}``).

    Args:
        model: a :class:`~mir101.bricks.codec_lm.CodecTransformer` (or any model with
            ``pattern``, ``V`` and ``model(steps, conditions) -> (B, S, K, V)`` logits).
        optim: the config's ``optim`` section.
    """

    def __init__(self, model: nn.Module, optim: Mapping[str, Any] | None = None):
        super().__init__(model, optim)

    def common_step(self, batch: Any, train: bool) -> dict[str, Tensor]:
        codes, cond = batch_field(batch, "codes", 0), batch_field(batch, "conditions", 1)
        pattern = self.model.pattern
        steps = pattern.to_steps(codes, empty=self.model.V)
        logits = self.model(steps, cond)
        mask = pattern.mask.to(codes.device)[None].expand(codes.shape[0], -1, -1)
        loss = masked_token_cross_entropy(logits, steps, mask)
        with torch.no_grad():
            accuracy = (logits.argmax(-1) == steps)[mask].float().mean()
        return {"loss": loss, "accuracy": accuracy}
