"""Properties every brick shares: get_config rebuilds it, gradients reach the input, docstring examples run."""

from __future__ import annotations

import doctest
import importlib

import pytest
import torch
from torch import nn

import mir101.bricks as B
from mir101.errors import ConfigError, ParameterError, UnknownNameError

# (brick, kwargs, input shape) — tiny sizes; every public brick appears at least once
CATALOGUE = [
    (B.WaveformConv, dict(out_channels=8, kernel_size=16, stride=8), (1, 128)),
    (B.SampleCNN, dict(channels=(4, 4, 8)), (1, 81)),
    (B.CausalConv1d, dict(in_channels=2, out_channels=4, kernel_size=3, dilation=2), (2, 20)),
    (B.WaveNet, dict(channels=4, skip_channels=4, out_channels=3, n_layers=3), (1, 20)),
    (
        B.WaveNet,
        dict(channels=4, skip_channels=4, out_channels=3, n_layers=3, kernel_size=3, causal=False),
        (1, 20),
    ),
    (B.TemporalBlock, dict(in_channels=2, out_channels=4, dilation=2), (2, 20)),
    (B.TCN, dict(in_channels=1, channels=(2, 4), kernel_size=2), (1, 20)),
    (B.SincConv, dict(out_channels=4, kernel_size=31, sample_rate=8000, stride=2), (1, 100)),
    (B.ConvBlock2d, dict(in_channels=3, out_channels=4, pool=(2, 1), dropout=0.1), (3, 8, 6)),
    (B.DepthwiseSeparableConv2d, dict(in_channels=4, out_channels=6, kernel_size=(3, 5)), (4, 8, 6)),
    (B.MLP, dict(in_features=5, hidden_features=(7, 7), out_features=3), (9, 5)),
    (B.ChannelNorm, dict(num_channels=4), (4, 5, 6)),
    (B.ResidualBlock, dict(in_channels=3, out_channels=4, stride=2), (3, 8, 6)),
    (B.BottleneckBlock, dict(in_channels=8, out_channels=8), (8, 5, 6)),
    (B.ConvNeXtBlock, dict(channels=4, kernel_size=3, layer_scale=1.0), (4, 5, 6)),
    (B.DropPath, dict(p=0.2), (4, 5)),
    (B.Recurrent, dict(input_size=4, hidden_size=3, cell="lstm", bidirectional=True), (7, 4)),
    (B.Recurrent, dict(input_size=4, hidden_size=3, cell="gru", return_sequence=False), (7, 4)),
    (B.Recurrent, dict(input_size=4, hidden_size=3, cell="rnn", num_layers=2), (7, 4)),
    (B.MultiHeadAttention, dict(d_model=8, n_heads=2, causal=True, rope=True), (7, 8)),
    (B.TransformerBlock, dict(d_model=8, n_heads=2), (7, 8)),
    (B.TransformerEncoder, dict(d_model=8, n_heads=2, n_layers=1, positions="learned", max_len=16), (7, 8)),
    (B.TransformerDecoder, dict(d_model=8, n_heads=2, n_layers=1, positions="sinusoidal"), (7, 8)),
    (B.SinusoidalPositions, dict(d_model=8), (7, 8)),
    (B.LearnedPositions, dict(d_model=8, max_len=8), (7, 8)),
    (B.RotaryEmbedding, dict(head_dim=4), (2, 7, 4)),
    (B.GlobalMeanPool, dict(dim=-1), (4, 7)),
    (B.GlobalMaxPool, dict(dim=1, keepdim=True), (4, 7)),
    (B.AttentionPool, dict(channels=4), (4, 3, 7)),
    (B.AutoPool, dict(channels=4, alpha=0.5), (4, 7)),
    (B.SplitAttentionPool, dict(), (4, 1, 7)),
    (B.TimeDistributedBatchNorm, dict(num_features=4), (7, 4)),
    (B.UNet, dict(in_channels=2, out_channels=1, channels=(2, 4)), (2, 7, 5)),
    (
        B.UNet,
        dict(in_channels=2, out_channels=3, channels=(2, 4, 4), upsample="interpolate", norm=None),
        (2, 8, 8),
    ),
    (B.Squeeze, dict(dim=2), (4, 1, 7)),
    (B.Unsqueeze, dict(dim=1), (4, 7)),
    (B.Permute, dict(dims=(0, 2, 1)), (4, 7)),
    (B.Transpose, dict(dim0=1, dim1=2), (4, 7)),
    (B.Flatten, dict(start_dim=1, end_dim=2), (4, 3, 7)),
    (B.Reshape, dict(shape=(2, 2, -1)), (4, 7)),
    (B.RepeatChannels, dict(repeats=3), (2, 5)),
    (B.Abs, dict(), (2, 5)),
]


def _ids(entry: tuple) -> str:
    cls, kwargs, _ = entry
    return cls.__name__ + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


def test_catalogue_covers_every_brick():
    bricks = {
        getattr(B, n)
        for n in B.__all__
        if isinstance(getattr(B, n), type) and issubclass(getattr(B, n), B.Brick)
    }
    bricks -= {B.Brick, B.FiLM}  # FiLM takes two inputs: tested in test_film.py
    assert bricks <= {cls for cls, _, _ in CATALOGUE}, bricks - {cls for cls, _, _ in CATALOGUE}


@pytest.mark.parametrize("entry", CATALOGUE, ids=[_ids(e) for e in CATALOGUE])
def test_get_config_rebuilds_the_brick(entry):
    cls, kwargs, shape = entry
    torch.manual_seed(0)
    brick = cls(**kwargs).eval()
    config = brick.get_config()
    assert {k: config[k] for k in kwargs} == kwargs
    clone = cls(**config).eval()
    clone.load_state_dict(brick.state_dict())
    x = torch.randn(2, *shape)
    torch.testing.assert_close(clone(x), brick(x))


@pytest.mark.parametrize("entry", CATALOGUE, ids=[_ids(e) for e in CATALOGUE])
def test_gradient_reaches_the_input(entry):
    cls, kwargs, shape = entry
    torch.manual_seed(0)
    brick = cls(**kwargs).train()
    x = torch.randn(3, *shape, requires_grad=True)
    y = brick(x)
    (y * torch.randn_like(y)).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert x.grad.abs().sum() > 0


def test_token_decoder_gradient_reaches_the_embedding():
    dec = B.TransformerDecoder(d_model=8, n_heads=2, n_layers=1, vocab_size=11)
    dec(torch.randint(0, 11, (2, 5))).logsumexp(-1).sum().backward()
    assert dec.embedding.weight.grad.abs().sum() > 0


MODULES = [
    "_base",
    "shape",
    "frontends",
    "causal",
    "tcn",
    "sincnet",
    "norms",
    "conv",
    "mlp",
    "residual",
    "recurrent",
    "positions",
    "transformer",
    "pooling",
    "unet",
    "film",
    "results", "bottleneck", "vae", "vq", "rvq", "seanet", "vocos", "discriminator",  # codec chapter
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(f"mir101.bricks.{name}")
    result = doctest.testmod(module, extraglobs={"torch": torch, "nn": nn}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"mir101.bricks.{name} has no example"
    assert result.failed == 0


@pytest.mark.parametrize("name", MODULES[1:])
def test_module_docstring_cites_a_paper_or_the_tutorial(name):
    doc = importlib.import_module(f"mir101.bricks.{name}").__doc__
    assert "http" in doc


def test_unknown_activation_lists_the_valid_names():
    with pytest.raises(ValueError, match="gelu"):
        B.ConvBlock2d(in_channels=1, out_channels=2, activation="gelo")


# every string argument of a brick: (build with a bad name, the argument, a valid name)
STRING_CHOICES = [
    (lambda name: B.ConvBlock2d(norm=name), "norm", "batch"),
    (lambda name: B.ResidualBlock(norm=name), "norm", "batch"),
    (lambda name: B.UNet(channels=(2, 4), norm=name), "norm", "batch"),
    (lambda name: B.MLP(activation=name), "activation", "relu"),
    (lambda name: B.WaveformConv(activation=name), "activation", "relu"),
    (lambda name: B.TransformerEncoder(d_model=8, n_heads=2, positions=name), "positions", "rope"),
    (lambda name: B.TransformerDecoder(d_model=8, n_heads=2, positions=name), "positions", "learned"),
    (lambda name: B.Recurrent(input_size=4, hidden_size=4, cell=name), "cell", "lstm"),
    (lambda name: B.UNet(channels=(2, 4), upsample=name), "upsample", "interpolate"),
    (lambda name: B.SincConv(out_channels=4, kernel_size=31, padding=name), "padding", "same"),
]


@pytest.mark.parametrize("build, argument, valid", STRING_CHOICES, ids=[a for _, a, _ in STRING_CHOICES])
def test_every_string_choice_has_one_error_message(build, argument, valid):
    """An unknown name raises UnknownNameError (a ParameterError and a ConfigError) with one message."""
    build(valid)
    build(valid.upper())  # names are case-insensitive, as in YAML layer lists
    typo = valid[:-1] + "x"
    pattern = rf"^unknown {argument} '{typo}' \(did you mean '{valid}'\?\); valid names: \[.*'{valid}'.*\]$"
    for kind in (UnknownNameError, ParameterError, ConfigError):
        with pytest.raises(kind, match=pattern):
            build(typo)
