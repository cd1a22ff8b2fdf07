"""Unit tests of the embedded corpora's pieces: chords, cliques, ensembles, renderer, checks."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from mir101.data.corpora import (
    INSTALL_HINT,
    ChordSegment,
    RenderNote,
    SoundFontRenderer,
    Variation,
    chord_agreement,
    chord_segments,
    get_corpus_store,
    get_ensemble,
    harte_label,
    melody_cliques,
    nsynth_family,
    playable_range,
    require_tinysoundfont,
    soundfont_identity,
    transpose_label,
    voice_options,
)
from mir101.data.corpora.chords import ScoreNote
from mir101.data.corpora.render import yin_f0
from mir101.data.corpora.rendition import _check_energy, _TimeMap
from mir101.data.targets import CHORD_LABELS, chord_class
from mir101.errors import ConfigError, CorpusError, MissingDependencyError, ParameterError
from signals import harmonic_tone


@pytest.fixture(scope="module")
def renderer() -> SoundFontRenderer:
    return SoundFontRenderer(sr=16000)


@pytest.mark.parametrize(
    ("pcs", "bass", "label"),
    [
        ({0, 4, 7}, 0, "C:maj"),
        ({9, 0, 4}, 9, "A:min"),
        ({2, 6, 9, 0}, 6, "D:7"),
        ({11, 2, 5}, 11, "B:dim"),
        ({11, 2, 5, 9}, 11, "B:hdim7"),
        ({0, 4, 7, 9}, 9, "A:min7"),  # named from the bass when ambiguous
        ({0, 2, 4}, 0, None),  # a cluster spells nothing
    ],
)
def test_harte_label(pcs, bass, label):
    assert harte_label(pcs, bass) == label
    if label:
        chord_class(label)  # mir_eval parses it


def test_transpose_label_wraps_and_keeps_quality():
    assert transpose_label("A:min7", 3) == "C:min7"
    assert transpose_label("Bb:maj", 2) == "C:maj"
    assert transpose_label("N", 5) == "N"


def test_chord_segments_hold_through_passing_notes_and_merge():
    # C major held for 2 beats; the soprano passes E-F-G over it (F spells no chord)
    notes = [
        ScoreNote(0.0, 2.0, 48, 3),
        ScoreNote(0.0, 2.0, 55, 2),
        ScoreNote(0.0, 1.0, 64, 0),
        ScoreNote(1.0, 0.5, 65, 0),
        ScoreNote(1.5, 0.5, 67, 0),
        ScoreNote(2.0, 1.0, 43, 3),
        ScoreNote(2.0, 1.0, 59, 2),
        ScoreNote(2.0, 1.0, 62, 0),
    ]
    segs = chord_segments(notes)
    assert [(s.onset, s.duration, s.label) for s in segs] == [(0.0, 2.0, "C:maj"), (2.0, 1.0, "G:maj")]


def test_chord_agreement_counts_majmin_classes():
    ref = [ChordSegment(0, 2, "C:maj"), ChordSegment(2, 2, "A:min")]
    est = [ChordSegment(0, 2, "C:maj7"), ChordSegment(2, 2, "C:maj")]
    out = chord_agreement(ref, est)
    assert out["majmin_class"] == pytest.approx(0.5)
    assert out["duration"] == pytest.approx(4.0)
    assert 0 <= out["mir_eval_majmin"] <= 1


def test_melody_cliques_are_transposition_free_and_named_by_first_member():
    up = [60, 62, 64, 65, 67, 65, 64, 62, 60, 64, 67, 72, 71, 69, 67]
    cliques = melody_cliques({"a": up, "b": [p + 5 for p in up], "c": up[::-1]})
    assert cliques == {"a": "melody-a", "b": "melody-a", "c": "melody-c"}


def test_voice_options_prefer_no_shift_then_other_programs_then_octaves():
    assert voice_options(38, 60, (42, 43))[:2] == [(42, 0), (43, 0)]
    assert voice_options(30, 62, (42,)) == [(42, 1)]  # a cello plays a deep bass an octave up
    assert voice_options(10, 100, (40,)) == []
    lo, hi = playable_range(40)
    assert (lo, hi) == (55, 100)


def test_ensembles_registry_lists_valid_names():
    assert get_ensemble("bach10").voices == ((40,), (71,), (66,), (70,))
    with pytest.raises(ConfigError, match="valid names"):
        get_ensemble("gamelan")


def test_ensemble_programs_are_drawn_from_the_seed():
    ens = get_ensemble("mixed")
    a = ens.programs(np.random.default_rng(3))
    assert a == ens.programs(np.random.default_rng(3))
    assert all(p[0] in cands for p, cands in zip(a, ens.voices))
    unison = get_ensemble("keyboards").programs(np.random.default_rng(0))
    assert len({p[0] for p in unison}) == 1


def test_nsynth_family_rejects_programs_without_one():
    assert nsynth_family(71) == "reed"
    with pytest.raises(CorpusError, match="no NSynth-like family"):
        nsynth_family(118)


def test_variation_checks_ranges():
    assert Variation.from_any({"tempo": [70, 80]}).tempo == (70, 80)
    with pytest.raises(ParameterError, match="unknown variation"):
        Variation.from_any({"tempi": (1, 2)})
    with pytest.raises(ParameterError, match="velocity"):
        Variation(velocity=(0, 200))


def test_time_map_holds_fermatas():
    tm = _TimeMap(60.0, [(2.0, 1.0)], factor=2.0, lead_in=0.5)
    assert tm(0) == 0.5 and tm(2.0) == 2.5
    assert tm(3.0) == pytest.approx(4.5)  # the fermata quarter lasts 2 s
    assert tm(4.0) == pytest.approx(5.5)


def test_yin_measures_a_tone_within_a_few_cents():
    sr = 16000
    for f in (55.0, 261.63, 1000.0):
        x = harmonic_tone(f, 0.5, sr=sr, n_partials=4, decay=0.5, amp=1.0, phase_step=0.0, dtype=np.float64)
        assert abs(1200 * np.log2(yin_f0(x, sr, f / 2.2, min(2.2 * f, sr / 4)) / f)) < 5


def test_renderer_is_sample_exact_and_deterministic(renderer):
    notes = [RenderNote(800, 4000, 60, 100), RenderNote(4000, 8000, 64, 90)]
    a = renderer.render(0, notes, 10000)
    renderer.render(40, [RenderNote(0, 9000, 72, 127)], 9000)  # something else in between
    b = renderer.render(0, notes, 10000)
    assert np.array_equal(a, b)
    assert np.all(a[:800] == 0) and np.abs(a[800:900]).max() > 0  # first sample on the note-on
    assert a.dtype == np.float32 and a.shape == (10000,)


def test_silent_and_out_of_tune_notes_are_detected(renderer):
    # TimGM6mb's baritone sax has no sample above MIDI 80: the note renders as silence
    silent = RenderNote(0, 1600, 90, 100)
    assert not renderer.is_audible(67, 90, 100, 1600)
    assert renderer.bad_notes(67, [silent, RenderNote(0, 1600, 50, 100)]) == [(silent, "silent")]
    # its drawbar organ sounds a 16' rank: an octave below the key
    (bad,) = renderer.bad_notes(16, [RenderNote(0, 1600, 60, 100)])
    assert "cents off" in bad[1] and abs(renderer.pitch_cents(16, 60) + 1200) < 50
    # a silent rendered voice is an error, never a label
    with pytest.raises(CorpusError, match="silent"):
        _check_energy(np.zeros(16000, np.float32), [RenderNote(100, 5000, 60, 90)], 16000, "test")


def test_missing_renderer_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tinysoundfont", None)
    with pytest.raises(MissingDependencyError, match="pip install --no-deps tinysoundfont"):
        require_tinysoundfont()
    with pytest.raises(MissingDependencyError) as err:
        SoundFontRenderer()
    assert INSTALL_HINT in str(err.value)


def test_soundfont_identity_checks_the_file(tmp_path):
    ident = soundfont_identity(None)
    assert ident["name"] == "TimGM6mb.sf2" and len(ident["sha256"]) == 64
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"not a soundfont")
    with pytest.raises(CorpusError, match="not a SoundFont"):
        soundfont_identity(bad)
    with pytest.raises(CorpusError, match="no such file"):
        soundfont_identity(tmp_path / "missing.sf2")


def test_get_corpus_store_checks_name_and_parameters():
    with pytest.raises(ConfigError, match="valid names"):
        get_corpus_store("gtzan")
    with pytest.raises(ConfigError, match="unknown argument"):
        get_corpus_store("notes", nn=3)


def test_chord_labels_reduce_to_the_25_classes():
    for label in ("C:maj", "F#:min7", "B:dim7", "G:7", "E:5"):
        assert 0 <= chord_class(label) < len(CHORD_LABELS)


def test_select_chorales_min_clique_keeps_whole_cliques_in_order():
    from mir101.data.corpora.chorales import select_chorales
    from mir101.data.corpora.scores import ChoraleInfo

    def info(i: str, work: str) -> ChoraleInfo:
        return ChoraleInfo(id=i, path=f"bach/{i}", riemenschneider=(1,), title=i, bwv=i, melody=(60,), work_id=work)

    cat = [info("a1", "A"), info("b1", "B"), info("c1", "C"), info("a2", "A"), info("c2", "C"), info("c3", "C")]
    assert [c.id for c in select_chorales(catalogue=cat, min_clique=2)] == ["a1", "a2", "c1", "c2", "c3"]
    assert [c.id for c in select_chorales(3, catalogue=cat, min_clique=3)] == ["c1", "c2", "c3"]
    assert [c.id for c in select_chorales(2, catalogue=cat)] == ["a1", "b1"]  # default: unchanged
    with pytest.raises(ParameterError, match="min_clique=0"):
        select_chorales(catalogue=cat, min_clique=0)
