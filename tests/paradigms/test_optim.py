"""Optimizers and schedulers by Registry: values at given steps, errors listing the valid names."""

from __future__ import annotations

import pytest
import torch

from mir101.errors import ConfigError
from mir101.paradigms import OPTIMIZERS, SCHEDULERS, make_optimizer, make_scheduler
from mir101.paradigms.optim import optimizer_from_config


def lrs(name, total, warmup=0, steps=None):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = make_scheduler(opt, name, total, warmup)["scheduler"]
    out = []
    for _ in range(steps or total + 1):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_cosine_with_warmup_values():
    lr = lrs("cosine", total=10, warmup=2)
    # warm-up: (step + 1) / 2; then 0.5 (1 + cos(pi (step - 2) / 8))
    assert lr[0] == pytest.approx(0.5) and lr[1] == pytest.approx(1.0) and lr[2] == pytest.approx(1.0)
    assert lr[6] == pytest.approx(0.5)  # half-way through the decay
    assert lr[4] == pytest.approx(0.5 * (1 + 2**-0.5))
    assert lr[10] == pytest.approx(0.0, abs=1e-12)


def test_step_halves_every_third():
    assert lrs("step", total=9, steps=9) == [1.0] * 3 + [0.5] * 3 + [0.25] * 3


def test_plateau_and_none():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    config = make_scheduler(opt, "plateau", 100)
    assert isinstance(config["scheduler"], torch.optim.lr_scheduler.ReduceLROnPlateau)
    assert (config["monitor"], config["interval"]) == ("val/loss", "epoch")
    assert make_scheduler(opt, None, 100) is None and make_scheduler(opt, "none", 100) is None


def test_optimizers_by_name():
    params = [torch.nn.Parameter(torch.zeros(2))]
    assert OPTIMIZERS.names() == ["adam", "adamw", "sgd"]
    assert SCHEDULERS.names() == ["cosine", "none", "plateau", "step"]
    assert isinstance(make_optimizer(params, "AdamW", lr=0.1), torch.optim.AdamW)
    sgd = make_optimizer(params, "sgd", lr=0.1, weight_decay=0.01)
    assert sgd.defaults["momentum"] == 0.9 and sgd.defaults["weight_decay"] == 0.01
    adam = optimizer_from_config(
        params, {"name": "adam", "lr": 2e-4, "betas": (0.5, 0.9), "scheduler": "cosine"}
    )
    assert adam.defaults["betas"] == (0.5, 0.9) and adam.defaults["lr"] == 2e-4


def test_unknown_names_list_valid_names():
    params = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ConfigError) as err:
        make_optimizer(params, "adamm")
    assert "optim.name" in str(err.value) and "adamm" in str(err.value)
    assert all(n in str(err.value) for n in ("adam", "adamw", "sgd"))
    with pytest.raises(ConfigError) as err:
        make_scheduler(torch.optim.SGD(params, lr=1.0), "exponential", 10)
    assert "optim.scheduler" in str(err.value) and "exponential" in str(err.value)
    assert all(n in str(err.value) for n in ("cosine", "none", "plateau", "step"))
    with pytest.raises(ConfigError, match="betaz"):
        make_optimizer(params, "adam", betaz=(0.5, 0.9))
