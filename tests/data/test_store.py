import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from mir101.data.store import Store, StoreWriter, store_paths
from mir101.errors import StoreError, StoreValidationError

SR = 22050


def test_roundtrip_every_annotation_kind(
    f0_store, note_store, chord_store, tag_store, clique_store, genre_store
):
    with Store(f0_store) as s:
        ser = s.series("01-chorale.wav", "f0multi")
        assert ser.value.shape == (4, 100) and ser.unit == "midi"
        assert s.validate() == []
    with Store(note_store) as s:
        seg = s.segments("MAPS_test.wav", "pitchmidi")
        assert sorted(seg.value.tolist()) == [60, 64, 67]
        audio, sr = s.audio("MAPS_test.wav")
        assert sr == SR and audio.dtype == np.float32 and audio.shape == (SR,)
    with Store(chord_store) as s:
        assert s.segments("RM-P001.wav", "chord").value.tolist() == ["N", "C:maj", "A:min7", "G:7/3"]
    with Store(tag_store) as s:
        assert s.values("clip1.mp3", "tag") == ["rock", "guitar", "loud"]
        assert s.label_set("tag") == ["classical", "guitar", "loud", "piano", "rock", "violin"]
    with Store(clique_store) as s:
        assert [s.value(k, "work_id") for k in s.keys] == ["W0", "W0", "W1", "W1", "W2", "W2"]
    with Store(genre_store) as s:
        assert s.annotation_kinds() == {"genre": "global"}
        assert s.info()["items"] == 6


def test_tutorial_layout_name_audio_hdf5(tmp_path):
    """The tutorial publishes ``bach10_audio.hdf5`` beside ``bach10.pyjama``: both open unchanged."""
    with h5py.File(tmp_path / "bach10_audio.hdf5", "w") as f:
        f["a.wav"] = np.zeros(100, np.float32)
        f["a.wav"].attrs["sr_hz"] = SR
    doc = {
        "schemaversion": 1.31,
        "collection": {"descriptiondefinition": {}, "entry": [{"filepath": [{"value": "a.wav"}]}]},
    }
    (tmp_path / "bach10.pyjama").write_text(json.dumps(doc))
    for name in ("bach10", "bach10.pyjama", "bach10_audio.hdf5"):
        with Store(tmp_path / name) as s:
            assert s.keys == ["a.wav"] and s.validate() == []
    assert store_paths(tmp_path / "bach10")[0].name == "bach10_audio.hdf5"


def test_writer_is_atomic(tmp_path):
    with pytest.raises(RuntimeError):
        with StoreWriter(tmp_path / "s") as w:
            w.add("a", np.zeros(10), SR)
            raise RuntimeError("killed half-way")
    assert list(tmp_path.iterdir()) == []


def test_multichannel_audio_is_mixed_to_mono(tmp_path):
    with StoreWriter(tmp_path / "st") as w:
        w.add("a", np.stack([np.ones(10), -np.ones(10) * 0.5]), SR)
    with Store(tmp_path / "st") as s:
        x, _ = s.audio("a")
        assert x.shape == (10,) and np.allclose(x, 0.25)


def _write_raw(tmp_path: Path, doc, audio: dict) -> Path:
    with h5py.File(tmp_path / "bad.hdf5", "w") as f:
        for k, (x, sr) in audio.items():
            f[k] = x
            if sr is not None:
                f[k].attrs["sr_hz"] = sr
    (tmp_path / "bad.pyjama").write_text(json.dumps(doc))
    return tmp_path / "bad"


def _doc(entries):
    return {"schemaversion": 1.31, "collection": {"descriptiondefinition": {}, "entry": entries}}


@pytest.mark.parametrize(
    ("entries", "audio", "expected"),
    [
        ([{"filepath": [{"value": "a"}]}], {}, "no audio with this key"),
        ([], {"a": (np.zeros(10, np.float32), SR)}, "has no annotation entry"),
        (
            [{"filepath": [{"value": "a"}]}],
            {"a": (np.zeros(10, np.float32), None)},
            "missing attribute 'sr_hz'",
        ),
        ([{"filepath": [{"value": "a"}]}], {"a": (np.array([0, np.nan], np.float32), SR)}, "NaN or inf"),
        ([{"filepath": [{"value": "a"}]}], {"a": (np.zeros(0, np.float32), SR)}, "audio is empty"),
        ([{"filepath": [{"value": "a"}]}], {"a": (np.zeros(10, np.int16), SR)}, "must be float"),
        ([{"tag": [{"value": "x"}]}], {}, "missing key 'filepath'"),
        (
            [{"filepath": [{"value": "a"}], "pitchmidi": [{"value": 60, "time": 0.0, "duration": -1}]}],
            {"a": (np.zeros(SR, np.float32), SR)},
            "duration must be positive",
        ),
        (
            [{"filepath": [{"value": "a"}], "f0": [{"value": [1, 2, 3], "time": [0.0, 0.2, 0.1]}]}],
            {"a": (np.zeros(SR, np.float32), SR)},
            "times are not increasing",
        ),
        (
            [{"filepath": [{"value": "a"}], "f0": [{"value": [[1, 2]], "time": [0.0, 0.1, 0.2]}]}],
            {"a": (np.zeros(SR, np.float32), SR)},
            "voice 0 has 2 values for 3 times",
        ),
        (
            [
                {
                    "filepath": [{"value": "a"}],
                    "chord": [
                        {"value": "C", "time": 0, "duration": 1},
                        {"value": "G", "time": 0.5, "duration": 1},
                    ],
                }
            ],
            {"a": (np.zeros(2 * SR, np.float32), SR)},
            "overlap",
        ),
        (
            [{"filepath": [{"value": "a"}], "pitchmidi": [{"value": 60, "time": 5.0, "duration": 1}]}],
            {"a": (np.zeros(SR, np.float32), SR)},
            "after the end of the audio",
        ),
        (
            [{"filepath": [{"value": "a"}], "tag": "rock"}],
            {"a": (np.zeros(SR, np.float32), SR)},
            "must be a list of items",
        ),
    ],
)
def test_validation_names_file_entry_and_key(tmp_path, entries, audio, expected):
    path = _write_raw(tmp_path, _doc(entries), audio)
    with Store(path, validate=False) as s:
        problems = s.validate()
    assert any(expected in p for p in problems), problems
    assert all("bad." in p for p in problems)  # each problem names the file


def test_open_rejects_malformed_pyjama(tmp_path):
    (tmp_path / "x.hdf5").write_bytes(b"")
    (tmp_path / "x.pyjama").write_text("{not json")
    with pytest.raises(StoreError, match="not valid JSON"):
        Store(tmp_path / "x")
    (tmp_path / "x.pyjama").write_text(json.dumps({"collection": {"entry": "nope"}}))
    with pytest.raises(StoreValidationError, match="schemaversion") as err:
        Store(tmp_path / "x")
    assert len(err.value.problems) == 2


def test_missing_files(tmp_path):
    with pytest.raises(StoreError, match="not found"):
        Store(tmp_path / "nothing")
