"""Experiment configs with mistakes: each fails before any training, in one line naming the key,
the layer or the parameter (and the file where one is involved).

tests/test_config.py and tests/models/test_factory.py check the library; here every case goes
through ``mir101 train CONFIG`` (or ``mir101 model show``) as a user would run it.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from mir101.config import load_config
from mir101.errors import ConfigError
from tinyrun import TINY_MODEL, write_config

UNET = [
    {"conv2d": {"out_channels": 4, "kernel_size": 3, "padding": "same"}},
    {"store": "E1"},
    {"maxpool2d": {"kernel_size": 2}},
    {"store": "E2"},
    {"maxpool2d": {"kernel_size": 2}},
    {"store": "E3"},
    {"maxpool2d": {"kernel_size": 2}},
    {"upsample": {"scale_factor": 2}},
    {"concat": "E3"},
    {"upsample": {"scale_factor": 2}},
    {"concat": "E2"},
    {"upsample": {"scale_factor": 2}},
    {"concat": "E1"},
    {"conv2d": {"out_channels": 1, "kernel_size": 1}},
]


def _layers(*changes):
    """TINY_MODEL with ``(index, item)`` replacements (``index`` past the end appends)."""
    layers = copy.deepcopy(TINY_MODEL)
    for i, item in changes:
        layers[i : i + 1] = [item]
    return {"model": {"layers": layers}}


def _drop(section, key=None):
    def edit(cfg):
        if key is None:
            cfg.pop(section)
        else:
            cfg[section].pop(key)

    return edit


#: (case, sections given to write_config or a function editing the config dict, expected text)
BAD_CONFIGS = [
    ("top-level typo", {"trainr": {"max_epochs": 1}}, "unknown key 'trainr' (did you mean 'trainer'?)"),
    (
        "nested typo",
        {"data": {"patch_frame": 8}},
        "unknown key 'data.patch_frame' (did you mean 'patch_frames'?)",
    ),
    ("deeper typo", {"data": {"split": {"vaild": 0.1}}}, "unknown key 'data.split.vaild'"),
    ("wrong type", {"data": {"batch_size": "many"}}, "key 'data.batch_size': Value 'many'"),
    ("list for a number", {"trainer": {"max_epochs": [1, 2]}}, "key 'trainer.max_epochs'"),
    (
        "unknown layer",
        _layers((1, {"conv2dd": {"out_channels": 8}})),
        "layer 1: unknown layer 'conv2dd' (did you mean 'conv2d'?)",
    ),
    (
        "bad kwarg",
        _layers((1, {"conv2d": {"out_channel": 8, "kernel_size": 3}})),
        "layer 1 'conv2d': unknown argument(s) ['out_channel']",
    ),
    (
        "bad kwarg value",
        _layers((1, {"conv2d": {"out_channels": -8, "kernel_size": 3}})),
        "layer 1 'conv2d': cannot be built",
    ),
    (
        "shape mismatch",
        _layers((0, {"batchnorm2d": {"num_features": 5}})),
        "layer 0 'batchnorm2d': num_features=5 but the input (1, 3, 48, 64) has 3",
    ),
    ("skip to nowhere", _layers((2, {"concat": "E9"})), "layer 2 'concat': no tensor stored as 'E9'"),
    (
        "U-Net patch too short",
        {"model": {"layers": UNET}, "data": {"patch_frames": 4}},
        "layer 6 'maxpool2d': input (1, 4, 12, 1) does not fit",
    ),
    (
        "U-Net patch not divisible",
        {"model": {"layers": UNET}, "data": {"patch_frames": 36}},
        "layer 8 'concat': cannot concatenate",
    ),
    ("patch of 0 frames", {"data": {"patch_frames": 0}}, "data.patch_frames=0 must be a positive integer"),
    (
        "unknown task",
        {"task": {"name": "multipich"}},
        "unknown task 'multipich' (did you mean 'multipitch'?)",
    ),
    ("task option typo", {"task": {"pos_wieght": 2}}, "task 'multipitch': bad option 'pos_wieght'"),
    ("unknown input", {"input": {"name": "hcqtt"}}, "unknown input 'hcqtt' (did you mean 'hcqt'?)"),
    ("input without name", _drop("input", "name"), "the 'input' section needs a 'name'"),
    ("input bad kwarg", {"input": {"hop_lenght": 256}}, "input 'hcqt': unknown argument(s) ['hop_lenght']"),
    ("input bad value", {"input": {"n_octaves": 9}}, "exceeds the Nyquist frequency sr/2 = 11025.0 Hz"),
    ("no model", _drop("model"), "needs a 'model' section with a 'layers' list"),
    ("model file missing", {"model": "no_such_net.yaml"}, "model file not found: 'no_such_net.yaml'"),
    ("no task", _drop("task"), "needs a 'task' section with a 'name'"),
    ("unknown accelerator", {"trainer": {"accelerator": "tpuu"}}, "accelerator='tpuu'"),
    ("unknown precision", {"trainer": {"precision": "13-bit"}}, "Precision '13-bit' is invalid"),
    (
        "store missing",
        {"data": {"store": "/nonexistent/store"}},
        "store file not found: /nonexistent/store.hdf5",
    ),
    (
        "corpus argument typo",
        {"data": {"store": None, "corpus": "chorales", "corpus_args": {"nn": 2}}},
        "corpus 'chorales': unknown argument(s) ['nn']",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS]
)
def test_train_rejects_the_config_in_one_line(tiny_store, tmp_path, cli_error, change, expected):
    if callable(change):
        path = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "run")
        cfg = yaml.safe_load(path.read_text())
        change(cfg)
        path.write_text(yaml.safe_dump(cfg))
    else:
        path = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "run", **change)
    msg = cli_error(["train", path])
    assert expected in msg, msg
    assert not (tmp_path / "run" / "model.pt").exists()


def test_unknown_monitor_is_named(tiny_store, tmp_path, cli_error):
    """Only known once the task logs its first values: after one short epoch, not after the run."""
    path = write_config(
        tmp_path / "exp.yaml",
        tiny_store,
        tmp_path / "run",
        train={"monitor": "val/f2", "patience": 3},
        trainer={"max_epochs": 5, "limit_train_batches": 1},
    )
    msg = cli_error(["train", path])
    assert "train.monitor='val/f2' is not a value this task logs" in msg and "val/f1" in msg, msg


def test_yaml_syntax_error_names_file_and_line(tmp_path, cli_error):
    path = tmp_path / "exp.yaml"
    path.write_text("task: {name: multipitch}\ndata:\n  store: [unclosed\n")
    msg = cli_error(["train", path])
    assert msg.startswith(f"{path}, line 4, column 1: invalid YAML: while parsing a flow sequence"), msg


def test_override_typo_and_bad_override(tiny_store, tmp_path, cli_error):
    path = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "run")
    assert "did you mean 'max_epochs'" in cli_error(["train", path, "trainer.max_epoch=2"])
    assert "must look like key=value" in cli_error(["train", path, "trainer.max_epochs"])


def test_model_show_names_the_layer(tiny_store, tmp_path, cli_error):
    path = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "run", **_layers((3, "relu6x")))
    assert cli_error(["model", "show", path]).startswith("layer 3: unknown layer 'relu6x'")


def test_a_config_that_is_a_list(tmp_path):
    (tmp_path / "exp.yaml").write_text("- task\n- data\n")
    with pytest.raises(ConfigError, match="the top level must be a mapping of sections, got list"):
        load_config(tmp_path / "exp.yaml")


def test_missing_config_file(cli_error, tmp_path):
    assert cli_error(["train", tmp_path / "nope.yaml"]) == f"config file not found: {tmp_path / 'nope.yaml'}"


def test_train_without_a_config(cli_error, tmp_path):
    assert cli_error(["train"]) == "mir101 train: give a CONFIG file, or --resume RUN_DIR"
    msg = cli_error(["train", "exp.yaml", "--resume", tmp_path])
    assert msg == f"mir101 train --resume {tmp_path} takes no CONFIG ('exp.yaml'): the run folder holds it"
