"""Multi-part models (encoder / bottleneck / decoder / discriminator) and layers that return a BrickOutput."""

from __future__ import annotations

import doctest
import importlib
import json
from dataclasses import dataclass

import pytest
import torch
import yaml
from torch import Tensor, nn

import mir101.models.factory as factory
from mir101.bricks.results import BrickOutput
from mir101.cli import main
from mir101.config import load_config
from mir101.errors import ConfigError, ModelBuildError
from mir101.models import (
    LayerModel,
    LayerSpec,
    ModelOutput,
    ModelParts,
    build_model,
    format_summary,
    init_output_prior,
    load_model_file,
    summarize,
)

CODEC = """
input_shape: [1, 64]
variables: {latent: 4}
parts:
  encoder:
    layers:
      - conv1d: {out_channels: 8, kernel_size: 4, stride: 4}
      - relu
      - conv1d: {out_channels: $latent, kernel_size: 1}
  bottleneck: {layers: [squash]}
  decoder:
    layers:
      - convtranspose1d: {out_channels: 1, kernel_size: 4, stride: 4}
  discriminator:
    input: input
    layers: [{conv1d: {out_channels: 2, kernel_size: 5, stride: 2}}, flatten, {linear: {out_features: 1}}]
"""


# ---------------------------------------------------------------- a test-only brick
@dataclass
class Squashed(BrickOutput):
    """What a bottleneck adds to BrickOutput (a VQ would add codes, perplexity...)."""

    pre: Tensor | None = None


class Squash(nn.Module):
    """``tanh`` with a penalty on large inputs: a stand-in for a bottleneck with an auxiliary loss."""

    def __init__(self, weight: float = 0.1):
        super().__init__()
        self.weight = weight

    def forward(self, x: Tensor) -> Squashed:
        return Squashed(torch.tanh(x), {"penalty": self.weight * x.pow(2).mean()}, pre=x)


class _WithTestLayers:
    """The layer registry plus test-only names (the Registry has no removal: nothing is added to it)."""

    def __init__(self, base, extra: dict[str, LayerSpec]):
        self.base, self.extra = base, extra

    def get(self, name: str, where: str | None = None) -> LayerSpec:
        return self.extra.get(str(name).lower()) or self.base.get(name, where)


@pytest.fixture(autouse=True)
def squash_layer(monkeypatch):
    monkeypatch.setattr(factory, "LAYERS", _WithTestLayers(factory.LAYERS, {"squash": LayerSpec(Squash)}))


def codec(**kwargs) -> ModelParts:
    torch.manual_seed(0)
    return build_model(yaml.safe_load(CODEC), **kwargs)


# ---------------------------------------------------------------- building
def test_parts_build_with_chained_shapes_and_named_parameters():
    model = codec()
    assert isinstance(model, ModelParts) and list(model.parts) == [
        "encoder",
        "bottleneck",
        "decoder",
        "discriminator",
    ]
    shapes = {name: (p.input_shape, p.output_shape) for name, p in model.parts.items()}
    assert shapes == {
        "encoder": ((1, 64), (4, 16)),
        "bottleneck": ((4, 16), (4, 16)),
        "decoder": ((4, 16), (1, 64)),
        "discriminator": ((1, 64), (1,)),
    }
    assert model.encoder.steps[2].kwargs["in_channels"] == 8  # sizes inferred inside each part
    assert model.decoder.steps[0].kwargs["in_channels"] == 4  # ...and from the previous part
    assert model.sources == {
        "encoder": "input",
        "bottleneck": "encoder",
        "decoder": "bottleneck",
        "discriminator": "input",
    }
    assert model.chain == ["encoder", "bottleneck", "decoder"]
    assert model.input_shape == (1, 64) and model.output_shape == (1, 64)
    names = [n for n, _ in model.named_parameters()]
    assert names[0] == "encoder.net.0.weight" and "discriminator.net.2.weight" in names
    assert model.parts["encoder"] is model.encoder and isinstance(model.encoder, LayerModel)
    assert model.training


def test_forward_runs_the_chain_and_the_discriminator_reads_a_model_input():
    model = codec().eval()
    x = torch.randn(3, 1, 64)
    y = model(x)
    assert isinstance(y, Tensor) and y.shape == (3, 1, 64)
    torch.testing.assert_close(y, model.decoder(model.bottleneck(model.encoder(x))))
    assert model.discriminator(y).shape == (3, 1) and model.parts["discriminator"](x).shape == (3, 1)


def test_a_part_may_read_any_earlier_part_and_is_then_a_side_branch():
    config = yaml.safe_load(CODEC)
    config["parts"]["critic"] = {"input": "encoder", "layers": ["flatten", {"linear": {"out_features": 2}}]}
    config["parts"]["head"] = ["flatten"]  # reads the critic (the previous part), so not in the chain
    model = build_model(config)
    assert model.critic.input_shape == (4, 16) and model.head.input_shape == (2,)
    assert model.chain == ["encoder", "bottleneck", "decoder"]


def test_a_part_may_be_a_bare_list_and_input_may_name_the_previous_part():
    model = build_model(
        {"parts": {"a": [{"linear": {"out_features": 3}}], "b": {"input": "a", "layers": ["relu"]}}}, (5,)
    )
    assert model.chain == ["a", "b"] and model.output_shape == (3,)


def test_variables_reach_every_part_with_part_and_caller_overrides():
    config = yaml.safe_load(CODEC)
    config["parts"]["decoder"]["layers"].append({"conv1d": {"out_channels": "$latent", "kernel_size": 1}})
    assert build_model(config).output_shape == (4, 64)
    config["parts"]["decoder"]["variables"] = {"latent": 6}  # a part's own default
    model = build_model(config)
    assert model.encoder.output_shape == (4, 16) and model.output_shape == (6, 64)
    model = build_model(config, variables={"latent": 2})  # the caller's value wins everywhere
    assert model.encoder.output_shape == (2, 16) and model.output_shape == (2, 64)
    del config["variables"]
    with pytest.raises(ModelBuildError, match=r"part 'encoder'.*layer 2 'conv1d': the variable \$latent"):
        build_model(config)


@pytest.mark.parametrize("variables", [None, {"latent": 3}])
def test_get_config_rebuilds_the_same_architecture(variables):
    config = yaml.safe_load(CODEC)
    config["parts"]["decoder"]["variables"] = {"unused": 1}  # per-part variables survive the rebuild
    model = build_model(config, variables=variables).eval()
    saved = model.get_config()
    clone = build_model(**yaml.safe_load(yaml.safe_dump(saved, sort_keys=False))).eval()  # order kept
    assert clone.get_config() == saved and build_model(saved).get_config() == saved
    clone.load_state_dict(model.state_dict())
    x = torch.randn(2, 1, 64)
    torch.testing.assert_close(clone(x), model(x))
    torch.testing.assert_close(clone.discriminator(x), model.discriminator(x))


def test_gradient_reaches_the_first_part_through_every_part():
    model = codec()
    model(torch.randn(2, 1, 64)).pow(2).mean().backward()
    assert model.encoder.net[0].weight.grad.abs().sum() > 0
    assert all(p.grad is not None for name in model.chain for p in model.parts[name].parameters())
    assert all(p.grad is None for p in model.discriminator.parameters())


# ---------------------------------------------------------------- layers returning a BrickOutput
def test_a_brick_output_passes_its_output_on_and_its_loss_is_gathered():
    model = build_model([{"linear": {"out_features": 3}}, "squash", {"linear": {"out_features": 2}}], (5,))
    assert model.steps[1].output_shape == (1, 3) and model.steps[2].kwargs["in_features"] == 3
    x = torch.randn(4, 5)
    y = model(x)
    assert isinstance(y, Tensor) and y.shape == (4, 2)
    out = model(x, return_results=True)
    assert isinstance(out, ModelOutput)
    torch.testing.assert_close(out.output, y)
    assert list(out.results) == ["net.1"] and isinstance(out.results["net.1"], Squashed)
    h = model.net[0](x)
    torch.testing.assert_close(out.results["net.1"].pre, h)
    torch.testing.assert_close(out.losses["net.1.penalty"], 0.1 * h.pow(2).mean())
    assert model.get_submodule("net.1") is model.net[1]  # keys are module paths


def test_parts_gather_results_and_losses_by_module_path():
    model = codec()
    x = torch.randn(2, 1, 64)
    out = model(x, return_results=True)
    assert list(out.results) == ["bottleneck.net.0"] and list(out.losses) == ["bottleneck.net.0.penalty"]
    assert list(out.parts) == model.chain
    torch.testing.assert_close(out.parts["decoder"], out.output)
    torch.testing.assert_close(out.parts["bottleneck"], torch.tanh(out.parts["encoder"]))
    model.zero_grad()
    out.losses["bottleneck.net.0.penalty"].backward()  # the auxiliary loss trains the encoder
    assert model.encoder.net[0].weight.grad.abs().sum() > 0


def test_a_layer_returning_something_else_is_a_build_error():
    class Pair(nn.Module):
        def forward(self, x):
            return x, x

    factory.LAYERS.extra["pair"] = LayerSpec(Pair)
    with pytest.raises(ModelBuildError, match=r"layer 0 'pair': returns tuple; .*BrickOutput"):
        build_model(["pair"], (3,))


# ---------------------------------------------------------------- errors
def _parts(**parts) -> dict:
    return {"input_shape": [4], "parts": parts}


def test_errors_name_the_part_the_layer_and_the_shapes():
    config = _parts(
        encoder=[{"linear": {"out_features": 3}}], decoder=[{"conv1d": {"out_channels": 2, "kernel_size": 1}}]
    )
    with pytest.raises(ModelBuildError) as err:
        build_model(config)
    assert str(err.value).startswith(
        "part 'decoder' (reads 'encoder', shape (3,)): layer 0 'conv1d': expected input "
        "(batch, channels, time), got (1, 3)"
    )


def test_unknown_input_and_cycles():
    with pytest.raises(
        ModelBuildError, match=r"part 'b': input 'encodr' is neither 'input'.*parts: \['a', 'b'\]"
    ):
        build_model(_parts(a=["relu"], b={"input": "encodr", "layers": ["relu"]}))
    with pytest.raises(ModelBuildError, match=r"cycle \('a' reads 'b', 'b' reads 'a'\)"):
        build_model(_parts(a={"input": "b", "layers": ["relu"]}, b=["relu"]))
    with pytest.raises(ModelBuildError, match=r"cycle \('a' reads 'a'\)"):
        build_model(_parts(a={"input": "a", "layers": ["relu"]}))


@pytest.mark.parametrize(
    "config,message",
    [
        (_parts(), "non-empty mapping"),
        ({"parts": ["relu"], "input_shape": [4]}, "non-empty mapping"),
        (_parts(a=[]), "part 'a' .*the layer list is empty"),
        (_parts(a={"layer": ["relu"]}), r"part 'a': unknown key\(s\) \['layer'\]"),
        (_parts(a={"input": "input"}), "part 'a': no 'layers' list"),
        (_parts(a="relu"), "part 'a': give a mapping"),
        (_parts(chain=["relu"]), "part name 'chain' is reserved"),
        (_parts(input=["relu"]), "part name 'input' is reserved"),
        (_parts(**{"my part": ["relu"]}), "must be an identifier"),
        ({"parts": {"a": ["relu"]}, "input_shape": [4], "layers": ["relu"]}, "not both"),
        ({"parts": {"a": ["relu"]}, "input_shape": [4], "inputs": 1}, r"unknown key\(s\) \['inputs'\]"),
        ({"parts": {"a": ["relu"]}}, "input_shape is needed"),
    ],
)
def test_bad_parts(config, message):
    with pytest.raises(ModelBuildError, match=message):
        build_model(config)


# ---------------------------------------------------------------- the one model-file reader
@pytest.mark.parametrize(
    "text",
    [
        "- relu\n",  # a bare list
        "layers: [relu]\ninput_shape: [4]\n",  # a mapping with layers
        "model: [relu]\ntrainer: {max_epochs: 1}\n",  # an experiment's model section
        "model: {layers: [relu]}\n",
        "model: net.yaml\n",  # ...naming a model file, relative to the experiment
    ],
)
def test_load_model_file_accepts_every_form(tmp_path, text):
    (tmp_path / "net.yaml").write_text("layers: [relu]\n")
    (tmp_path / "m.yaml").write_text(text)
    assert load_model_file(tmp_path / "m.yaml")["layers"] == ["relu"]


def test_load_model_file_reads_parts_and_refuses_the_rest(tmp_path):
    path = tmp_path / "codec.yaml"
    path.write_text(CODEC)
    assert list(load_model_file(path)["parts"]) == ["encoder", "bottleneck", "decoder", "discriminator"]
    (tmp_path / "exp.yaml").write_text("model: codec.yaml\n")
    assert build_model(str(tmp_path / "exp.yaml")).chain == ["encoder", "bottleneck", "decoder"]
    for text, message in [
        ("trainer: {max_epochs: 1}\n", r"a 'layers' list, a 'parts' mapping.*got keys \['trainer'\]"),
        ("relu\n", "got str"),
        ("layers: [relu]\nparts: {a: [relu]}\n", "not both"),
        ("model: nowhere.yaml\n", "model file not found: 'nowhere.yaml'"),
        ("model: bad.yaml\n", "leads back to itself"),
    ]:
        (tmp_path / "bad.yaml").write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_model_file(tmp_path / "bad.yaml")


def test_the_experiment_config_reads_model_files_with_the_same_reader(tmp_path):
    (tmp_path / "codec.yaml").write_text(CODEC)
    (tmp_path / "exp.yaml").write_text("model: codec.yaml\n")
    cfg = load_config(tmp_path / "exp.yaml")
    assert list(cfg.model.parts) == ["encoder", "bottleneck", "decoder", "discriminator"]
    (tmp_path / "inner.yaml").write_text("model: [relu]\n")  # an experiment as the model file
    (tmp_path / "exp.yaml").write_text("model: inner.yaml\n")
    assert list(load_config(tmp_path / "exp.yaml").model.layers) == ["relu"]
    (tmp_path / "exp.yaml").write_text("model: bad.yaml\n")
    (tmp_path / "bad.yaml").write_text("trainer: {max_epochs: 1}\n")
    with pytest.raises(ConfigError, match="a 'layers' list, a 'parts' mapping"):
        load_config(tmp_path / "exp.yaml")


# ---------------------------------------------------------------- summaries and `mir101 model show`
def test_summary_rows_and_table_per_part():
    model = codec()
    rows = summarize(model)
    assert [r.part for r in rows] == ["encoder"] * 3 + ["bottleneck"] + ["decoder"] + ["discriminator"] * 3
    assert rows[3].name == "squash" and rows[3].output_shape == (4, 16)
    assert sum(r.params for r in rows) == sum(p.numel() for p in model.parameters())
    assert rows[0].macs == 8 * 16 * 1 * 4
    text = format_summary(model, rows, title="model: codec").splitlines()
    assert text[0] == "model: codec"
    assert text[1] == "input (1, 64) -> output (1, 64) (encoder -> bottleneck -> decoder)"
    enc = sum(p.numel() for p in model.encoder.parameters())
    assert text[2].startswith(
        f"part 'encoder': reads the model input, input (1, 64) -> output (4, 16), {enc} parameters"
    )
    assert any(
        line.startswith("part 'discriminator': reads the model input, input (1, 64) -> output (1,)")
        for line in text
    )
    assert any(
        line.startswith("part 'decoder': reads 'bottleneck', input (4, 16) -> output (1, 64)")
        for line in text
    )
    assert (
        text[-1].startswith(f"total: {sum(r.params for r in rows):,} parameters")
        and "each part run once" in text[-1]
    )


def test_model_show_prints_each_part(tmp_path, capsys):
    path = tmp_path / "codec.yaml"
    path.write_text(CODEC)
    assert main(["model", "show", str(path), "--var", "latent=2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"model: {path}\ninput (1, 64) -> output (1, 64)")
    for name in ("encoder", "bottleneck", "decoder", "discriminator"):
        assert f"part '{name}'" in out
    assert "output (2, 16)" in out and "MACs per input item" in out
    assert main(["model", "show", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["chain"] == ["encoder", "bottleneck", "decoder"] and "layers" not in data
    assert [p["name"] for p in data["parts"]] == ["encoder", "bottleneck", "decoder", "discriminator"]
    disc = data["parts"][3]
    assert disc["input"] == "input" and disc["input_shape"] == [1, 64] and disc["output_shape"] == [1]
    assert data["params"] == sum(p["params"] for p in data["parts"])
    assert data["macs"] == sum(p["macs"] for p in data["parts"])
    assert [r["name"] for r in data["parts"][0]["layers"]] == ["conv1d", "relu", "conv1d"]


def test_model_show_an_experiment_with_parts(tmp_path, capsys):
    (tmp_path / "exp.yaml").write_text(
        "model:\n" + "".join(f"  {line}\n" for line in CODEC.strip().splitlines())
    )
    assert main(["model", "show", str(tmp_path / "exp.yaml"), "--input-shape", "1", "128"]) == 0
    assert "part 'decoder': reads 'bottleneck', input (4, 32) -> output (1, 128)" in capsys.readouterr().out


# ---------------------------------------------------------------- docstring examples
@pytest.mark.parametrize(
    "name", ["mir101.models.factory", "mir101.models.parts", "mir101.models.summary", "mir101.bricks.results"]
)
def test_docstring_examples_run(name):
    result = doctest.testmod(
        importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0


def test_output_prior_goes_to_the_last_part_of_the_chain():
    config = yaml.safe_load(CODEC)
    config["parts"]["decoder"]["layers"].append({"conv1d": {"out_channels": 1, "kernel_size": 1}})
    model = init_output_prior(build_model(config), 0.25)
    torch.testing.assert_close(torch.sigmoid(model.decoder.net[1].bias), torch.tensor([0.25]))
    assert not torch.allclose(torch.sigmoid(model.discriminator.net[2].bias), torch.tensor([0.25]))
