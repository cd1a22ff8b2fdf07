"""The codec-token Transformer: patterns round-trip, the KV cache gives the same tokens as full recomputation."""

from __future__ import annotations

import doctest
import importlib

import pytest
import torch

from mir101.bricks.codec_lm import PATTERNS, CodecPattern, CodecTransformer
from mir101.bricks.sampling import filter_logits, sample_logits
from mir101.bricks.transformer import TransformerDecoder
from mir101.errors import ParameterError, ShapeError, UnknownNameError


@pytest.mark.parametrize("name", ["codec_lm", "sampling", "unet1d"])
def test_docstring_examples_run(name):
    module = importlib.import_module(f"mir101.bricks.{name}")
    result = doctest.testmod(module, extraglobs={"torch": torch}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
    assert "http" in module.__doc__


@pytest.mark.parametrize("delay", [False, True])
def test_pattern_round_trip_and_one_step_per_token(delay):
    codes = torch.randint(0, 7, (3, 4, 6))
    pattern = CodecPattern(4, 6, delay=delay)
    steps = pattern.to_steps(codes, empty=7)
    assert steps.shape == (3, 6 + 3 if delay else 24, 4)
    assert int(pattern.mask.sum()) == 24  # every token exactly once
    assert torch.equal(pattern.from_steps(steps), codes)
    assert ((steps == 7) == ~pattern.mask).all()
    if delay:  # codebook k is k frames late
        assert steps[0, 2, 2] == codes[0, 2, 0] and steps[0, 2, 0] == codes[0, 0, 2]


@pytest.mark.parametrize("pattern", ["flatten", "delay"])
def test_kv_cache_gives_the_tokens_of_full_recomputation(pattern):
    torch.manual_seed(0)
    lm = CodecTransformer(
        n_codebooks=3,
        codebook_size=16,
        n_frames=6,
        pattern=pattern,
        n_classes=(12, 4),
        d_model=32,
        n_layers=2,
    ).eval()
    cond = torch.tensor([[1, 2], [11, 0], [12, 4]])  # the last: the "no condition" classes
    for kwargs in (dict(temperature=1.0), dict(temperature=0.8, top_k=5, top_p=0.9), dict(temperature=0)):
        cached = lm.generate(cond, generator=torch.Generator().manual_seed(3), **kwargs)
        full = lm.generate(cond, generator=torch.Generator().manual_seed(3), use_cache=False, **kwargs)
        assert torch.equal(cached, full), kwargs
        assert cached.shape == (3, 3, 6) and cached.min() >= 0 and cached.max() < 16
    # the logits of the cached steps are those of the teacher-forced pass
    codes = lm.generate(cond, temperature=0)
    steps = lm.pattern.to_steps(codes, empty=16)
    logits = lm(steps, cond)
    greedy = logits.argmax(-1).masked_fill(~lm.pattern.mask, 16)
    assert torch.equal(greedy, steps)  # greedy tokens re-predicted from themselves


def test_conditions_change_the_output_and_bad_shapes_fail():
    torch.manual_seed(0)
    lm = CodecTransformer(n_codebooks=2, codebook_size=8, n_frames=4, n_classes=(5,), d_model=16, n_layers=1)
    steps = lm.pattern.to_steps(torch.zeros(2, 2, 4, dtype=torch.long), empty=8)
    a, b = lm(steps, torch.tensor([[0], [0]])), lm(steps, torch.tensor([[0], [3]]))
    assert torch.equal(a[0], b[0]) and not torch.allclose(a[1], b[1])
    with pytest.raises(ShapeError, match=r"conditions must be \(batch, 1\)"):
        lm(steps, torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ShapeError, match="steps must be"):
        lm(steps[:, :3], torch.zeros(2, 1, dtype=torch.long))
    with pytest.raises(UnknownNameError, match="delay"):
        CodecTransformer(pattern="delai")
    assert PATTERNS.get("DELAY")(2, 3).n_steps == 4


def test_sampling_filters():
    logits = torch.log(torch.tensor([[0.1, 0.6, 0.3]]))
    assert filter_logits(logits, top_k=1).isinf().tolist() == [[True, False, True]]
    assert filter_logits(logits, top_p=0.8).isinf().tolist() == [[True, False, False]]
    g = torch.Generator().manual_seed(0)
    draws = sample_logits(logits.expand(2000, -1), top_k=2, generator=g)
    assert set(draws.tolist()) == {1, 2} and 0.6 < (draws == 1).float().mean() < 0.73  # 0.6 / 0.9
    for bad in (dict(top_p=0.0), dict(top_k=-1), dict(temperature=-1.0)):
        with pytest.raises(ParameterError):
            sample_logits(logits, **bad)


def test_token_decoder_generate_cache_equals_full_recomputation():
    torch.manual_seed(0)
    dec = TransformerDecoder(d_model=16, n_heads=2, n_layers=2, vocab_size=11).eval()
    prompt = torch.randint(0, 11, (2, 3))
    a = dec.generate(prompt, 8, generator=torch.Generator().manual_seed(1), top_k=4)
    b = dec.generate(prompt, 8, generator=torch.Generator().manual_seed(1), top_k=4, use_cache=False)
    assert torch.equal(a, b)
