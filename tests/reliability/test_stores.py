"""Stores a user may build or download: every problem found by ``mir101 data validate`` (or by
opening the store) as one line naming the file, the entry and the key.

tests/data/test_store.py checks the library's list of problems; here each case goes through the
command line, one problem per store, and the cases that used to crash the command are included.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from mir101.data.store import Store
from mir101.data.targets import chord_class
from mir101.errors import AnnotationError, AudioError, StoreValidationError
from mir101.inputs import FeatureCache, HarmonicCQT
from tinyrun import write_config

SR = 22050
SECOND = (np.zeros(SR, np.float32), SR)


def _store(root: Path, entries, audio: dict, pyjama: str | None = None) -> Path:
    """A store written by hand (no StoreWriter), so that it can be wrong in any way."""
    with h5py.File(root / "bad.hdf5", "w") as f:
        for key, (x, sr) in audio.items():
            f[key] = x
            if sr is not None:
                f[key].attrs["sr_hz"] = sr
    doc = {"schemaversion": 1.31, "collection": {"descriptiondefinition": {}, "entry": entries}}
    (root / "bad.pyjama").write_text(pyjama if pyjama is not None else json.dumps(doc))
    return root / "bad"


def _item(**annotations):
    return {"filepath": [{"value": "a.wav"}], **annotations}


#: (case, entries, audio, raw pyjama text or None, what the one error line says)
BAD_STORES = [
    ("pyjama not JSON", [], {}, "{'entry': [}", "bad.pyjama: not valid JSON"),
    ("pyjama a list", [], {}, "[1, 2]", "bad.pyjama: the top level must be a JSON object, got list"),
    (
        "pyjama without entries",
        [],
        {},
        '{"schemaversion": 1.31, "collection": {}}',
        "bad.pyjama: missing or invalid key 'collection.entry'",
    ),
    ("entry without filepath", [{"tag": [{"value": "x"}]}], {}, None, "entry 0: missing key 'filepath'"),
    ("audio without entry", [], {"a.wav": SECOND}, None, "item 'a.wav' has no annotation entry"),
    ("entry without audio", [_item()], {}, None, "entry 0 ('a.wav'): no audio with this key"),
    (
        "overlapping chords",
        [
            _item(
                chord=[
                    {"value": "C:maj", "time": 0.0, "duration": 0.6},
                    {"value": "G:maj", "time": 0.5, "duration": 0.5},
                ]
            )
        ],
        {"a.wav": SECOND},
        None,
        "key 'chord': segments [0] (0.000-0.600 s) and [1] (starting 0.500 s) overlap",
    ),
    (
        "negative duration",
        [_item(pitchmidi=[{"value": 60, "time": 0.2, "duration": -0.1}])],
        {"a.wav": SECOND},
        None,
        "key 'pitchmidi'[0]: duration must be positive, got -0.1",
    ),
    (
        "negative time",
        [_item(pitchmidi=[{"value": 60, "time": -0.2, "duration": 0.1}])],
        {"a.wav": SECOND},
        None,
        "key 'pitchmidi'[0]: negative time -0.2",
    ),
    (
        "unknown chord label",
        [
            _item(
                chord=[
                    {"value": "C:maj", "time": 0.0, "duration": 0.5},
                    {"value": "H:maj", "time": 0.5, "duration": 0.5},
                ]
            )
        ],
        {"a.wav": SECOND},
        None,
        "key 'chord'[1]: unknown chord label 'H:maj'",
    ),
    (
        "missing sr_hz",
        [_item()],
        {"a.wav": (np.zeros(SR, np.float32), None)},
        None,
        "missing attribute 'sr_hz'",
    ),
    (
        "integer audio",
        [_item()],
        {"a.wav": (np.zeros(SR, np.int16), SR)},
        None,
        "audio must be float, got dtype int16",
    ),
    (
        "NaN audio",
        [_item()],
        {"a.wav": (np.r_[np.zeros(10), np.nan].astype(np.float32), SR)},
        None,
        "audio holds NaN or inf (first at sample 10)",
    ),
]


@pytest.mark.parametrize(
    ("entries", "audio", "pyjama", "expected"), [c[1:] for c in BAD_STORES], ids=[c[0] for c in BAD_STORES]
)
def test_validate_names_the_problem_in_one_line(tmp_path, cli_error, entries, audio, pyjama, expected):
    prefix = _store(tmp_path, entries, audio, pyjama)
    msg = cli_error(["data", "validate", prefix])
    assert expected in msg and str(tmp_path / "bad.") in msg, msg


def test_info_on_a_corrupt_hdf5(tmp_path, cli_error):
    prefix = _store(tmp_path, [_item()], {"a.wav": SECOND})
    (tmp_path / "bad.hdf5").write_bytes(np.random.default_rng(0).bytes(2048))
    msg = cli_error(["data", "info", prefix])
    assert msg.startswith(f"{tmp_path / 'bad.hdf5'}: cannot open HDF5 file"), msg


def test_info_without_the_hdf5(tmp_path, cli_error):
    prefix = _store(tmp_path, [_item()], {"a.wav": SECOND})
    (tmp_path / "bad.hdf5").unlink()
    assert cli_error(["data", "info", prefix]) == f"store file not found: {tmp_path / 'bad.hdf5'}"


@pytest.mark.parametrize("label", ["H:maj", "C:majj", "C:maj/x", "Do majeur"])
def test_unknown_chord_label_is_named(label):
    with pytest.raises(AnnotationError, match=f"unknown chord label '{label}'"):
        chord_class(label)


def test_features_of_a_nan_item_name_the_item(tmp_path, monkeypatch):
    """Training never turns NaN audio into NaN features silently (the store opens without reading audio)."""
    monkeypatch.setenv("MIR101_CACHE", str(tmp_path / "cache"))
    prefix = _store(
        tmp_path,
        [{"filepath": [{"value": k}]} for k in ("ok.wav", "nan.wav")],
        {"ok.wav": SECOND, "nan.wav": (np.r_[np.zeros(SR), np.inf].astype(np.float32), SR)},
    )
    hcqt = HarmonicCQT(fmin=65.41, n_octaves=4, bins_per_semitone=1, harmonics=(1, 2))
    with pytest.raises(
        AudioError, match=r"bad\.hdf5: item 'nan\.wav': the audio holds NaN or inf \(first at sample 22050\)"
    ):
        FeatureCache(Store(prefix), hcqt, progress=False)
    assert not list((tmp_path / "cache" / "features").glob("*.hdf5"))  # nothing half-written kept


# ----------------------------------------------------------------------------- every command checks
def _copy_store(src: Path, dst: Path) -> Path:
    import shutil

    dst.mkdir(parents=True, exist_ok=True)
    for ext in (".hdf5", ".pyjama"):
        shutil.copy(src.with_suffix(ext), dst / f"bad{ext}")
    return dst / "bad"


def _replace_audio(make):
    """A damage replacing item0's dataset by ``make(x, f)`` (``x`` its samples, ``f`` the file)."""

    def damage(prefix: Path) -> None:
        with h5py.File(prefix.with_suffix(".hdf5"), "a") as f:
            x, sr = f["item0"][()], f["item0"].attrs["sr_hz"]
            del f["item0"]
            made = make(x, f)
            if made is not None:
                f["item0"] = made
            f["item0"].attrs["sr_hz"] = sr

    return damage


def _set_attr(value):
    def damage(prefix: Path) -> None:
        with h5py.File(prefix.with_suffix(".hdf5"), "a") as f:
            f["item0"].attrs["sr_hz"] = value

    return damage


def _edit_note(value):
    def damage(prefix: Path) -> None:
        doc = json.loads(prefix.with_suffix(".pyjama").read_text())
        doc["collection"]["entry"][0]["pitchmidi"][1]["value"] = value
        prefix.with_suffix(".pyjama").write_text(json.dumps(doc))

    return damage


def _huge(x, f):
    f.create_dataset("item0", shape=(10**10,), dtype=np.float32, chunks=(1 << 16,))  # nothing written


#: (case, damage of item0 of a valid store, what the one error line says)
DAMAGED = [
    (
        "int16 audio",
        _replace_audio(lambda x, f: (x * 32767).astype(np.int16)),
        "audio must be float, got dtype int16",
    ),
    (
        "float64 as int32",
        _replace_audio(lambda x, f: x.astype(np.int32)),
        "audio must be float, got dtype int32",
    ),
    ("(samples, 2)", _replace_audio(lambda x, f: np.stack([x, x], axis=1)), "got shape (44100, 2)"),
    ("(1, 1, N)", _replace_audio(lambda x, f: x[None, None]), "got shape (1, 1, 44100)"),
    ("(N, 1)", _replace_audio(lambda x, f: x[:, None]), "got shape (44100, 1)"),
    ("ten billion samples declared", _replace_audio(_huge), "declares 10000000000 samples at 22050 Hz"),
    (
        "a group, not audio",
        _replace_audio(lambda x, f: f.create_group("item0") and None),
        "not an audio dataset",
    ),
    ("sr_hz of 1 Hz", _set_attr(1), "a sample rate of 1 Hz is outside"),
    ("sr_hz of 10 MHz", _set_attr(10_000_000), "a sample rate of 1e+07 Hz is outside"),
    ("sr_hz a string", _set_attr("fast"), "attribute 'sr_hz' must be a positive number, got 'fast'"),
    ("sr_hz NaN", _set_attr(np.nan), "attribute 'sr_hz' must be a positive number"),
    ("a pitch 'C4'", _edit_note("C4"), "key 'pitchmidi'[1]: value 'C4' must be a finite number"),
    ("a pitch null", _edit_note(None), "key 'pitchmidi'[1]: value None must be a finite number"),
    ("a pitch list", _edit_note([60, 64]), "key 'pitchmidi'[1]: value [60, 64] must be a finite number"),
    ("a pitch true", _edit_note(True), "key 'pitchmidi'[1]: value True must be a finite number"),
]


@pytest.fixture
def damaged(tiny_store, tmp_path):
    def make(damage) -> Path:
        prefix = _copy_store(tiny_store, tmp_path / "store")
        damage(prefix)
        return prefix

    return make


@pytest.mark.parametrize(("damage", "expected"), [c[1:] for c in DAMAGED], ids=[c[0] for c in DAMAGED])
def test_validate_names_the_damage(damaged, cli_error, damage, expected):
    prefix = damaged(damage)
    msg = cli_error(["data", "validate", prefix])
    assert expected in msg and str(prefix.parent) in msg, msg


@pytest.mark.parametrize(("damage", "expected"), [c[1:] for c in DAMAGED], ids=[c[0] for c in DAMAGED])
def test_training_on_a_store_validate_rejects_fails_in_one_line(
    damaged, tmp_path, cli_error, damage, expected
):
    """The store is checked as it opens (nothing read yet): no training to Accuracy 0, no
    traceback from numpy, no 40 GB read."""
    prefix = damaged(damage)
    cfg = write_config(tmp_path / "exp.yaml", prefix, tmp_path / "run", trainer={"max_epochs": 1})
    msg = cli_error(["train", cfg])
    assert expected in msg, msg
    assert not (tmp_path / "run" / "model.pt").exists()


@pytest.mark.parametrize("command", ["info", "validate"])
def test_every_store_command_checks_the_store(damaged, cli_error, command):
    prefix = damaged(_replace_audio(lambda x, f: np.stack([x, x], axis=1)))
    assert "got shape (44100, 2)" in cli_error(["data", command, prefix])


def test_an_item_larger_than_the_memory_is_refused_before_reading(damaged, tmp_path, cli_error, monkeypatch):
    prefix = damaged(_replace_audio(lambda x, f: np.tile(x, 4)))  # 176400 samples, 1.4 MB to read
    monkeypatch.setattr("mir101.data.store.available_memory", lambda: 1_000_000)
    cfg = write_config(tmp_path / "exp.yaml", prefix, tmp_path / "run", trainer={"max_epochs": 1})
    msg = cli_error(["train", cfg])
    assert msg.endswith(
        "item 'item0' (entry 0): declares 176400 samples (1.4 MB to read), more than the available memory (1.0 MB)"
    ), msg


def test_the_duration_bound_can_be_raised(damaged, monkeypatch):
    """The rare real case: a store of 4-hour items opens once MIR101_MAX_AUDIO_SECONDS allows it."""
    prefix = damaged(lambda p: None)
    monkeypatch.setenv("MIR101_MAX_AUDIO_SECONDS", "1.5")
    with pytest.raises(StoreValidationError, match=r"MIR101_MAX_AUDIO_SECONDS=3"):
        Store(prefix)
    monkeypatch.setenv("MIR101_MAX_AUDIO_SECONDS", "3")
    assert len(Store(prefix)) == 6


def test_opening_says_the_first_problem_and_how_many_more(damaged, tmp_path, cli_error):
    def all_int16_and_c4(prefix: Path) -> None:
        with h5py.File(prefix.with_suffix(".hdf5"), "a") as f:
            for key in list(f):
                x = f[key][()]
                del f[key]
                f[key] = (x * 32767).astype(np.int16)
                f[key].attrs["sr_hz"] = SR
        doc = json.loads(prefix.with_suffix(".pyjama").read_text())
        for e in doc["collection"]["entry"]:
            e["pitchmidi"][0]["value"] = "C4"
        prefix.with_suffix(".pyjama").write_text(json.dumps(doc))

    prefix = damaged(all_int16_and_c4)
    cfg = write_config(tmp_path / "exp.yaml", prefix, tmp_path / "run", trainer={"max_epochs": 1})
    msg = cli_error(["train", cfg])
    assert "value 'C4' must be a finite number" in msg, msg
    assert msg.endswith(f"(and 11 more problem(s): `mir101 data validate {prefix}` lists them all)"), msg
    with Store(prefix, validate=False) as store:
        assert len(store.validate()) == 12


@pytest.mark.parametrize("peak", [1e30, 3e38, 1e3])
def test_validate_finds_samples_far_outside_the_unit_range(damaged, cli_error, peak):
    prefix = damaged(_replace_audio(lambda x, f: (x / np.abs(x).max() * peak).astype(np.float32)))
    msg = cli_error(["data", "validate", prefix])
    assert "far outside [-1, 1]" in msg, msg
