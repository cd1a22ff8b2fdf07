"""AutoEncoder paradigm and its reconstruction loss: terms, bottleneck losses added, a Lightning fit."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from mir101.errors import ShapeError
from mir101.models import build_model
from mir101.paradigms import AutoEncoder
from mir101.paradigms.autoencoder import MelDistance, ReconstructionLoss, bottleneck_terms, reconstruct

SR = 16000


def codec(bottleneck: dict) -> torch.nn.Module:
    return build_model(
        {
            "parts": {
                "encoder": [
                    {"conv1d": {"out_channels": 4, "kernel_size": 7, "padding": 3}},
                    {"seanetencoderblock": {"out_channels": 8, "stride": 4, "dilations": [1]}},
                ],
                "bottleneck": [bottleneck],
                "decoder": [
                    {"seanetdecoderblock": {"out_channels": 4, "stride": 4, "dilations": [1]}},
                    {"conv1d": {"out_channels": 1, "kernel_size": 7, "padding": 3}},
                ],
            }
        },
        (1, 800),
    )


def tones(n: int = 16, samples: int = 800) -> torch.Tensor:
    t = torch.arange(samples) / SR
    f0 = torch.linspace(200, 800, n)[:, None]
    return (0.5 * torch.sin(2 * torch.pi * f0 * t))[:, None]  # (n, 1, samples)


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_loss() -> ReconstructionLoss:
    return ReconstructionLoss(sr=SR, fft_sizes=(256, 64), n_mels=16)


def test_reconstruction_terms_and_weights():
    x = tones(2)
    y = x + 0.1 * torch.randn_like(x)
    loss = ReconstructionLoss(sr=SR, l1=2.0, stft=0.5, mel=0.0, fft_sizes=(128,))
    terms = loss.terms(y, x)
    assert set(terms) == {"l1", "stft", "recon"}
    torch.testing.assert_close(terms["recon"], 2.0 * (y - x).abs().mean() + 0.5 * terms["stft"])
    with pytest.raises(ShapeError, match="input's shape"):
        loss.terms(y[..., :-1], x)


def test_mel_distance_is_zero_on_itself_and_grows_with_distortion():
    mel = MelDistance(sr=SR, n_fft=256, hop_length=64, n_mels=16)
    x = tones(3)
    assert float(mel(x, x)) == 0.0
    near, far = float(mel(x + 0.01 * torch.randn_like(x), x)), float(mel(x + 0.3 * torch.randn_like(x), x))
    assert 0 < near < far
    assert mel.per_item(x, x).shape == (3,)


def test_the_bottleneck_losses_are_added_to_the_reconstruction():
    model = codec({"vq": {"codebook_size": 8, "commitment_weight": 0.5}}).train()
    system = AutoEncoder(model, small_loss())
    terms = system.common_step((tones(4),), train=True)
    assert {"loss", "recon", "l1", "stft", "mel", "commitment", "perplexity"} <= set(terms)
    torch.testing.assert_close(terms["loss"], terms["recon"] + terms["commitment"])
    total, logged = bottleneck_terms(reconstruct(model, tones(2)))
    assert set(logged) == {"commitment", "perplexity"}


def test_a_model_without_bottleneck_and_dict_batches():
    model = torch.nn.Conv1d(1, 1, 3, padding=1)
    system = AutoEncoder(model, small_loss(), input_key="audio")
    terms = system.common_step({"audio": tones(2)[:, 0]}, train=False)  # (batch, samples) accepted
    torch.testing.assert_close(terms["loss"], terms["recon"])


@pytest.mark.parametrize(
    "bottleneck",
    [
        {"ae": {"latent_dim": 4}},
        {"vae": {"latent_dim": 4, "kl_weight": 1e-3}},
        {"rvq": {"n_quantizers": 2, "codebook_size": 16}},
    ],
    ids=["ae", "vae", "rvq"],
)
def test_lightning_fit_lowers_the_reconstruction_loss(bottleneck, trainer_factory, one_thread):
    torch.manual_seed(0)
    data = tones(16)
    model = codec(bottleneck)
    system = AutoEncoder(model, small_loss(), optim={"lr": 1e-2})
    with torch.no_grad():
        before = float(system.eval().common_step((data,), train=False)["recon"])
    system.train()
    trainer_factory(max_epochs=30).fit(system, DataLoader(TensorDataset(data), batch_size=8))
    with torch.no_grad():
        after = float(system.eval().common_step((data,), train=False)["recon"])
    assert after < 0.8 * before, (before, after)
