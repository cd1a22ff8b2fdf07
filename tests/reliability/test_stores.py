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
from mir101.errors import AnnotationError, AudioError
from mir101.inputs import FeatureCache, HarmonicCQT

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
