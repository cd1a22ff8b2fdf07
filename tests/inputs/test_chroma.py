"""Chroma: parity with librosa.feature.chroma_cqt / chroma_stft, pitch classes, normalisation."""

import math

import librosa
import numpy as np
import pytest
import torch

from mir101.errors import ParameterError
from mir101.inputs.chroma import Chroma

# librosa warns when its own per-octave STFTs are longer than the (decimated) test signal
pytestmark = pytest.mark.filterwarnings("ignore:n_fft=.*is too large for input signal:UserWarning")

SR = 22050


@pytest.mark.parametrize("name", ["tone", "chord", "noise"])
def test_chroma_cqt_matches_librosa(music, name):
    """Against ``chroma_cqt(tuning=0)`` (its default estimates the tuning from the audio).

    Chroma sums CQT bins and is max-normalised per frame, so it inherits the CQT error (see
    test_cqt.py; edge frames skipped for the reason given there): measured at most 3.9e-3 on a
    0-1 scale. Tolerance 1e-2.
    """
    from test_cqt import EDGE

    y = music[name]
    ours = Chroma(sr=SR, hop_length=512)(torch.from_numpy(y))[0, 0].numpy()
    ref = librosa.feature.chroma_cqt(y=y, sr=SR, hop_length=512, tuning=0.0)
    assert ours.shape == ref.shape == (12, 1 + len(y) // 512)
    assert np.abs(ours - ref)[:, EDGE:-EDGE].max() <= 1e-2


@pytest.mark.parametrize("name", ["tone", "chord", "noise"])
def test_chroma_stft_matches_librosa(music, name):
    """Same STFT and filters as ``chroma_stft(tuning=0)``: float32 rounding (measured 5e-7); tolerance 1e-5."""
    y = music[name]
    ours = Chroma(sr=SR, hop_length=512, source="stft")(torch.from_numpy(y))[0, 0].numpy()
    ref = librosa.feature.chroma_stft(y=y, sr=SR, hop_length=512, tuning=0.0)
    assert np.abs(ours - ref).max() <= 1e-5


@pytest.mark.parametrize("source", ["cqt", "stft"])
def test_major_chord_lights_its_pitch_classes(music, source):
    chroma = Chroma(sr=SR, source=source)(torch.from_numpy(music["chord"]))[0, 0].numpy()
    top4 = set(np.argsort(chroma[:, 10:-10].mean(axis=1))[-4:].tolist())
    assert top4 == {0, 4, 7, 11}  # C3 E4 G4 B4: C, E, G, B


def test_normalisations_and_silence():
    y = torch.zeros(2, SR // 2)
    y[0] = torch.randn(SR // 2)
    for norm in (None, 1, 2, math.inf):
        out = Chroma(norm=norm, fmin=130.8, n_octaves=4)(y)
        assert torch.isfinite(out).all() and (out[1] == 0).all()  # silence stays 0, no NaN
        if norm is not None:
            size = torch.linalg.vector_norm(out[0, 0], ord=norm, dim=0)
            torch.testing.assert_close(size, torch.ones_like(size))
    assert Chroma(n_chroma=36, bins_per_semitone=3, fmin=130.8, n_octaves=4)(y).shape == (2, 1, 36, 22)
    np.testing.assert_allclose(Chroma(n_chroma=24, bins_per_semitone=2).frequencies()[:3], [0, 0.5, 1])


def test_bad_arguments():
    with pytest.raises(ParameterError, match="n_chroma"):
        Chroma(n_chroma=10)
    with pytest.raises(ParameterError, match="source"):
        Chroma(source="mfcc")
    with pytest.raises(ParameterError, match="norm"):
        Chroma(norm=3)
