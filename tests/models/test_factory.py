"""The YAML layer-list factory: parsing, inference, skip connections, conditions, variables, errors."""

from __future__ import annotations

import pytest
import torch
import yaml
from omegaconf import OmegaConf
from torch import nn

from mir101.errors import ModelBuildError, ShapeError
from mir101.models import LAYERS, build_model, layer_names

SMALL = """
input_shape: [6, 20, 10]
layers:
  - batchnorm2d
  - conv2d: {out_channels: 4, kernel_size: [3, 3], padding: same}
  - relu
  - conv2d: {out_channels: 1, kernel_size: 1}
"""


def test_infers_sizes_from_the_traced_shape():
    model = build_model(yaml.safe_load(SMALL))
    assert model.input_shape == (6, 20, 10) and model.output_shape == (1, 20, 10)
    assert model.steps[0].kwargs == {"num_features": 6}
    assert model.steps[1].kwargs["in_channels"] == 6 and model.steps[3].kwargs["in_channels"] == 4
    assert [s.output_shape for s in model.steps][-1] == (1, 1, 20, 10)
    assert model(torch.randn(3, 6, 20, 10)).shape == (3, 1, 20, 10)
    assert model.training  # built in training mode, traced in eval mode


def test_item_forms_and_case_insensitive_names():
    layers = [
        "BatchNorm2d",  # bare name, any case
        {"Conv2d": {"in_channels": -1, "out_channels": 4, "kernel_size": 3}},  # the tutorial's -1
        ["ReLU", "empty"],  # the tutorial's [Name, kwargs] pair
        {"flatten": None},
        {"linear": {"in_features": 4 * 4 * 4, "out_features": 2}},
    ]
    model = build_model(layers, (2, 6, 6))
    assert model.output_shape == (2,)
    assert isinstance(model.net[0], nn.BatchNorm2d) and model.net[1].in_channels == 2


def test_infers_every_size_argument():
    layers = [
        {"conv1d": {"out_channels": 8, "kernel_size": 3}},  # in_channels
        "batchnorm1d",  # num_features
        {"permute": {"dims": [0, 2, 1]}},
        "layernorm",  # normalized_shape
        {"lstm": {"hidden_size": 5, "bidirectional": True}},  # input_size
        {"linear": {"out_features": 6}},  # in_features
        "batchnorm1dt",  # num_features on the last axis
        {"transformerencoder": {"n_heads": 2, "n_layers": 1}},  # d_model
        {"permute": {"dims": [0, 2, 1]}},
        {"attentionpool": {}},  # channels
    ]
    model = build_model(layers, (3, 20))
    kw = [s.kwargs for s in model.steps]
    assert kw[0]["in_channels"] == 3 and kw[1]["num_features"] == 8 and kw[3]["normalized_shape"] == 8
    assert kw[4]["input_size"] == 8 and kw[5]["in_features"] == 10 and kw[6]["num_features"] == 6
    assert kw[7]["d_model"] == 6 and kw[9]["channels"] == 6
    assert model.output_shape == (6,)


def test_store_concat_add():
    layers = [
        {"conv2d": {"out_channels": 3, "kernel_size": 3, "padding": "same"}},
        {"store": "skip"},
        {"conv2d": {"out_channels": 3, "kernel_size": 3, "padding": "same"}},
        {"add": "skip"},
        {"concat": "skip"},
    ]
    model = build_model(layers, (2, 5, 5))
    assert model.output_shape == (6, 5, 5)
    x = torch.randn(2, 2, 5, 5)
    a = model.net[0](x)
    b = model.net[2](a) + a
    torch.testing.assert_close(model(x), torch.cat([b, a], dim=1))
    assert [n for n, _ in model.named_parameters()][0] == "net.0.weight"


def test_film_conditions_from_model_inputs():
    layers = [{"conv2d": {"out_channels": 4, "kernel_size": 1}}, {"film": {"condition": "genre"}}]
    model = build_model(layers, (2, 5, 5), conditions={"genre": (3,)})
    assert model.steps[1].kwargs == {"num_features": 4, "cond_dim": 3}
    x, genre = torch.randn(2, 2, 5, 5), torch.randn(2, 3)
    assert model(x, genre=genre).shape == (2, 4, 5, 5)
    assert not torch.allclose(model(x, genre=genre), model(x, genre=genre + 1))
    with pytest.raises(ShapeError, match="genre"):
        model(x)
    with pytest.raises(ModelBuildError, match="condition"):
        build_model(layers, (2, 5, 5))


def test_variables_from_the_file_and_the_caller():
    config = {"variables": {"n": 3}, "layers": [{"linear": {"out_features": "$n"}}], "input_shape": [4]}
    assert build_model(config).output_shape == (3,)
    assert build_model(config, variables={"n": 7}).output_shape == (7,)
    with pytest.raises(ModelBuildError, match=r"layer 0 'linear': the variable \$n has no value"):
        build_model(config["layers"], (4,))


def test_accepts_omegaconf_a_path_and_a_mapping(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(SMALL)
    assert build_model(str(path)).output_shape == (1, 20, 10)
    assert build_model(OmegaConf.create(yaml.safe_load(SMALL))).output_shape == (1, 20, 10)
    assert build_model(yaml.safe_load(SMALL), (6, 8, 4)).output_shape == (1, 8, 4)  # argument wins


def test_get_config_rebuilds_the_same_architecture():
    torch.manual_seed(0)
    model = build_model(yaml.safe_load(SMALL)).eval()
    clone = build_model(**model.get_config()).eval()
    clone.load_state_dict(model.state_dict())
    x = torch.randn(2, 6, 20, 10)
    torch.testing.assert_close(clone(x), model(x))


def test_building_is_reproducible_under_a_seed():
    torch.manual_seed(3)
    a = build_model(yaml.safe_load(SMALL))
    torch.manual_seed(3)
    b = build_model(yaml.safe_load(SMALL))
    for (_, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        torch.testing.assert_close(pa, pb)


def test_fully_convolutional_models_take_other_lengths_but_not_other_ranks():
    model = build_model(yaml.safe_load(SMALL))
    assert model(torch.randn(1, 6, 20, 33)).shape == (1, 1, 20, 33)
    with pytest.raises(ShapeError, match=r"\(batch, \*\(6, 20, 10\)\)"):
        model(torch.randn(6, 20, 10))


def test_token_inputs():
    model = build_model(
        [{"transformerdecoder": {"d_model": 16, "n_heads": 2, "n_layers": 1, "vocab_size": 11}}],
        (12,),
        input_dtype="int64",
    )
    assert model.output_shape == (12, 11)
    assert model(torch.randint(0, 11, (2, 12))).shape == (2, 12, 11)


def test_every_registered_layer_has_a_layout_and_the_names_are_listed():
    names = layer_names()
    assert {"conv2d", "lstm", "autopool", "sincnet", "unet", "film", "store", "concat", "add"} <= set(names)
    assert all(LAYERS.get(n).layout for n in LAYERS.names())


# ------------------------------------------------------------------------------------ errors
def test_unknown_layer_names_the_index_and_lists_valid_names():
    with pytest.raises(ModelBuildError) as err:
        build_model(["batchnorm2d", {"conv2": {"out_channels": 4, "kernel_size": 3}}], (6, 20, 10))
    msg = str(err.value)
    assert "layer 1" in msg and "unknown layer 'conv2'" in msg and "did you mean 'conv2d'" in msg
    assert "valid names" in msg and "autopool" in msg


def test_bad_kwarg_names_the_layer_and_the_allowed_arguments():
    with pytest.raises(ModelBuildError) as err:
        build_model(["batchnorm2d", {"conv2d": {"out_chanels": 4, "kernel_size": 3}}], (6, 20, 10))
    msg = str(err.value)
    assert "layer 1 'conv2d'" in msg and "out_chanels" in msg and "did you mean 'out_channels'" in msg


def test_wrong_rank_names_the_expected_layout_and_the_shape_received():
    layers = [
        {"flatten": {}},
        {"linear": {"out_features": 64}},
        {"conv2d": {"out_channels": 4, "kernel_size": 3}},
    ]
    with pytest.raises(ModelBuildError) as err:
        build_model(layers, (6, 20, 10))
    assert str(err.value).startswith(
        "layer 2 'conv2d': expected input (batch, channels, freq, time), got (1, 64)"
    )


def test_explicit_size_that_contradicts_the_input():
    with pytest.raises(ModelBuildError) as err:
        build_model([{"conv2d": {"in_channels": 8, "out_channels": 4, "kernel_size": 3}}], (6, 20, 10))
    msg = str(err.value)
    assert "layer 0 'conv2d': in_channels=8 but the input (1, 6, 20, 10) has 6 on axis 1" in msg
    assert "remove in_channels to infer it" in msg


def test_input_too_small_for_a_layer():
    with pytest.raises(ModelBuildError) as err:
        build_model([{"conv2d": {"out_channels": 4, "kernel_size": [70, 3]}}], (6, 20, 10))
    msg = str(err.value)
    assert (
        "layer 0 'conv2d': input (1, 6, 20, 10) does not fit (expected (batch, channels, freq, time))" in msg
    )


def test_brick_shape_errors_become_build_errors():
    with pytest.raises(ModelBuildError, match=r"layer 1 'squeeze'.*size 1 on axis 2"):
        build_model([{"conv2d": {"out_channels": 4, "kernel_size": 3}}, {"squeeze": {"dim": 2}}], (1, 8, 8))
    with pytest.raises(ModelBuildError, match=r"layer 0 'sincnet'.*mono"):
        build_model([{"sincnet": {"kernel_size": 11}}], (2, 100))


def test_bad_values_become_build_errors():
    with pytest.raises(ModelBuildError, match=r"layer 0 'convblock2d'.*norm"):
        build_model([{"convblock2d": {"out_channels": 4, "norm": "batchnorm"}}], (1, 8, 8))


def test_skip_errors():
    with pytest.raises(
        ModelBuildError, match=r"layer 1 'concat': no tensor stored as 'skp'.*did you mean 'skip'"
    ):
        build_model([{"store": "skip"}, {"concat": "skp"}], (1, 8, 8))
    layers = [{"store": "E0"}, {"maxpool2d": {"kernel_size": 2}}, {"concat": "E0"}]
    with pytest.raises(
        ModelBuildError, match=r"layer 2 'concat': cannot concatenate the input \(1, 1, 4, 4\)"
    ):
        build_model(layers, (1, 8, 8))
    with pytest.raises(ModelBuildError, match=r"layer 1 'add'"):
        build_model([{"store": "E0"}, {"add": "E1"}], (1, 8, 8))
    with pytest.raises(ModelBuildError, match="stored tensor's name"):
        build_model([{"store": {"name": "x"}}], (1, 8, 8))


def test_malformed_items():
    with pytest.raises(ModelBuildError, match="indentation"):
        build_model([{"conv2d": None, "out_channels": 4}], (1, 8, 8))
    with pytest.raises(ModelBuildError, match=r"layer 0 'dropout': its arguments must be a mapping"):
        build_model([{"dropout": 0.1}], (1, 8, 8))
    with pytest.raises(ModelBuildError, match="empty"):
        build_model([], (1, 8, 8))
    with pytest.raises(ModelBuildError, match="input_shape"):
        build_model(["relu"])
    with pytest.raises(ModelBuildError, match="model file not found: 'relu'"):
        build_model("relu")  # a string is the path of a model YAML
    with pytest.raises(ModelBuildError, match="must be a list"):
        build_model({"layers": "relu"}, (1, 8, 8))
