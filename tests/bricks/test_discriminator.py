"""Multi-scale STFT discriminator: one logit map per scale, features for matching, gradients to the audio."""

from __future__ import annotations

import pytest
import torch

from mir101.bricks.discriminator import DiscriminatorOutput, MultiScaleSTFTDiscriminator, STFTDiscriminator
from mir101.errors import ParameterError, ShapeError
from mir101.models import build_model


def test_scales_logits_and_features():
    d = MultiScaleSTFTDiscriminator(fft_sizes=(256, 128, 64), filters=4)
    r = d(torch.randn(3, 1, 2000))
    assert isinstance(r, DiscriminatorOutput) and len(r.logits) == 3 and len(r.features) == 15
    assert r.output.shape == (3, sum(lg[0].numel() for lg in r.logits))
    assert all(lg.shape[:2] == (3, 1) for lg in r.logits)
    assert d(torch.randn(3, 2000)).output.shape == r.output.shape  # (batch, samples) too


def test_the_gradient_reaches_the_audio_and_get_config_rebuilds():
    d = STFTDiscriminator(n_fft=128, filters=4)
    x = torch.randn(2, 1, 1000, requires_grad=True)
    d(x).output.sum().backward()
    assert x.grad.abs().sum() > 0
    clone = STFTDiscriminator(**d.get_config())
    clone.load_state_dict(d.state_dict())
    torch.testing.assert_close(clone(x).output, d(x).output)


def test_it_is_a_yaml_part():
    model = build_model(
        {
            "parts": {
                "decoder": [{"conv1d": {"out_channels": 1, "kernel_size": 3, "padding": 1}}],
                "discriminator": {
                    "input": "input",
                    "layers": [{"multiscalestftdiscriminator": {"fft_sizes": [64], "filters": 2}}],
                },
            }
        },
        (1, 800),
    )
    assert model.discriminator(torch.randn(2, 1, 800)).dim() == 2


def test_errors():
    with pytest.raises(ParameterError, match="fft_sizes"):
        MultiScaleSTFTDiscriminator(fft_sizes=())
    with pytest.raises(ShapeError, match=r"\(batch, 1, samples\)"):
        STFTDiscriminator(n_fft=64)(torch.randn(2, 2, 500))
