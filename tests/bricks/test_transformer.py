"""Positions and transformers: RoPE is relative, causal masks, KV-cached decoding equals full recomputation."""

from __future__ import annotations

import pytest
import torch

from mir101.bricks import (
    LearnedPositions,
    MultiHeadAttention,
    RotaryEmbedding,
    SinusoidalPositions,
    TransformerDecoder,
    TransformerEncoder,
)
from mir101.errors import ParameterError, ShapeError


def test_rope_scores_depend_only_on_relative_position():
    torch.manual_seed(0)
    rope = RotaryEmbedding(head_dim=16)
    q = torch.randn(1, 1, 1, 16).expand(1, 1, 12, 16)  # the same query and key at every position
    k = torch.randn(1, 1, 1, 16).expand(1, 1, 12, 16)
    for offset in (0, 7, 1000):
        scores = (rope(q, offset) @ rope(k, offset).transpose(-1, -2))[0, 0]  # (m, n)
        for d in range(-11, 12):
            diag = scores.diagonal(d)
            torch.testing.assert_close(diag, diag[:1].expand_as(diag), atol=1e-4, rtol=1e-4)
        if offset == 0:
            reference = scores
        torch.testing.assert_close(scores, reference, atol=1e-3, rtol=1e-4)
    assert not torch.allclose(scores.diagonal(1)[0], scores.diagonal(3)[0])  # but it does depend on m - n


def test_rope_preserves_norms_and_is_identity_at_position_zero():
    rope = RotaryEmbedding(head_dim=8)
    x = torch.randn(2, 3, 5, 8)
    y = rope(x)
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1))
    torch.testing.assert_close(y[:, :, 0], x[:, :, 0])


@pytest.mark.parametrize("cls", [SinusoidalPositions, LearnedPositions])
def test_absolute_positions_with_offset(cls):
    pos = cls(d_model=8)
    x = torch.zeros(1, 10, 8)
    torch.testing.assert_close(pos(x)[:, 4:], pos(x[:, 4:], offset=4))
    assert not torch.allclose(pos(x)[:, 0], pos(x)[:, 1])


def test_sinusoidal_encoding_values():
    enc = SinusoidalPositions(d_model=4).encoding(3)  # frequencies 1 and 10000 ** (-2 / 4) = 0.01
    one, hundredth = torch.tensor(1.0), torch.tensor(0.01)
    torch.testing.assert_close(enc[1], torch.stack([one.sin(), one.cos(), hundredth.sin(), hundredth.cos()]))


def test_learned_positions_refuse_too_long_sequences():
    with pytest.raises(ShapeError, match="max_len"):
        LearnedPositions(d_model=4, max_len=8)(torch.zeros(1, 9, 4))


@pytest.mark.parametrize("rope", [False, True])
def test_causal_attention_does_not_see_the_future(rope):
    attn = MultiHeadAttention(d_model=8, n_heads=2, causal=True, rope=rope)
    x = torch.randn(1, 10, 8)
    x2 = x.clone()
    x2[:, 6:] = torch.randn(1, 4, 8)
    torch.testing.assert_close(attn(x)[:, :6], attn(x2)[:, :6])
    assert not torch.allclose(attn(x)[:, 6:], attn(x2)[:, 6:])


def test_non_causal_attention_does_see_the_future():
    attn = MultiHeadAttention(d_model=8, n_heads=2)
    x = torch.randn(1, 10, 8)
    x2 = x.clone()
    x2[:, 6:] = torch.randn(1, 4, 8)
    assert not torch.allclose(attn(x)[:, :6], attn(x2)[:, :6])


@pytest.mark.parametrize("positions", ["sinusoidal", "learned", "rope", None])
def test_encoder_shapes(positions):
    enc = TransformerEncoder(d_model=16, n_heads=4, n_layers=2, positions=positions, max_len=32)
    assert enc(torch.randn(3, 20, 16)).shape == (3, 20, 16)


def test_encoder_without_positions_is_permutation_equivariant():
    enc = TransformerEncoder(d_model=8, n_heads=2, positions=None).eval()
    x = torch.randn(1, 6, 8)
    perm = torch.randperm(6)
    torch.testing.assert_close(enc(x)[:, perm], enc(x[:, perm]), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("positions", ["sinusoidal", "learned", "rope", None])
@pytest.mark.parametrize("tokens", [True, False])
def test_kv_cached_decoding_equals_full_recomputation(positions, tokens):
    torch.manual_seed(0)
    dec = TransformerDecoder(
        d_model=16, n_heads=2, n_layers=2, positions=positions, max_len=32, vocab_size=13 if tokens else None
    ).eval()
    x = torch.randint(0, 13, (2, 12)) if tokens else torch.randn(2, 12, 16)
    full = dec(x)
    cache = dec.new_cache()
    chunks = [dec(x[:, :4], cache)]  # a prompt
    chunks += [dec(x[:, t : t + 1], cache) for t in range(4, 9)]  # one frame at a time
    chunks.append(dec(x[:, 9:], cache))  # and a chunk of 3 frames after the cache
    assert cache.length == 12
    torch.testing.assert_close(torch.cat(chunks, dim=1), full, atol=1e-5, rtol=1e-5)


def test_generate_greedy_matches_argmax_of_full_pass():
    torch.manual_seed(0)
    dec = TransformerDecoder(d_model=16, n_heads=2, n_layers=2, vocab_size=7).eval()
    out = dec.generate(torch.tensor([[1, 2, 3]]), n_steps=6, temperature=0)
    assert out.shape == (1, 9) and out[0, :3].tolist() == [1, 2, 3]
    torch.testing.assert_close(dec(out[:, :-1]).argmax(-1)[:, 2:], out[:, 3:])


def test_generate_samples_with_a_generator():
    """Sampling draws from the generator given, and from it only: its seed fixes the tokens,
    another seed gives others (not the greedy ones), and the global RNG is left alone."""
    torch.manual_seed(0)
    dec = TransformerDecoder(d_model=8, n_heads=2, n_layers=1, vocab_size=7).eval()
    prompt = torch.zeros(4, 1, dtype=torch.long)

    def sample(seed: int) -> torch.Tensor:
        return dec.generate(prompt, 12, generator=torch.Generator().manual_seed(seed))

    state = torch.get_rng_state()
    a, b, c = sample(1), sample(1), sample(2)
    assert torch.equal(torch.get_rng_state(), state), "generate() drew from the global RNG"
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a, dec.generate(prompt, 12, temperature=0))  # sampled, not greedy
    assert a.shape == (4, 13) and ((a >= 0) & (a < 7)).all()


def test_bad_arguments():
    with pytest.raises(ParameterError, match="multiple"):
        MultiHeadAttention(d_model=10, n_heads=3)
    with pytest.raises(ParameterError, match="rope"):
        TransformerEncoder(d_model=8, n_heads=2, positions="alibi")
    with pytest.raises(ParameterError, match="vocab_size"):
        TransformerDecoder(d_model=8, n_heads=2).generate(torch.zeros(1, 1, 8), 2)
