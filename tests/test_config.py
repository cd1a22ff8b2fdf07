import pytest
import yaml

from mir101.config import load_config, load_yaml
from mir101.errors import ConfigError


@pytest.fixture
def cfg_file(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "task": {"name": "multipitch"},
                "input": {"name": "hcqt", "hop_length": 512},
                "model": [{"conv2d": {"out_channels": 4}}],
                "trainer": {"max_epochs": 5},
            }
        )
    )
    return path


def test_load_and_override(cfg_file):
    cfg = load_config(cfg_file, ["trainer.max_epochs=3", "data.batch_size=8", "input.hop_length=256"])
    assert cfg.trainer.max_epochs == 3 and cfg.data.batch_size == 8 and cfg.input.hop_length == 256
    assert cfg.model.layers[0]["conv2d"]["out_channels"] == 4  # a bare list becomes model.layers
    assert cfg.data.split.by == "work_id"  # defaults filled in


def test_unknown_key_names_key_file_and_allowed(cfg_file):
    cfg_file.write_text(cfg_file.read_text() + "data:\n  batchsize: 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(cfg_file)
    msg = str(err.value)
    assert "data.batchsize" in msg and str(cfg_file) in msg and "batch_size" in msg and "allowed keys" in msg


def test_override_typo_and_wrong_type(cfg_file):
    with pytest.raises(ConfigError, match=r"trainer.max_epoch'.*did you mean 'max_epochs'"):
        load_config(cfg_file, ["trainer.max_epoch=3"])
    with pytest.raises(ConfigError, match="trainer.max_epochs.*could not be converted"):
        load_config(cfg_file, ["trainer.max_epochs=many"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config(cfg_file, ["trainer.max_epochs"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.batch_size=0", "must be a positive integer"),
        ("data.split.valid=0.9", "sum is below 1"),
        ("optim.lr=-1", "must be positive"),
        ("train.mode=up", "'min' or 'max'"),
    ],
)
def test_bad_values(cfg_file, override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(cfg_file, [override])


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("task: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_yaml(path)


def test_model_from_file(tmp_path):
    (tmp_path / "net.yaml").write_text("layers:\n  - flatten: {}\n")
    (tmp_path / "exp.yaml").write_text("model: net.yaml\n")
    assert load_config(tmp_path / "exp.yaml").model.layers[0] == {"flatten": {}}
    (tmp_path / "exp.yaml").write_text("model: missing.yaml\n")
    with pytest.raises(ConfigError, match="model file not found"):
        load_config(tmp_path / "exp.yaml")


def test_missing_file():
    with pytest.raises(ConfigError, match="not found"):
        load_config("nope.yaml")


def test_extends_merges_parent_first(tmp_path):
    (tmp_path / "base.yaml").write_text("trainer: {max_epochs: 7}\ntrain: {seed: 3}\ndata: {batch_size: 4}\n")
    (tmp_path / "row.yaml").write_text("extends: base.yaml\ntrainer: {max_epochs: 2}\n")
    cfg = load_config(tmp_path / "row.yaml")
    assert (cfg.trainer.max_epochs, cfg.train.seed, cfg.data.batch_size) == (2, 3, 4)
    (tmp_path / "base.yaml").write_text("extends: row.yaml\n")
    with pytest.raises(ConfigError, match="loops back"):
        load_config(tmp_path / "row.yaml")


def test_mandatory_value(tmp_path):
    (tmp_path / "row.yaml").write_text("data:\n  store: ???\n")
    with pytest.raises(ConfigError, match="data.store must be set"):
        load_config(tmp_path / "row.yaml")
    assert load_config(tmp_path / "row.yaml", ["data.store=x"]).data.store == "x"


def test_trainer_holds_lightning_keys_only():
    import inspect

    import lightning as L

    from mir101.config import TrainConfig, TrainerConfig

    accepted = set(inspect.signature(L.Trainer).parameters)
    assert set(TrainerConfig.__dataclass_fields__) <= accepted
    assert not set(TrainConfig.__dataclass_fields__) & accepted


def test_options_written_under_trainer_before_train_existed_still_load(tmp_path, caplog):
    # run folders written before the `train` section keep loading (--resume, evaluate, predict)
    (tmp_path / "old.yaml").write_text("trainer: {max_epochs: 2, seed: 5, patience: 3, channels_last: true}\neval: {}\n")
    cfg = load_config(tmp_path / "old.yaml", ["trainer.monitor=val/loss"])
    assert (cfg.train.seed, cfg.train.patience, cfg.train.channels_last, cfg.train.monitor) == (5, 3, True, "val/loss")
    assert cfg.trainer.max_epochs == 2 and "seed" not in cfg.trainer and "eval" not in cfg
    assert "is now train." in caplog.text


def test_an_empty_mapping_on_the_command_line_empties_it(tmp_path):
    (tmp_path / "row.yaml").write_text("data: {where: {role: mix}, corpus_args: {n: 4}}\n")
    cfg = load_config(tmp_path / "row.yaml", ["data.where={}"])
    assert dict(cfg.data.where) == {} and cfg.data.corpus_args.n == 4
    assert dict(load_config(tmp_path / "row.yaml", ["data.where.role=stem"]).data.where) == {"role": "stem"}
