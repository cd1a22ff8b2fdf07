"""Every network under configs/models builds, trains one step, and `mir101 model show` prints it."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from mir101.cli import main
from mir101.config import load_yaml
from mir101.models import build_model

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs" / "models").glob("*.yaml"))
# the full-size (GPU) networks are checked on smaller inputs to keep the suite fast
SMALLER = {
    "deep_salience": (6, 72, 16),
    "deep_salience_convnext": (6, 72, 16),
    "deep_salience_depthwise": (6, 72, 16),
    "deep_salience_resnet": (6, 72, 16),
    "unet_multipitch": (6, 72, 16),
    "cover_move": (1, 12, 200),
}
# one training step of every network; the fully convolutional ones on a small patch too
TRAIN_SHAPES = {
    **SMALLER,
    **{p.stem: (6, 72, 16) for p in CONFIGS if p.stem.startswith(("deep_salience", "unet"))},
}
MULTIPITCH = ("deep_salience", "unet")
README = (ROOT / "configs" / "models" / "README.md").read_text()


def test_the_tutorial_networks_are_there():
    names = {p.stem for p in CONFIGS}
    expected = {"deep_salience", "deep_salience_small", "unet_multipitch_small", "tagging_lms_conv2d"}
    expected |= {"tagging_waveform_conv1d", "tagging_waveform_tcn", "tagging_waveform_sincnet"}
    expected |= {"chord_conv_bilstm", "cover_move", "cover_move_small"}
    expected |= {f"deep_salience_{v}{s}" for v in ("depthwise", "resnet", "convnext") for s in ("", "_small")}
    assert expected <= names


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_builds_and_trains_one_step(path):
    torch.manual_seed(0)
    config = load_yaml(path)
    shape = TRAIN_SHAPES.get(path.stem, tuple(config["input_shape"]))
    model = build_model(config, shape)
    x = torch.randn(2, *shape, requires_grad=True)
    torch.manual_seed(1)  # the same dropout masks in both forward passes
    y = model(x)
    assert y.shape == (2, *model.output_shape) and torch.isfinite(y).all()
    target = torch.randn_like(y)
    loss = F.mse_loss(y, target)
    loss.backward()
    assert x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    # one SGD step on the same batch lowers the loss: a step of lr = 1% of loss / |grad|^2 lowers
    # it by 1% to first order (measured 0.5-1% on every network); at least 0.1% is asked
    params = [p for p in model.parameters() if p.grad is not None]
    assert params, "no parameter of the model gets a gradient"
    norm2 = sum(p.grad.pow(2).sum() for p in params).item()
    torch.optim.SGD(params, lr=0.01 * loss.item() / norm2).step()
    torch.manual_seed(1)
    with torch.no_grad():
        after = F.mse_loss(model(x), target)
    assert after < (1 - 1e-3) * loss, f"the loss went from {loss.item():.5f} to {after.item():.5f}"
    if path.stem.startswith(MULTIPITCH):  # salience logits on the input's grid
        assert model.output_shape == (1, *shape[1:])
    # configs/models/README.md lists the network with its parameter count
    row = next((line for line in README.splitlines() if line.startswith(f"| `{path.name}`")), None)
    assert row is not None, f"{path.name} is missing from configs/models/README.md"
    assert f"{sum(p.numel() for p in model.parameters()):,}" in row


def _params(name: str) -> int:
    """Parameters of a fully convolutional multi-pitch net (they do not depend on the input size)."""
    model = build_model(load_yaml(ROOT / f"configs/models/{name}.yaml"), (6, 72, 8))
    return sum(p.numel() for p in model.parameters())


def test_the_small_deep_salience_is_cpu_sized():
    assert 35_000 < _params("deep_salience_small") < 45_000
    assert (
        400_000 < _params("deep_salience") < 410_000
    )  # Bittner et al.: 6 -> 128 -> 64 -> 64 -> 64 -> 8 -> 1


def test_depthwise_variant_is_cheaper():
    assert _params("deep_salience_depthwise") < _params("deep_salience") / 2
    assert _params("deep_salience_depthwise_small") < _params("deep_salience_small")


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_model_show_prints_every_layer(path, capsys):
    config = load_yaml(path)
    extra = ["--input-shape", *map(str, SMALLER[path.stem])] if path.stem in SMALLER else []
    assert main(["model", "show", str(path), *extra]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"model: {path}")
    for i in range(len(config["layers"])):
        assert any(line.split()[:1] == [str(i)] for line in out.splitlines()), f"row {i} missing"
    assert "parameters" in out and "MACs per input item" in out


def test_model_show_by_name_json_and_variables(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["model", "show", "tagging_lms_conv2d", "--json", "--var", "n_classes=50"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["output_shape"] == [50] and out["layers"][-1]["arguments"] == "out_features=50"
    assert out["params"] == sum(r["params"] for r in out["layers"])


def test_model_show_an_experiment_takes_the_input_shape_from_the_input_module(tmp_path, capsys):
    (tmp_path / "exp.yaml").write_text(
        "input: {name: cqt, n_octaves: 2, bins_per_semitone: 1, hop_length: 256}\n"
        "data: {patch_frames: 20}\n"
        f"model: {ROOT / 'configs/models/deep_salience_small.yaml'}\n"
    )
    assert main(["model", "show", str(tmp_path / "exp.yaml")]) == 0
    assert "input (1, 24, 20) -> output (1, 24, 20)" in capsys.readouterr().out


def test_model_show_errors_are_one_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "bad.yaml").write_text("input_shape: [6, 20, 10]\nlayers:\n  - conv2d: {out_chanels: 4}\n")
    assert main(["model", "show", str(tmp_path / "bad.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: layer 0 'conv2d': unknown argument(s) ['out_chanels']")
    (tmp_path / "noshape.yaml").write_text("layers: [relu]\n")
    assert main(["model", "show", str(tmp_path / "noshape.yaml")]) == 2
    assert "--input-shape" in capsys.readouterr().err
    monkeypatch.chdir(ROOT)
    assert main(["model", "show", "no_such_model"]) == 2
    err = capsys.readouterr().err
    assert "model config not found: 'no_such_model'" in err and "deep_salience_small" in err


def test_model_layers_lists_names(capsys):
    assert main(["model", "layers"]) == 0
    out = capsys.readouterr().out
    assert "conv2d" in out and "[in_channels]" in out and "{concat: NAME}" in out


@pytest.mark.parametrize(
    "name,shape", [("tagging_waveform_sincnet", (1, 4000)), ("chord_conv_bilstm", (1, 72, 32))]
)
def test_torch_export_matches_eager(name, shape):
    model = build_model(load_yaml(ROOT / f"configs/models/{name}.yaml"), shape).eval()
    x = torch.randn(2, *shape)
    with warnings.catch_warnings():  # nn.LSTM's own _flat_weights, inside torch
        warnings.filterwarnings("ignore", message="The tensor attributes", category=UserWarning)
        exported = torch.export.export(model, (x,)).module()
    torch.testing.assert_close(exported(x), model(x))
