"""VAEBottleneck: the KL term, free bits, reparameterised sampling in training, the mean in eval."""

from __future__ import annotations

import pytest
import torch

from mir101.bricks.vae import VAEBottleneck, gaussian_kl
from mir101.errors import ParameterError


def _standard_normal_posterior(vae: VAEBottleneck) -> VAEBottleneck:
    torch.nn.init.zeros_(vae.project_in.weight)
    torch.nn.init.zeros_(vae.project_in.bias)  # mean 0, log-variance 0: N(0, 1)
    return vae


def test_kl_is_zero_for_a_standard_normal_posterior():
    vae = _standard_normal_posterior(VAEBottleneck(in_channels=6, latent_dim=3, kl_weight=1.0))
    r = vae.train()(torch.randn(4, 6, 10))
    assert float(r.losses["kl"].detach()) == 0.0
    assert r.output.std() > 0  # sampled: z ~ N(0, 1) in training


def test_kl_matches_the_closed_form():
    mean, logvar = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    expected = 0.5 * torch.tensor([1.0, torch.e - 2.0])
    torch.testing.assert_close(gaussian_kl(mean, logvar), expected)


def test_weight_and_free_bits():
    torch.manual_seed(0)
    x = torch.randn(4, 6, 10)
    vae = VAEBottleneck(in_channels=6, latent_dim=3, kl_weight=1.0).eval()
    mean, logvar = vae.posterior(x)
    plain = gaussian_kl(mean, logvar).transpose(0, 1).reshape(3, -1).mean(-1)
    torch.testing.assert_close(vae(x).losses["kl"], plain.sum())
    vae.kl_weight = 0.1
    torch.testing.assert_close(vae(x).losses["kl"], 0.1 * plain.sum())
    vae.kl_weight, vae.free_bits = 1.0, 1e3  # every channel under the free bits: a constant
    assert float(vae(x).losses["kl"].detach()) == pytest.approx(3e3)
    standard = _standard_normal_posterior(VAEBottleneck(in_channels=6, latent_dim=3, free_bits=0.5))
    assert float(standard(x).losses["kl"].detach()) == pytest.approx(1.5)  # 3 channels x 0.5 nats


def test_the_gradient_reaches_mean_and_variance():
    vae = VAEBottleneck(in_channels=4, latent_dim=2).train()
    r = vae(torch.randn(3, 4, 5))
    (r.output.pow(2).sum() + r.losses["kl"]).backward()
    grad = vae.project_in.weight.grad
    assert grad[:2].abs().sum() > 0 and grad[2:].abs().sum() > 0  # mean rows and log-variance rows


def test_eval_is_deterministic_and_decodes_the_mean():
    vae = VAEBottleneck(in_channels=4, latent_dim=2).eval()
    x = torch.randn(2, 4, 7)
    torch.testing.assert_close(vae(x).output, vae(x).output)
    torch.testing.assert_close(vae(x).output, vae.decode(vae.encode(x)))
    assert vae.decode(torch.randn(5, 2, 3)).shape == (5, 4, 3)  # a sample of the prior decodes


def test_bad_arguments():
    with pytest.raises(ParameterError, match="kl_weight=-1"):
        VAEBottleneck(kl_weight=-1)
    with pytest.raises(ParameterError, match="logvar_range"):
        VAEBottleneck(logvar_range=(1.0, 0.0))
