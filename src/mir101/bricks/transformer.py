"""Transformer encoder and causal decoder (pre-norm), with absolute or rotary positions and a key/value cache.

Paper: Vaswani et al., "Attention Is All You Need", NeurIPS 2017, https://arxiv.org/abs/1706.03762
(pre-norm placement: Xiong et al., "On Layer Normalization in the Transformer Architecture",
ICML 2020, https://arxiv.org/abs/2002.04745)

Each frame's output is a weighted mean of all frames' values, with weights from query-key
similarity; an encoder lets every frame see every other, a decoder only the past (causal mask),
which is what makes it a generator: predict frame ``t + 1`` from frames ``0..t``.

Generating ``T`` frames by re-running the decoder on the whole prefix costs ``O(T^2)`` layer
passes. A :class:`KVCache` keeps the keys and values of the frames already seen, so each new
frame is one pass over one frame: the logits are the same (a test checks it), only faster.

Einstein legend: ``B`` batch, ``T`` time (frames or tokens), ``H`` heads, ``D`` features per head.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim
from mir101.bricks.positions import RotaryEmbedding, is_rotary, make_positions
from mir101.bricks.sampling import sample_logits
from mir101.errors import ParameterError

__all__ = [
    "LayerKV",
    "KVCache",
    "MultiHeadAttention",
    "TransformerBlock",
    "TransformerEncoder",
    "TransformerDecoder",
]


@dataclass
class LayerKV:
    """The keys and values one attention layer has seen, each ``(B, H, T, D)`` (``None`` when empty).

    They live in buffers that double in length when full, so appending one frame costs a copy of
    that frame, not of all the frames so far; ``keys`` and ``values`` are views of the filled part.
    """

    keys: Tensor | None = None
    values: Tensor | None = None
    _buffers: tuple[Tensor, Tensor] | None = field(default=None, repr=False)

    @property
    def length(self) -> int:
        return 0 if self.keys is None else self.keys.shape[2]

    def append(self, keys: Tensor, values: Tensor) -> tuple[Tensor, Tensor]:
        """Add the new frames' keys and values; return all of them so far."""
        n, m = self.length, self.length + keys.shape[2]
        if (
            self._buffers is None
            or m > self._buffers[0].shape[2]
            or self._buffers[0].shape[:2] != keys.shape[:2]
        ):
            capacity = max(m, 2 * n, 16)
            shape = (*keys.shape[:2], capacity, keys.shape[3])
            k_buf, v_buf = keys.new_empty(shape), values.new_empty((*shape[:3], values.shape[3]))
            if n:
                k_buf[:, :, :n], v_buf[:, :, :n] = self.keys, self.values
            self._buffers = (k_buf, v_buf)
        k_buf, v_buf = self._buffers
        k_buf[:, :, n:m], v_buf[:, :, n:m] = keys, values
        self.keys, self.values = k_buf[:, :, :m], v_buf[:, :, :m]
        return self.keys, self.values


@dataclass
class KVCache:
    """One :class:`LayerKV` per decoder layer; ``length`` is the number of frames already decoded."""

    layers: list[LayerKV] = field(default_factory=list)

    @property
    def length(self) -> int:
        return self.layers[0].length if self.layers else 0


class MultiHeadAttention(Brick):
    """Multi-head scaled dot-product self-attention, optionally causal, rotary and cached.

    Args:
        d_model: features per frame (a multiple of ``n_heads``).
        n_heads: attention heads; each has ``d_model // n_heads`` features.
        dropout: dropout on the attention weights (training only).
        causal: frame ``t`` attends only to frames ``<= t``.
        rope: rotate queries and keys with :class:`RotaryEmbedding` (relative positions).
        bias: biases in the projections.

    Shape:
        - input: ``(batch, time, d_model)``
        - output: ``(batch, time, d_model)``

    Examples:
        >>> MultiHeadAttention(d_model=32, n_heads=4, causal=True)(torch.zeros(2, 10, 32)).shape
        torch.Size([2, 10, 32])
    """

    def __init__(
        self,
        *,
        d_model: int = 128,
        n_heads: int = 4,
        dropout: float = 0.0,
        causal: bool = False,
        rope: bool = False,
        bias: bool = True,
    ):
        super().__init__()
        if d_model % n_heads:
            raise ParameterError(f"d_model={d_model} must be a multiple of n_heads={n_heads}")
        self.n_heads, self.head_dim = n_heads, d_model // n_heads
        self.causal, self.dropout = causal, dropout
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out = nn.Linear(d_model, d_model, bias=bias)
        self.rope = RotaryEmbedding(head_dim=self.head_dim) if rope else None

    def forward(self, x: Tensor, cache: LayerKV | None = None) -> Tensor:
        check_ndim(x, 3, "(batch, time, features)", "MultiHeadAttention")
        B, T, _ = x.shape
        offset = cache.length if cache is not None else 0
        q, k, v = (
            self.qkv(x).view(B, T, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        )  # 3 x (B, H, T, D)
        if self.rope is not None:
            q, k = self.rope(q, offset), self.rope(k, offset)
        if cache is not None:
            k, v = cache.append(k, v)
        mask, is_causal = None, False
        if self.causal and offset == 0:
            is_causal = T > 1
        elif self.causal and T > 1:  # new frames see the cache and the new frames up to themselves
            mask = torch.ones(T, k.shape[2], dtype=torch.bool, device=x.device).tril(diagonal=offset)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0, is_causal=is_causal
        )
        return self.out(y.transpose(1, 2).reshape(B, T, -1))


class TransformerBlock(Brick):
    """Pre-norm transformer layer: ``x + attn(norm(x))``, then ``x + mlp(norm(x))``.

    Args:
        d_model: features per frame.
        n_heads: attention heads.
        ff_mult: hidden width of the feed-forward MLP, as a multiple of ``d_model``.
        dropout: dropout on attention weights and after each sub-layer.
        causal: causal self-attention (decoder).
        rope: rotary positions inside the attention.

    Shape:
        - input: ``(batch, time, d_model)``
        - output: ``(batch, time, d_model)``

    Examples:
        >>> TransformerBlock(d_model=32, n_heads=4)(torch.zeros(2, 10, 32)).shape
        torch.Size([2, 10, 32])
    """

    def __init__(
        self,
        *,
        d_model: int = 128,
        n_heads: int = 4,
        ff_mult: int = 4,
        dropout: float = 0.0,
        causal: bool = False,
        rope: bool = False,
    ):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(
            d_model=d_model, n_heads=n_heads, dropout=dropout, causal=causal, rope=rope
        )
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, ff_mult * d_model), nn.GELU(), nn.Linear(ff_mult * d_model, d_model)
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, cache: LayerKV | None = None) -> Tensor:
        x = x + self.drop(self.attn(self.norm1(x), cache))
        return x + self.drop(self.mlp(self.norm2(x)))


class TransformerEncoder(Brick):
    """A stack of non-causal pre-norm :class:`TransformerBlock` with positions and a final LayerNorm.

    Args:
        d_model: features per frame (the input's last axis).
        n_heads: attention heads.
        n_layers: transformer blocks.
        ff_mult: feed-forward width multiple.
        dropout: dropout probability.
        positions: a name of :data:`~mir101.bricks.positions.POSITIONS` (``"sinusoidal"``,
            ``"learned"``, ``"rope"``) or ``None`` (order-blind).
        max_len: longest sequence, for ``"learned"`` positions.

    Shape:
        - input: ``(batch, time, d_model)``
        - output: ``(batch, time, d_model)``

    Examples:
        >>> TransformerEncoder(d_model=32, n_layers=2, positions="rope")(torch.zeros(2, 10, 32)).shape
        torch.Size([2, 10, 32])
    """

    def __init__(
        self,
        *,
        d_model: int = 128,
        n_heads: int = 4,
        n_layers: int = 2,
        ff_mult: int = 4,
        dropout: float = 0.0,
        positions: str | None = "sinusoidal",
        max_len: int = 1024,
    ):
        super().__init__()
        self.positions = make_positions(positions, d_model=d_model, max_len=max_len)
        block = dict(
            d_model=d_model, n_heads=n_heads, ff_mult=ff_mult, dropout=dropout, rope=is_rotary(positions)
        )
        self.blocks = nn.ModuleList(TransformerBlock(**block) for _ in range(n_layers))
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 3, "(batch, time, features)", "TransformerEncoder")
        if self.positions is not None:
            x = self.positions(x)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


class TransformerDecoder(Brick):
    """A causal transformer for generation: next-frame (or next-token) prediction with a key/value cache.

    With ``vocab_size``, the input is token indices and the output logits over the vocabulary
    (e.g. codec tokens); without, the input and output are ``d_model`` features per frame.

    Args:
        d_model: features per frame.
        n_heads: attention heads.
        n_layers: transformer blocks.
        ff_mult: feed-forward width multiple.
        dropout: dropout probability.
        positions: a name of :data:`~mir101.bricks.positions.POSITIONS` (``"sinusoidal"``,
            ``"learned"``, ``"rope"``) or ``None``.
        max_len: longest sequence, for ``"learned"`` positions.
        vocab_size: number of tokens (embedding in, logits out), or ``None`` for features.

    Shape:
        - input: ``(batch, time)`` token indices with ``vocab_size``, else ``(batch, time, d_model)``
        - output: ``(batch, time, vocab_size)`` logits with ``vocab_size``, else ``(batch, time, d_model)``

    Examples:
        >>> dec = TransformerDecoder(d_model=32, n_layers=2, vocab_size=50, positions="rope")
        >>> dec(torch.zeros(2, 10, dtype=torch.long)).shape
        torch.Size([2, 10, 50])
        >>> cache = dec.new_cache()
        >>> dec(torch.zeros(2, 10, dtype=torch.long), cache).shape, cache.length
        (torch.Size([2, 10, 50]), 10)
        >>> dec.generate(torch.zeros(2, 3, dtype=torch.long), n_steps=5, temperature=0).shape
        torch.Size([2, 8])
    """

    def __init__(
        self,
        *,
        d_model: int = 128,
        n_heads: int = 4,
        n_layers: int = 2,
        ff_mult: int = 4,
        dropout: float = 0.0,
        positions: str | None = "rope",
        max_len: int = 1024,
        vocab_size: int | None = None,
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model) if vocab_size else None
        self.positions = make_positions(positions, d_model=d_model, max_len=max_len)
        block = dict(
            d_model=d_model, n_heads=n_heads, ff_mult=ff_mult, dropout=dropout, rope=is_rotary(positions)
        )
        self.blocks = nn.ModuleList(TransformerBlock(causal=True, **block) for _ in range(n_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size) if vocab_size else None

    def new_cache(self) -> KVCache:
        """An empty cache to pass to successive calls of :meth:`forward`."""
        return KVCache([LayerKV() for _ in self.blocks])

    def forward(self, x: Tensor, cache: KVCache | None = None) -> Tensor:
        offset = cache.length if cache is not None else 0
        if self.embedding is not None:
            check_ndim(x, 2, "(batch, time) token indices", "TransformerDecoder")
            x = self.embedding(x)
        check_ndim(x, 3, "(batch, time, features)", "TransformerDecoder")
        if self.positions is not None:
            x = self.positions(x, offset)
        for i, block in enumerate(self.blocks):
            x = block(x, cache.layers[i] if cache is not None else None)
        x = self.norm(x)
        return self.head(x) if self.head is not None else x

    @torch.no_grad()
    def generate(
        self,
        prompt: Tensor,
        n_steps: int,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        top_k: int | None = None,
        top_p: float | None = None,
        use_cache: bool = True,
    ) -> Tensor:
        """Continue token sequences by ``n_steps`` tokens, one cached pass per token.

        Args:
            prompt: ``(batch, time)`` token indices (at least one).
            n_steps: how many tokens to add.
            temperature: ``0`` picks the most likely token; otherwise sample from ``softmax(logits / temperature)``.
            generator: random generator for sampling.
            top_k, top_p: truncate the distribution first (:func:`~mir101.bricks.sampling.filter_logits`).
            use_cache: one pass over the new token with the :class:`KVCache` (``False``: re-run the
                whole sequence at every step; same tokens, ``O(T^2)`` work).

        Returns:
            ``(batch, time + n_steps)`` token indices, the prompt first.
        """
        if self.embedding is None:
            raise ParameterError("generate() needs a decoder built with vocab_size (token in, logits out)")
        cache, tokens, step = (self.new_cache() if use_cache else None), prompt, prompt
        for _ in range(n_steps):
            logits = (self(step, cache) if use_cache else self(tokens))[:, -1]
            step = sample_logits(logits, temperature, top_k, top_p, generator)[:, None]
            tokens = torch.cat([tokens, step], dim=1)
        return tokens
