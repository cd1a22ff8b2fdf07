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


# ----------------------------------------------------------------------------- values no library can use
#: (override, what the one error line says: the key and its value)
BAD_VALUES = [
    ("optim.lr=nan", "optim.lr=nan must be positive and finite"),
    ("optim.lr=inf", "optim.lr=inf must be positive and finite"),
    ("optim.lr=-inf", "optim.lr=-inf must be positive and finite"),
    ("optim.weight_decay=nan", "optim.weight_decay=nan must be a finite number >= 0"),
    ("optim.warmup_steps=-5", "optim.warmup_steps=-5 must be >= 0"),
    ("train.seed=-1", "train.seed=-1 must be an integer from 0 to 4294967295"),
    ("train.seed=4294967296", "train.seed=4294967296 must be an integer from 0 to 4294967295"),
    ("data.split.seed=-3", "data.split.seed=-3 must be an integer from 0 to"),
    ("trainer.seed=-1", "train.seed=-1 must be an integer"),  # the key's old place still checked
    ("trainer.max_time=1hour", "trainer.max_time='1hour' must be a duration DD:HH:MM:SS"),
    ("trainer.max_time=12:00", "trainer.max_time='720' must be a duration DD:HH:MM:SS"),  # base 60
    ("trainer.max_time=1:00:00:00", "quote it"),
    ("data.max_items=-1", "data.max_items=-1 must be a positive integer, or null"),
    ("data.max_items=0", "data.max_items=0 must be a positive integer, or null"),
    ("trainer.gradient_clip_val=nan", "trainer.gradient_clip_val=nan must be a finite number >= 0"),
    ("trainer.accumulate_grad_batches=0", "trainer.accumulate_grad_batches=0 must be >= 1"),
    ("trainer.log_every_n_steps=-1", "trainer.log_every_n_steps=-1 must be >= 1"),
    ("trainer.val_check_interval=0", "trainer.val_check_interval=0 must be a fraction of an epoch"),
    ("trainer.limit_val_batches=nan", "trainer.limit_val_batches=nan must be a fraction of an epoch"),
    ("train.patience=-2", "train.patience=-2 must be >= 0"),
]


@pytest.mark.parametrize(("override", "expected"), BAD_VALUES, ids=[c[0] for c in BAD_VALUES])
def test_a_value_no_library_can_use_is_named(tiny_store, tmp_path, cli_error, override, expected):
    path = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "run")
    msg = cli_error(["train", path, override])
    assert expected in msg and str(path) in msg, msg
    assert not (tmp_path / "run").exists()


def test_a_trainer_option_lightning_refuses_once_it_sees_the_data(tiny_store, tmp_path, cli_error):
    """Lightning checks val_check_interval against the number of batches inside fit: still one
    line, naming the key."""
    path = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "run")
    msg = cli_error(["train", path, "trainer.val_check_interval=1000"])
    assert msg.startswith("trainer.val_check_interval=1000: refused by Lightning"), msg


@pytest.mark.parametrize(
    ("lines", "key"),
    [
        ({"name": "${run_dir}", "run_dir": "${name}"}, "name"),
        ({"name": "${name}"}, "name"),
        ({"name": "${data.store}", "data": {"store": "${task.name}"}, "task": {"name": "${name}"}}, "name"),
        ({"data": {"batch_size": "${data.patch_frames}", "patch_frames": "${data.batch_size}"}}, "data."),
    ],
    ids=["two keys", "itself", "three keys", "nested"],
)
def test_an_interpolation_cycle_is_named(tiny_store, tmp_path, cli_error, lines, key):
    path = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "run")
    cfg = yaml.safe_load(path.read_text())
    for section, value in lines.items():
        cfg[section] = {**cfg[section], **value} if isinstance(value, dict) else value
    path.write_text(yaml.safe_dump(cfg))
    msg = cli_error(["train", path])
    assert msg.startswith(f"{path}: key '{key}") and "Recursive interpolation" in msg, msg


def test_an_interpolation_of_a_missing_key_is_named(tiny_store, tmp_path, cli_error):
    path = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "run", name="${nope}")
    assert cli_error(["train", path]) == f"{path}: key 'name': Interpolation key 'nope' not found"


def _zip(p):
    import zipfile

    with zipfile.ZipFile(p, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")


@pytest.mark.parametrize(
    ("write", "expected"),
    [
        (lambda p: p.write_bytes(bytes(range(256)) * 8), "not a YAML text file"),
        (_zip, "not a YAML text file"),
        (lambda p: p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(200)), "invalid YAML"),
        (lambda p: p.write_text("task: {name: multipitch}\nx: \x00\x01\n"), "invalid YAML"),
        (lambda p: p.write_text("task: " + "[" * 5000 + "]" * 5000 + "\n"), "nested too deeply"),
        (lambda p: p.write_text("task: " + "[" * 100 + "]" * 100 + "\n"), "nested more than 64 levels"),
    ],
    ids=["random bytes", "a zip (a checkpoint)", "a WAV header", "control characters", "deep", "deeper than 64"],
)
def test_a_file_that_is_not_a_config(tmp_path, cli_error, write, expected):
    path = tmp_path / "exp.yaml"
    write(path)
    msg = cli_error(["train", path])
    assert msg.startswith(str(path)) and expected in msg, msg


BOMB = "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9) if p else ', '.join(['lol'] * 9)}]\n"
    for p, n in zip(["", "a", "b", "c", "d", "e", "f", "g"], ["a", "b", "c", "d", "e", "f", "g", "h"])
)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("where", ["experiment", "model file", "extends"])
def test_a_yaml_alias_bomb_is_refused_quickly(tiny_store, tmp_path, cli_error, where):
    """Nine aliases of nine aliases...: 43 M values once expanded; refused, never expanded."""
    bomb = tmp_path / "bomb.yaml"
    path = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "run")
    if where == "experiment":
        path.write_text(path.read_text() + BOMB + "task: {name: multipitch, pos_weight: 3, x: *h}\n")
        culprit = path
    elif where == "model file":
        bomb.write_text(BOMB + "layers: *h\n")
        path = write_config(path, tiny_store, tmp_path / "run", model=str(bomb))
        culprit = bomb
    else:
        bomb.write_text(BOMB + "name: x\n")
        path.write_text(f"extends: {bomb}\n" + path.read_text())
        culprit = bomb
    msg = cli_error(["train", path])
    assert msg.startswith(f"{culprit}: the YAML expands to more than 100000 values"), msg


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"corpus": "chorales", "store": None, "corpus_args": {"name": "x"}}, "data.corpus_args.name"),
        ({"corpus": "notes", "store": None, "corpus_args": {"out": "{out}"}}, "data.corpus_args.out"),
        (
            {"test_stores": {"other": {"corpus": "chorales", "corpus_args": {"n": 1, "out": "{out}"}}}},
            "data.test_stores.other.corpus_args.out",
        ),
    ],
    ids=["name collides with the corpus name", "out", "out of a test store"],
)
def test_corpus_args_never_place_the_corpus(tiny_store, tmp_path, cli_error, data, key):
    out = tmp_path / "elsewhere"
    text = yaml.safe_dump(data).replace("'{out}'", str(out))
    path = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "run", data=yaml.safe_load(text))
    msg = cli_error(["train", path])
    assert f"{key} is not allowed" in msg and "mir101 data" in msg, msg
    assert not out.exists()
