"""Rectified flow: zero loss for the exact velocity, Euler / Heun reach a known target, guidance, training learns."""

from __future__ import annotations

import doctest

import pytest
import torch

import mir101.paradigms.autoregressive as autoregressive
import mir101.paradigms.flow as flow
from mir101.bricks.unet1d import UNet1d
from mir101.errors import ParameterError
from mir101.paradigms.flow import (
    RectifiedFlow,
    euler_sample,
    guided,
    heun_sample,
    interpolate,
    rectified_flow_loss,
)


@pytest.mark.parametrize("module", [flow, autoregressive])
def test_docstring_examples_run(module):
    result = doctest.testmod(module, extraglobs={"torch": torch})
    assert result.attempted > 0 and result.failed == 0


def test_loss_is_zero_for_the_exact_velocity_and_positive_otherwise():
    g = torch.Generator().manual_seed(0)
    x0, z, t = (
        torch.randn(8, 3, 5, generator=g),
        torch.randn(8, 3, 5, generator=g),
        torch.rand(8, generator=g),
    )
    assert float(rectified_flow_loss(lambda x, tt: z - x0, x0, z, t)) == 0.0
    assert float(rectified_flow_loss(lambda x, tt: torch.zeros_like(x), x0, z, t)) > 0.5
    xt = interpolate(x0, z, t)
    torch.testing.assert_close(xt[0], (1 - t[0]) * x0[0] + t[0] * z[0])


@pytest.mark.parametrize("sampler", [euler_sample, heun_sample])
@pytest.mark.parametrize("n_steps", [1, 3, 10])
def test_sampling_a_known_velocity_field_reaches_the_target(sampler, n_steps):
    """For the straight-line field of a known target, v(x, t) = (x - target) / t, every step count lands on it."""
    g = torch.Generator().manual_seed(1)
    target, z = torch.randn(4, 2, 6, generator=g), torch.randn(4, 2, 6, generator=g)

    def velocity(x, t):
        return (x - target) / t.view(-1, 1, 1)

    torch.testing.assert_close(sampler(velocity, z, n_steps), target, atol=1e-5, rtol=1e-5)


def test_heun_is_more_exact_than_euler_on_a_curved_field():
    z = torch.ones(1, 1)
    exact = torch.exp(torch.tensor(-1.0))  # dx/dt = x from t=1 down to 0
    err = {
        s.__name__: abs(float(s(lambda x, t: x, z, 8)) - float(exact)) for s in (euler_sample, heun_sample)
    }
    assert err["heun_sample"] < err["euler_sample"] / 5


def test_guidance_mixes_conditional_and_unconditional():
    class Toy(torch.nn.Module):
        def forward(self, x, t, c):
            return x * 0 + c[:, :1].float().view(-1, 1)

        def null_conditions(self, batch, device=None):
            return torch.full((batch, 1), 10)

    v = guided(Toy(), torch.tensor([[2]]), guidance=3.0)(torch.zeros(1, 1), torch.ones(1))
    assert float(v) == 10 + 3 * (2 - 10)
    assert float(guided(Toy(), torch.tensor([[2]]), 1.0)(torch.zeros(1, 1), torch.ones(1))) == 2


def test_training_learns_a_conditional_distribution():
    """Two classes with means -2 / +2: a few hundred steps of the paradigm, then Euler sampling
    puts each class's samples near its mean (an untrained model leaves them at the noise, mean 0)."""
    torch.manual_seed(0)
    net = UNet1d(in_channels=2, channels=(16, 16), n_classes=(2,), emb_dim=16)
    system = RectifiedFlow(net, {"name": "adam", "lr": 3e-3}, p_uncond=0.1)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(250):
        c = torch.randint(0, 2, (32, 1))
        x0 = (4 * c.float() - 2).view(-1, 1, 1) + 0.1 * torch.randn(32, 2, 8)
        loss = system.common_step({"x": x0, "conditions": c}, train=True)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    c = torch.tensor([[0]] * 16 + [[1]] * 16)
    x = euler_sample(guided(net, c, 1.0), torch.randn(32, 2, 8), n_steps=20)
    means = x.mean(dim=(1, 2))
    assert float(means[:16].mean()) < -1.5 and float(means[16:].mean()) > 1.5, means
    with pytest.raises(ParameterError):
        RectifiedFlow(net, p_uncond=1.0)
    with pytest.raises(ParameterError, match="steps"):
        euler_sample(lambda x, t: x, torch.zeros(1), 0)
