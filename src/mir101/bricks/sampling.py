"""Sampling the next token from logits: temperature, top-k and nucleus (top-p) truncation.

Paper: Holtzman, Buys, Du, Forbes & Choi, "The Curious Case of Neural Text Degeneration", ICLR
2020, https://arxiv.org/abs/1904.09751 (nucleus sampling; top-k: Fan, Lewis & Dauphin,
"Hierarchical Neural Story Generation", ACL 2018, https://arxiv.org/abs/1805.04833)

An autoregressive model gives a distribution over the next token. Taking the most likely token
(``temperature=0``) repeats itself; sampling from the whole distribution wanders into the
unreliable tail. Dividing the logits by a temperature sharpens (< 1) or flattens (> 1) it; top-k
keeps the ``k`` most likely tokens; top-p keeps the smallest set whose probability reaches ``p``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mir101.errors import ParameterError

__all__ = ["filter_logits", "sample_logits"]


def filter_logits(logits: Tensor, top_k: int | None = None, top_p: float | None = None) -> Tensor:
    """Set the logits outside the top-k / top-p set to ``-inf`` (the most likely token always stays).

    Args:
        logits: ``(..., vocab)``.
        top_k: keep the ``top_k`` largest logits (``None`` or 0: all).
        top_p: keep the smallest set of most likely tokens whose probability sum reaches ``top_p``
            (``None`` or 1: all).

    Returns:
        ``(..., vocab)`` logits with the dropped tokens at ``-inf``.

    Examples:
        >>> filter_logits(torch.tensor([1.0, 3.0, 2.0]), top_k=2)
        tensor([-inf, 3., 2.])
        >>> filter_logits(torch.log(torch.tensor([0.5, 0.3, 0.2])), top_p=0.7).isinf().tolist()
        [False, False, True]
    """
    if top_k is not None and top_k < 0:
        raise ParameterError(f"top_k={top_k} must be a positive number of tokens (or 0 / None: all)")
    if top_p is not None and not 0 < top_p <= 1:
        raise ParameterError(f"top_p={top_p} must be a probability in (0, 1]")
    if top_k and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        drop_sorted = cumulative - sorted_logits.softmax(dim=-1) >= top_p  # mass before this token
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def sample_logits(
    logits: Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Draw one token per row of ``(..., vocab)`` logits; ``temperature=0`` takes the argmax.

    Returns:
        ``(...)`` token indices (long).

    Examples:
        >>> sample_logits(torch.tensor([[0.0, 5.0, 1.0]]), temperature=0)
        tensor([1])
        >>> g = torch.Generator().manual_seed(0)
        >>> sample_logits(torch.tensor([[0.0, 5.0, 1.0]]), top_k=1, generator=g)
        tensor([1])
    """
    if temperature < 0:
        raise ParameterError(f"temperature={temperature} must be >= 0 (0: the most likely token)")
    if temperature == 0:
        return logits.argmax(dim=-1)
    probs = filter_logits(logits / temperature, top_k, top_p).softmax(dim=-1)
    flat = probs.reshape(-1, probs.shape[-1])
    return torch.multinomial(flat, 1, generator=generator).view(probs.shape[:-1])
