"""Spectrogram and LogMel: parity with librosa.stft / librosa.feature.melspectrogram."""

import librosa
import numpy as np
import pytest
import torch

from mir101.errors import ParameterError
from mir101.inputs.logmel import LogMel
from mir101.inputs.stft import Spectrogram
from signals import sine

SR = 22050


@pytest.mark.parametrize("name", ["tone", "chord", "noise"])
@pytest.mark.parametrize("n_fft, hop, win_length", [(2048, 512, None), (1024, 256, 800)])
def test_spectrogram_matches_librosa_stft(music, name, n_fft, hop, win_length):
    """Same window, centring and padding as librosa: float32 rounding only (measured < 1e-6 of the max)."""
    y = music[name]
    ours = Spectrogram(SR, n_fft, hop, win_length, power=2.0)(torch.from_numpy(y))[0, 0].numpy()
    ref = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop, win_length=win_length)) ** 2
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() <= 1e-5 * ref.max()


@pytest.mark.parametrize("name", ["tone", "chord", "noise"])
def test_logmel_matches_librosa_melspectrogram(music, name):
    """Linear mel power: float32 rounding only (measured 3e-7 of the max); tolerance 1e-5.

    After ``log(1 + 10000 x)``: a relative error e on x moves the log by at most e, and bins far
    below the maximum carry rounding errors larger than their own size; measured 6e-5 absolute on
    values up to ~15; tolerance 5e-4 absolute. dB: compared within 80 dB of the maximum (further
    down, in the tone's empty bands, values are float32 rounding noise of the STFT, 1e-14, whose
    logarithms differ arbitrarily); measured 1.1e-3 dB; tolerance 1e-2 dB.
    """
    y = music[name]
    ref = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=2048, hop_length=512, n_mels=128)
    linear = LogMel(sr=SR, log=None)(torch.from_numpy(y))[0, 0].numpy()
    assert linear.shape == ref.shape == (128, 1 + len(y) // 512)
    assert np.abs(linear - ref).max() <= 1e-5 * ref.max()
    logmel = LogMel(sr=SR)(torch.from_numpy(y))[0, 0].numpy()
    assert np.abs(logmel - np.log1p(10000 * ref)).max() <= 5e-4
    db = LogMel(sr=SR, log="db")(torch.from_numpy(y))[0, 0].numpy()
    ref_db = librosa.power_to_db(ref, ref=1.0, amin=1e-10, top_db=None)
    within = ref_db > ref_db.max() - 80
    assert np.abs(db - ref_db)[within].max() <= 1e-2


def test_logmel_options_follow_librosa(music):
    y = music["chord"]
    m = LogMel(sr=SR, n_fft=1024, hop_length=256, n_mels=64, fmin=50.0, fmax=8000.0, power=1.0, log=None)
    ref = librosa.feature.melspectrogram(
        y=y, sr=SR, n_fft=1024, hop_length=256, n_mels=64, fmin=50.0, fmax=8000.0, power=1.0
    )
    assert np.abs(m(torch.from_numpy(y))[0, 0].numpy() - ref).max() <= 1e-5 * ref.max()
    np.testing.assert_allclose(m.frequencies(), librosa.mel_frequencies(66, fmin=50.0, fmax=8000.0)[1:-1])


def test_mel_band_of_a_sinusoid():
    y = sine(1000, 1.0, sr=SR)
    m = LogMel(sr=SR)
    band = int(m(torch.from_numpy(y))[0, 0, :, 20].argmax())
    assert abs(m.frequencies()[band] - 1000) < 40  # mel bands are ~25-40 Hz apart here


def test_bad_arguments():
    with pytest.raises(ParameterError, match="fmax"):
        LogMel(fmax=20000)
    with pytest.raises(ParameterError, match="win_length"):
        Spectrogram(n_fft=512, win_length=1024)
    with pytest.raises(ParameterError, match="log"):
        LogMel(log="ln")
