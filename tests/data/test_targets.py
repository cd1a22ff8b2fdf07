import numpy as np
import pytest

from mir101.data.store import Segments, Series, Store
from mir101.data.targets import (
    CHORD_LABELS,
    LabelVocabulary,
    PitchGrid,
    chord_class,
    chord_frames,
    clique_ids,
    pitch_roll_from_segments,
    pitch_roll_from_series,
)
from mir101.errors import AnnotationError


def test_known_note_gives_exact_frames_and_bins():
    seg = Segments(np.array([0.5]), np.array([0.3]), np.array([61.0]))
    frames = np.arange(20) * 0.1
    roll = pitch_roll_from_segments(seg, frames, PitchGrid(fmin_midi=60, n_bins=10, bins_per_semitone=1))
    assert roll.shape == (10, 20)
    assert np.argwhere(roll).tolist() == [[1, 5], [1, 6], [1, 7]]
    fine = pitch_roll_from_segments(seg, frames, PitchGrid(fmin_midi=60, n_bins=50, bins_per_semitone=5))
    assert set(np.argwhere(fine)[:, 0]) == {5}


def test_roll_from_f0_series_hz_and_midi(f0_store):
    with Store(f0_store) as s:
        ser = s.series("01-chorale.wav", "f0multi")
    grid = PitchGrid(fmin_midi=24, n_bins=72)
    roll = pitch_roll_from_series(ser, np.arange(0, 1.0, 0.05), grid)
    assert roll[72 - 24, :].all() and roll[48 - 24, :10].all() and not roll[48 - 24, 10:].any()
    hz = Series(np.array([0.0, 0.1]), np.array([[440.0, 0.0]]), "hz")
    r = pitch_roll_from_series(hz, np.array([0.0, 0.1]), grid)
    assert r[69 - 24].tolist() == [1.0, 0.0]


def test_vocabulary_built_before_split(tag_store):
    with Store(tag_store) as s:
        voc = LabelVocabulary.from_values(s.values(k, "tag") for k in s.keys)
        assert voc.multi_hot(s.values("clip0.mp3", "tag")).tolist() == [1, 0, 0, 0, 0, 1]
    with pytest.raises(AnnotationError, match="'metal' is not in the vocabulary"):
        voc.index("metal")


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("N", "N"),
        ("C:maj", "C:maj"),
        ("A:min7", "A:min"),
        ("G:7/3", "G:maj"),
        ("Bb:dim", "A#:min"),
        ("D:sus4", "D:maj"),
        ("E", "E:maj"),
    ],
)
def test_chord_reduction(label, expected):
    assert CHORD_LABELS[chord_class(label)] == expected


def test_chord_frames_and_unknown_label(chord_store):
    with Store(chord_store) as s:
        seg = s.segments("RM-P001.wav", "chord")
    labels = [CHORD_LABELS[i] for i in chord_frames(seg, np.array([0.1, 0.3, 0.6, 0.8, 1.5]))]
    assert labels == ["N", "C:maj", "A:min", "G:maj", "N"]
    with pytest.raises(AnnotationError, match="unknown chord label 'H:mja'"):
        chord_class("H:mja")


def test_clique_ids():
    assert clique_ids(["b", "a", "b"]).tolist() == [1, 0, 1]
