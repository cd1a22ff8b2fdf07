"""Inputs built by name from a config's ``input`` section."""

import pytest
import yaml

from mir101.config import load_config
from mir101.errors import ConfigError
from mir101.inputs import CQT, INPUTS, HarmonicCQT, LogMel, build_input


def test_every_name_builds_and_round_trips():
    assert INPUTS.names() == ["chroma", "cqt", "hcqt", "logmel", "stft", "waveform"]
    for name in INPUTS.names():
        module = build_input({"name": name})
        assert type(module) is INPUTS.get(name)
        assert build_input({"name": name, **module.get_config()}).get_config() == module.get_config()


def test_names_are_case_insensitive_and_kwargs_pass_through():
    m = build_input(
        {"name": "HCQT", "sr": 22050, "hop_length": 256, "bins_per_semitone": 5, "harmonics": [1, 2]}
    )
    assert isinstance(m, HarmonicCQT)
    assert (m.hop_length, m.bins_per_semitone, m.harmonics, m.n_channels) == (256, 5, (1.0, 2.0), 2)
    assert isinstance(build_input({"name": "LogMel", "n_mels": 64}), LogMel)


def test_from_an_experiment_file(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "task": {"name": "multipitch"},
                "input": {"name": "hcqt", "hop_length": 512, "harmonics": [0.5, 1, 2, 3, 4, 5], "log": None},
                "model": [{"conv2d": {"out_channels": 4}}],
            }
        )
    )
    cfg = load_config(path, ["input.bins_per_semitone=5"])
    m = build_input(cfg.input)
    assert isinstance(m, HarmonicCQT) and m.bins_per_semitone == 5 and m.harmonics == (0.5, 1, 2, 3, 4, 5)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown input 'hcqtt' \(did you mean 'hcqt'\?\).*cqt.*logmel") as err:
        build_input({"name": "hcqtt"})
    assert str(err.value).count("hcqtt") == 1, err.value  # said once, not prefixed twice


def test_unknown_kwarg_lists_the_allowed_ones():
    with pytest.raises(ConfigError, match=r"input 'cqt'.*\['bins_per_octave'\].*bins_per_semitone"):
        build_input({"name": "cqt", "bins_per_octave": 36})


def test_bad_value_and_missing_name_are_config_errors():
    with pytest.raises(ConfigError, match=r"input 'cqt': .*n_octaves=0"):
        build_input({"name": "cqt", "n_octaves": 0})
    with pytest.raises(ConfigError, match="name"):
        build_input({"hop_length": 512})
    assert isinstance(build_input({"name": "cqt", "n_octaves": 2}), CQT)
