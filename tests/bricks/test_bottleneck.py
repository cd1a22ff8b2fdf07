"""Bottlenecks (AE, VAE, VQ, RVQ): shared contract, bitrate, round trips, and brief training beats the untrained self."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mir101.bricks.bottleneck import AutoEncoderBottleneck, QuantizedResult, bitrate
from mir101.bricks.rvq import ResidualVectorQuantizer
from mir101.bricks.vae import VAEBottleneck
from mir101.bricks.vq import VectorQuantizer
from mir101.errors import ParameterError, ShapeError
from mir101.models import build_model

# (class, kwargs) with in_channels 12, tiny sizes
BOTTLENECKS = [
    (AutoEncoderBottleneck, dict(in_channels=12, latent_dim=3)),
    (AutoEncoderBottleneck, dict(in_channels=12, latent_dim=None, activation="tanh")),
    (VAEBottleneck, dict(in_channels=12, latent_dim=3, kl_weight=0.01, free_bits=0.1)),
    (VectorQuantizer, dict(in_channels=12, codebook_size=16)),
    (VectorQuantizer, dict(in_channels=12, codebook_size=16, codebook_dim=4, cosine=True)),
    (VectorQuantizer, dict(in_channels=12, codebook_size=16, ema=False, dead_code_threshold=0.0)),
    (ResidualVectorQuantizer, dict(in_channels=12, n_quantizers=3, codebook_size=16, quantizer_dropout=0.5)),
    (
        ResidualVectorQuantizer,
        dict(in_channels=12, n_quantizers=2, codebook_size=8, codebook_dim=4, ema=False),
    ),
]
IDS = [f"{c.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for c, kw in BOTTLENECKS]


@pytest.mark.parametrize("cls, kwargs", BOTTLENECKS, ids=IDS)
@pytest.mark.parametrize("shape", [(5, 12, 7), (5, 12), (2, 12, 3, 4)])
def test_output_keeps_the_shape_and_is_a_quantized_result(cls, kwargs, shape):
    torch.manual_seed(0)
    r = cls(**kwargs)(torch.randn(*shape))
    assert isinstance(r, QuantizedResult) and r.output.shape == shape
    assert all(v.dim() == 0 and torch.isfinite(v) for v in r.losses.values())
    if r.codes is not None:
        assert r.codes.dtype == torch.int64 and r.codes.shape[0] == shape[0]
        assert tuple(r.codes.shape[r.codes.dim() - len(shape) + 2 :]) == shape[2:]
        assert r.perplexity.dim() == 1 and (r.perplexity >= 1 - 1e-5).all()


@pytest.mark.parametrize("cls, kwargs", BOTTLENECKS, ids=IDS)
def test_get_config_rebuilds_the_brick(cls, kwargs):
    torch.manual_seed(0)
    brick = cls(**kwargs)
    brick.train()(torch.randn(4, 12, 9))  # initialise the codebooks from data
    brick.eval()
    config = brick.get_config()
    assert {k: config[k] for k in kwargs} == kwargs
    clone = cls(**config).eval()
    clone.load_state_dict(brick.state_dict())
    x = torch.randn(3, 12, 6)
    torch.testing.assert_close(clone(x).output, brick(x).output)


@pytest.mark.parametrize("cls, kwargs", BOTTLENECKS, ids=IDS)
def test_gradient_reaches_the_input(cls, kwargs):
    torch.manual_seed(0)
    x = torch.randn(3, 12, 6, requires_grad=True)
    r = cls(**kwargs).train()(x)
    (r.output * torch.randn_like(r.output)).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("cls, kwargs", BOTTLENECKS, ids=IDS)
def test_decode_of_encode_equals_the_eval_output(cls, kwargs):
    torch.manual_seed(0)
    brick = cls(**kwargs)
    brick.train()(torch.randn(4, 12, 9))
    brick.eval()
    x = torch.randn(2, 12, 5)
    encoded = brick.encode(x)
    if isinstance(brick, (VectorQuantizer, ResidualVectorQuantizer)):
        assert encoded.dtype == torch.int64
    torch.testing.assert_close(brick.decode(encoded), brick(x).output)


def test_bitrate_is_frames_per_second_times_codebooks_times_bits():
    assert bitrate(50, 8, 1024) == 50 * 8 * 10
    assert bitrate(75, 1, 2) == 75.0
    assert math.isclose(bitrate(12.5, 3, 1000), 12.5 * 3 * math.log2(1000))
    rvq = ResidualVectorQuantizer(in_channels=4, n_quantizers=6, codebook_size=256)
    assert rvq.bits_per_frame() == 48 and rvq.bits_per_frame(2) == 16
    assert rvq.bitrate(frame_rate=50, n_quantizers=3) == bitrate(50, 3, 256) == 1200.0
    assert VectorQuantizer(in_channels=4, codebook_size=64).bits_per_frame() == 6
    assert AutoEncoderBottleneck(in_channels=8, latent_dim=2).bits_per_frame() == 64
    with pytest.raises(ParameterError, match="n_codebooks"):
        bitrate(50, 0, 1024)


def test_wrong_channels_name_the_shape():
    with pytest.raises(ShapeError, match=r"expects 12 channels.*\(2, 5, 3\)"):
        VectorQuantizer(in_channels=12, codebook_size=4)(torch.randn(2, 5, 3))


@pytest.mark.parametrize("name", ["ae", "vae", "vq", "rvq"])
def test_yaml_names_build_with_inferred_channels(name):
    model = build_model([{"conv1d": {"out_channels": 6, "kernel_size": 1}}, {name: {}}], (3, 10))
    out = model(torch.randn(2, 3, 10), return_results=True)
    assert out.output.shape == (2, 6, 10) and model.net[1].in_channels == 6


# ---------------------------------------------------------------- brief training beats the untrained self
@pytest.fixture
def one_thread():
    """Tiny models train ~10x faster on one thread than on two busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _data(n: int, seed: int) -> torch.Tensor:
    """Vectors (n, 12, 4) on a 2-D manifold: a fixed nonlinear map of 2 latent factors."""
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(2, 12, generator=torch.Generator().manual_seed(99))
    factors = torch.rand(n, 4, 2, generator=g) * 2 - 1
    return torch.tanh(factors @ mix).transpose(1, 2)  # (n, 12, 4)


STEPS = 60


class TinyAE(nn.Module):
    def __init__(self, bottleneck: nn.Module):
        super().__init__()
        self.enc = nn.Conv1d(12, 12, 1)
        self.bottleneck = bottleneck
        self.dec = nn.Sequential(nn.Conv1d(12, 32, 1), nn.Tanh(), nn.Conv1d(32, 12, 1))

    def forward(self, x):
        r = self.bottleneck(self.enc(x))
        return self.dec(r.output), r


def _held_out_error(model: TinyAE, x: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float(((model(x)[0] - x) ** 2).mean())


@pytest.mark.parametrize("cls, kwargs", BOTTLENECKS, ids=IDS)
def test_brief_training_beats_the_untrained_self_on_held_out_data(cls, kwargs, one_thread):
    torch.manual_seed(0)
    model = TinyAE(cls(**kwargs))
    train, held_out = _data(256, seed=1), _data(128, seed=2)
    before = _held_out_error(model, held_out)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    for step in range(STEPS):
        model.train()
        batch = train[(step * 32) % 256 : (step * 32) % 256 + 32]
        y, r = model(batch)
        loss = ((y - batch) ** 2).mean() + sum(r.losses.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = _held_out_error(model, held_out)
    assert after < 0.5 * before, (before, after)
