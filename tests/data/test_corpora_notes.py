"""The notes corpus: NSynth-like isolated notes with exact pitch, velocity and instrument."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mir101.cli import main
from mir101.data.corpora import build_notes, note_families, nsynth_family, program_name
from mir101.data.store import Store
from mir101.errors import CorpusError, ParameterError

SR = 16000


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    out = tmp_path_factory.mktemp("notes")
    prefix = build_notes(120, velocities=(50, 100), seed=0, out=out, progress=False)
    return Store(prefix)


def test_layout_and_labels(store):
    assert store.validate() == []
    left_out = store.document["mir101"]["left_out"]  # silent or out-of-tune notes of the draw
    assert len(store) + len(left_out) == 120 and len(left_out) < 12
    families = set()
    for key in store.keys:
        family, program, pitch, velocity = key.split("-")[1:]
        assert store.value(key, "pitch") == int(pitch) and store.value(key, "velocity") == int(velocity)
        assert store.value(key, "program") == int(program)
        assert store.value(key, "family") == family == nsynth_family(int(program))
        assert store.value(key, "instrument") == program_name(int(program))
        assert store.value(key, "instrument_source") in ("acoustic", "electronic", "synthetic")
        (note,) = store.entry(key)["pitchmidi"]
        assert note["value"] == int(pitch) and note["time"] == 0.0 and note["duration"] == 0.75
        assert store.duration(key) == 1.0 and store.sr(key) == SR
        families.add(family)
    assert len(families) >= 8  # the draw spreads over the families
    split = store.document["mir101"]["split"]
    programs = {s: {store.value(k, "program") for k in keys} for s, keys in split.items()}
    assert not programs["train"] & programs["test"]  # instruments are held out, as in NSynth


def test_note_sounds_then_releases_before_the_end(store):
    for key in store.keys[:30]:
        x, sr = store.audio(key)
        held = np.sqrt(np.mean(x[: int(0.3 * sr)] ** 2))
        assert held > 1e-4, key
        assert np.abs(x[int(0.99 * sr) :]).max() <= np.abs(x).max()


def test_rendered_pitch_matches_the_label(store):
    """pYIN on notes of non-percussive families: the median f0 lies within 50 cents of the label."""
    import librosa

    checked = 0
    for key in store.keys:
        family, pitch = store.value(key, "family"), store.value(key, "pitch")
        if family == "mallet" or not 36 <= pitch <= 90 or checked >= 16:
            continue
        x, sr = store.audio(key)
        f_ref = 440 * 2 ** ((pitch - 69) / 12)
        f0, _, _ = librosa.pyin(
            x[int(0.05 * sr) : int(0.7 * sr)],
            fmin=f_ref / 2.2,
            fmax=f_ref * 2.2,
            sr=sr,
            frame_length=2048,
            hop_length=256,
        )
        cents = 1200 * np.log2(np.nanmedian(f0) / f_ref)
        assert abs(cents) < 50, f"{key}: {cents:+.0f} cents"
        checked += 1
    assert checked >= 10


def test_same_seed_same_notes(store, tmp_path):
    again = Store(build_notes(120, velocities=(50, 100), seed=0, out=tmp_path, workers=1, progress=False))
    assert again.keys == store.keys and again.entries == store.entries
    for k in store.keys[::10]:
        assert np.array_equal(again.audio(k)[0], store.audio(k)[0])
    other = Store(build_notes(120, velocities=(50, 100), seed=1, out=tmp_path, name="other", progress=False))
    assert other.keys != store.keys


def test_out_of_tune_and_silent_notes_are_left_out(tmp_path):
    # TimGM6mb's oboe jumps an octave on MIDI 74-78; its drawbar organ sounds an octave low
    prefix = build_notes(programs=[68], pitch_range=(72, 80), velocities=(100,), out=tmp_path, progress=False)
    with Store(prefix) as st:
        assert sorted(st.value(k, "pitch") for k in st.keys) == [72, 73, 79, 80]
        left = st.document["mir101"]["left_out"]
        assert [x[1] for x in left] == [74, 75, 76, 77, 78] and all("cents off" in x[3] for x in left)
    with pytest.raises(CorpusError, match="out of tune"):
        build_notes(
            programs=[16], pitch_range=(60, 62), velocities=(100,), out=tmp_path, name="organ", progress=False
        )


def test_bad_arguments_name_the_parameter(tmp_path):
    with pytest.raises(ParameterError, match="note_off"):
        build_notes(4, duration=1.0, note_off=1.5, out=tmp_path)
    with pytest.raises(ParameterError, match="families"):
        build_notes(4, families=["kazoo"], out=tmp_path)


def test_families_cover_nsynth():
    assert {
        "keyboard",
        "mallet",
        "organ",
        "guitar",
        "bass",
        "string",
        "vocal",
        "brass",
        "reed",
        "flute",
        "synth_lead",
    } <= set(note_families())


def test_cli_builds_notes_that_validate(tmp_path, capsys):
    args = [
        "data",
        "notes",
        "--out",
        str(tmp_path),
        "--families",
        "string,brass",
        "--velocities",
        "100",
        "--quiet",
    ]
    args += ["--pitch-range", "60,64"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"store {tmp_path / 'notes'}" in out and "items" in out
    assert main(["data", "validate", str(tmp_path / "notes")]) == 0
    meta = json.loads((tmp_path / "notes.pyjama").read_text())["mir101"]
    assert meta["params"]["velocities"] == [100] and meta["items"] > 20
