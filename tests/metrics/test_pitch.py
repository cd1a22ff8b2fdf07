"""Pitch accuracy within 50 cents, and PESTO's note pitch on harmonic tones (when PESTO is installed)."""

from __future__ import annotations

import numpy as np
import pytest

from mir101.errors import ConfigError
from mir101.metrics import METRICS
from mir101.metrics.pitch import note_pitches, pesto_available, pitch_accuracy


def test_pitch_accuracy_counts_within_50_cents():
    assert pitch_accuracy([60.49, 60.51, 59.5, np.nan], [60, 60, 60, 60]) == 0.5
    assert METRICS.get("pitch_accuracy") is pitch_accuracy
    with pytest.raises(ConfigError):
        pitch_accuracy([60.0], [60, 61])


@pytest.mark.skipif(not pesto_available(), reason="PESTO not installed (pip install --no-deps pesto-pitch)")
def test_pesto_reads_the_pitch_of_harmonic_notes_and_none_of_silence():
    sr = 16000
    t = np.arange(sr) / sr
    midis = [55, 62, 69, 76]
    notes = [
        sum(0.3 / h * np.sin(2 * np.pi * h * 440 * 2 ** ((m - 69) / 12) * t) for h in range(1, 5)) for m in midis
    ]
    est = note_pitches([*notes, np.zeros(sr)], sr)
    assert pitch_accuracy(est[:4], midis) == 1.0
    assert np.isnan(est[4])
