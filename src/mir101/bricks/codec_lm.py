"""A causal Transformer over the tokens of a residual-VQ codec, conditioned by class tokens, with a KV cache.

Papers: Borsos et al., "AudioLM: a Language Modeling Approach to Audio Generation", 2022,
https://arxiv.org/abs/2209.03143 (tokens of a neural codec, flattened frame by frame and codebook
by codebook); Copet et al., "Simple and Controllable Music Generation" (MusicGen), NeurIPS 2023,
https://arxiv.org/abs/2306.05284 (the delay pattern); Vaswani et al., "Attention Is All You Need",
2017, https://arxiv.org/abs/1706.03762.

An RVQ codec gives ``K`` tokens per frame (codebook ``k`` codes what codebooks ``< k`` missed).
A *pattern* lays the ``(K, T)`` grid out as a sequence of steps, each step holding some of the
``K`` tokens (the others "empty"):

- ``flatten``: ``T * K`` steps, one token each: ``t0q0, t0q1, ..., t0q(K-1), t1q0, ...``; exact
  (every token sees every earlier one) but ``K`` times longer;
- ``delay``: ``T + K - 1`` steps; step ``s`` holds token ``(k, s - k)`` of every codebook ``k``:
  codebook ``k`` is delayed by ``k`` frames, so a frame's fine codebooks are predicted after its
  coarse ones, in parallel with later frames' coarse ones: ``K`` times shorter.

The model embeds a step as the sum of its ``K`` token embeddings (an empty token has its own),
prepends one token per condition (pitch, instrument family), and predicts every token of the next
step with one softmax head per codebook. Generation runs one step at a time with a
:class:`~mir101.bricks.transformer.KVCache`: the same tokens as re-running the whole sequence (a
test checks it), ``O(S)`` instead of ``O(S^2)`` work.

Einstein legend: ``B`` batch, ``K`` codebooks, ``T`` frames, ``S`` steps, ``V`` codebook size,
``C`` conditions.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mir101.bricks._base import Brick
from mir101.bricks.sampling import sample_logits
from mir101.bricks.transformer import KVCache, LayerKV, TransformerBlock
from mir101.errors import ParameterError, ShapeError
from mir101.utils.registry import Registry

__all__ = ["CodecPattern", "PATTERNS", "CodecTransformer"]


class CodecPattern:
    """How ``(K, T)`` codes become ``(S, K)`` steps (``empty`` where a step holds no token of a codebook).

    Args:
        n_codebooks: ``K``.
        n_frames: ``T``.
        delay: ``True`` for MusicGen's delay pattern, ``False`` to flatten.

    Examples:
        >>> codes = torch.arange(6).view(1, 2, 3)         # K=2 codebooks, T=3 frames
        >>> CodecPattern(2, 3, delay=True).to_steps(codes, empty=-1)[0].tolist()
        [[0, -1], [1, 3], [2, 4], [-1, 5]]
        >>> CodecPattern(2, 3, delay=False).to_steps(codes, empty=-1)[0].tolist()
        [[0, -1], [-1, 3], [1, -1], [-1, 4], [2, -1], [-1, 5]]
    """

    def __init__(self, n_codebooks: int, n_frames: int, delay: bool):
        self.K, self.T, self.delay = int(n_codebooks), int(n_frames), bool(delay)
        self.n_steps = self.T + self.K - 1 if delay else self.T * self.K
        s = torch.arange(self.n_steps)[:, None]
        k = torch.arange(self.K)[None, :]
        if delay:
            frame = s - k
            self.mask = (frame >= 0) & (frame < self.T)  # (S, K): which tokens a step holds
            self.frame = frame.clamp(0, self.T - 1)
        else:
            self.mask = (s % self.K) == k
            self.frame = (s // self.K).expand(-1, self.K)
        #: the codebook a flattened step predicts (0 for the delay pattern: every step predicts all)
        self.slot = (s[:, 0] % self.K) if not delay else torch.zeros(self.n_steps, dtype=torch.long)

    def to_steps(self, codes: Tensor, empty: int) -> Tensor:
        """``(B, K, T)`` codes -> ``(B, S, K)`` steps, ``empty`` where a step holds no token."""
        if codes.dim() != 3 or codes.shape[1:] != (self.K, self.T):
            raise ShapeError(f"codes must be (batch, {self.K}, {self.T}), got {tuple(codes.shape)}")
        k = torch.arange(self.K, device=codes.device)[None, :].expand(self.n_steps, -1)
        steps = codes[:, k, self.frame.to(codes.device)]  # (B, S, K)
        return steps.masked_fill(~self.mask.to(codes.device), empty)

    def from_steps(self, steps: Tensor) -> Tensor:
        """``(B, S, K)`` steps -> ``(B, K, T)`` codes (the inverse of :meth:`to_steps`)."""
        B = steps.shape[0]
        codes = torch.zeros(B, self.K, self.T, dtype=steps.dtype, device=steps.device)
        s_idx, k_idx = self.mask.nonzero(as_tuple=True)
        codes[:, k_idx, self.frame[s_idx, k_idx]] = steps[:, s_idx, k_idx]
        return codes


def _flatten(n_codebooks: int, n_frames: int) -> CodecPattern:
    return CodecPattern(n_codebooks, n_frames, delay=False)


def _delay(n_codebooks: int, n_frames: int) -> CodecPattern:
    return CodecPattern(n_codebooks, n_frames, delay=True)


#: token layouts by name (``pattern="delay"``): factories ``(n_codebooks, n_frames) -> CodecPattern``
PATTERNS: Registry = Registry("pattern")
PATTERNS.add("flatten", _flatten)
PATTERNS.add("delay", _delay)


class CodecTransformer(Brick):
    """Causal pre-norm Transformer (rotary positions) over codec tokens, with class-token conditioning.

    Args:
        n_codebooks: ``K``, codebooks per frame (the first ``K`` of the RVQ).
        codebook_size: ``V``, codes per codebook.
        n_frames: ``T``, frames per generated item.
        pattern: a name of :data:`PATTERNS` (``"flatten"``, ``"delay"``).
        n_classes: classes of each condition (e.g. ``(128, 11)`` for MIDI pitch and family); each
            gets one more "no condition" class, index ``n_classes[i]``.
        d_model, n_heads, n_layers, ff_mult, dropout: the Transformer's sizes.

    Shape:
        - steps: ``(B, S, K)`` long, from :meth:`CodecPattern.to_steps` with ``empty = V``
        - conditions: ``(B, C)`` long
        - output: ``(B, S, K, V)`` logits; step ``s`` is predicted from the conditions and steps ``< s``

    Examples:
        >>> lm = CodecTransformer(n_codebooks=2, codebook_size=8, n_frames=3, n_classes=(4,), d_model=16, n_layers=1)
        >>> steps = lm.pattern.to_steps(torch.zeros(2, 2, 3, dtype=torch.long), empty=8)
        >>> lm(steps, torch.zeros(2, 1, dtype=torch.long)).shape
        torch.Size([2, 6, 2, 8])
        >>> lm.generate(torch.zeros(2, 1, dtype=torch.long), temperature=0).shape  # (B, K, T) codes
        torch.Size([2, 2, 3])

    References:
        Copet et al., "Simple and Controllable Music Generation", 2023, https://arxiv.org/abs/2306.05284
    """

    def __init__(
        self,
        *,
        n_codebooks: int = 4,
        codebook_size: int = 1024,
        n_frames: int = 50,
        pattern: str = "flatten",
        n_classes: tuple[int, ...] = (128,),
        d_model: int = 128,
        n_heads: int = 4,
        n_layers: int = 4,
        ff_mult: int = 4,
        dropout: float = 0.0,
    ):
        super().__init__()
        if min(n_codebooks, codebook_size, n_frames) < 1:
            raise ParameterError(
                f"n_codebooks={n_codebooks}, codebook_size={codebook_size}, n_frames={n_frames} must be >= 1"
            )
        self.pattern: CodecPattern = PATTERNS.get(pattern)(n_codebooks, n_frames)
        self.K, self.V, self.n_classes = n_codebooks, codebook_size, tuple(int(n) for n in n_classes)
        self.conditions = nn.ModuleList(nn.Embedding(n + 1, d_model) for n in self.n_classes)
        self.tokens = nn.ModuleList(nn.Embedding(codebook_size + 1, d_model) for _ in range(n_codebooks))
        self.slots = nn.Embedding(n_codebooks, d_model)  # which codebook the next step holds
        self.blocks = nn.ModuleList(
            TransformerBlock(
                d_model=d_model, n_heads=n_heads, ff_mult=ff_mult, dropout=dropout, causal=True, rope=True
            )
            for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_codebooks * codebook_size)

    @property
    def n_steps(self) -> int:
        return self.pattern.n_steps

    def new_cache(self) -> KVCache:
        return KVCache([LayerKV() for _ in self.blocks])

    # ------------------------------------------------------------------ embedding
    def _condition_tokens(self, conditions: Tensor) -> Tensor:
        if conditions.dim() != 2 or conditions.shape[1] != len(self.conditions):
            raise ShapeError(
                f"conditions must be (batch, {len(self.conditions)}) class indices, got {tuple(conditions.shape)}"
            )
        return torch.stack([emb(conditions[:, i]) for i, emb in enumerate(self.conditions)], dim=1)

    def _step_tokens(self, steps: Tensor) -> Tensor:
        """``(B, S, K)`` -> ``(B, S, D)``: the sum of the K token embeddings of each step."""
        return sum(emb(steps[..., k]) for k, emb in enumerate(self.tokens))  # type: ignore[return-value]

    def _run(self, x: Tensor, cache: KVCache | None) -> Tensor:
        for i, block in enumerate(self.blocks):
            x = block(x, cache.layers[i] if cache is not None else None)
        return self.norm(x)

    def _logits(self, h: Tensor) -> Tensor:
        return self.head(h).unflatten(-1, (self.K, self.V))

    def _sequence(self, conditions: Tensor, steps: Tensor) -> Tensor:
        """Conditions then the embedded ``steps`` (all but the last are inputs), plus the slot each
        position predicts: ``(B, C + n, D)`` for ``n`` given steps."""
        x = torch.cat([self._condition_tokens(conditions), self._step_tokens(steps)], dim=1)
        C, n = conditions.shape[1], steps.shape[1]
        slots = self.pattern.slot[: n + 1].to(x.device)  # positions C-1 .. C+n-1 predict steps 0..n
        x[:, C - 1 :] = x[:, C - 1 :] + self.slots(slots)
        return x

    def forward(self, steps: Tensor, conditions: Tensor) -> Tensor:
        if steps.dim() != 3 or steps.shape[1:] != (self.n_steps, self.K):
            raise ShapeError(f"steps must be (batch, {self.n_steps}, {self.K}), got {tuple(steps.shape)}")
        C = conditions.shape[1]
        h = self._run(self._sequence(conditions, steps[:, :-1]), None)
        return self._logits(h[:, C - 1 :])

    # ------------------------------------------------------------------ generation
    def _sample_step(self, h: Tensor, s: int, sample: dict) -> Tensor:
        """``(B, D)`` state before step ``s`` -> its ``(B, K)`` tokens (``V`` where the step holds none).

        Only the heads of the codebooks the step holds are computed and sampled (one with
        ``flatten``, all ``K`` with ``delay``)."""
        held = self.pattern.mask[s].nonzero().flatten().tolist()
        weight = self.head.weight.view(self.K, self.V, -1)[held]  # (k, V, D)
        bias = self.head.bias.view(self.K, self.V)[held]
        logits = torch.einsum("bd,kvd->bkv", h, weight) + bias
        tokens = torch.full((h.shape[0], self.K), self.V, dtype=torch.long, device=h.device)
        tokens[:, held] = sample_logits(logits, **sample)
        return tokens

    @torch.no_grad()
    def generate(
        self,
        conditions: Tensor,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        generator: torch.Generator | None = None,
        use_cache: bool = True,
        progress: bool = False,
    ) -> Tensor:
        """Sample ``(B, K, T)`` codes for ``(B, C)`` conditions, one step at a time.

        Args:
            conditions: class indices, one column per condition.
            temperature, top_k, top_p: see :func:`~mir101.bricks.sampling.sample_logits`.
            generator: the random generator (same seed -> same tokens, with or without cache).
            use_cache: keep keys and values (one position per step) or re-run the whole sequence.
            progress: show a progress bar over the steps.
        """
        sample = dict(temperature=temperature, top_k=top_k, top_p=top_p, generator=generator)
        S = self.n_steps
        cache = self.new_cache() if use_cache else None
        steps = torch.empty(conditions.shape[0], 0, self.K, dtype=torch.long, device=conditions.device)
        h = self._run(self._sequence(conditions, steps), cache)  # the conditions
        iterator: Sequence[int] | object = range(S)
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(range(S), desc="generating", unit="step", leave=False)
        for s in iterator:  # type: ignore[attr-defined]
            step = self._sample_step(h[:, -1], s, sample)[:, None]
            steps = torch.cat([steps, step], dim=1)
            if s == S - 1:
                break
            if use_cache:
                x = self._step_tokens(step) + self.slots(self.pattern.slot[s + 1 : s + 2].to(step.device))
                h = self._run(x, cache)
            else:
                h = self._run(self._sequence(conditions, steps), None)
        return self.pattern.from_steps(steps)
