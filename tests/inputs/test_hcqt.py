"""HarmonicCQT: each channel is the CQT at h·fmin (ours and librosa's), tones peak where they should."""

import math

import librosa
import numpy as np
import pytest
import torch

from mir101.errors import ParameterError
from mir101.inputs.cqt import C1_HZ, CQT
from mir101.inputs.hcqt import HarmonicCQT, _octave_groups
from signals import midi_to_hz, sine

# librosa warns when its own per-octave STFTs are longer than the (decimated) test signal
pytestmark = pytest.mark.filterwarnings("ignore:n_fft=.*is too large for input signal:UserWarning")

SR = 22050


def test_harmonics_an_octave_apart_share_one_cqt():
    groups = _octave_groups((0.5, 1, 2, 3, 4, 5))
    assert sorted((base, sorted(m)) for base, m in groups) == [
        (0.5, [(0, 0), (1, 1), (2, 2), (4, 3)]),
        (3, [(3, 0)]),
        (5, [(5, 0)]),
    ]
    hcqt = HarmonicCQT()
    assert [c.n_octaves for c in hcqt.cqts] == [9, 6, 6]  # 21 octaves instead of 36
    assert sorted(base for base, _ in _octave_groups((1, 1.5, 3, 6))) == [1, 1.5]


@pytest.mark.parametrize("bins_per_semitone, hop", [(3, 512), (5, 256)])
def test_each_channel_equals_the_cqt_at_h_fmin(music, bins_per_semitone, hop):
    """Slicing the wide CQT gives what a separate CQT(fmin = h · fmin) gives: same kernels, same rates."""
    y = torch.from_numpy(music["chord"][: SR // 2])
    hcqt = HarmonicCQT(sr=SR, hop_length=hop, bins_per_semitone=bins_per_semitone)
    out = hcqt(y)[0]
    assert out.shape == (6, 12 * bins_per_semitone * 6, 1 + len(y) // hop)
    for c, h in enumerate(hcqt.harmonics):
        ref = CQT(sr=SR, hop_length=hop, fmin=h * C1_HZ, bins_per_semitone=bins_per_semitone)(y)[0, 0]
        torch.testing.assert_close(out[c], ref, rtol=0, atol=1e-6 * float(ref.max()))


def test_channels_match_librosa_exactly_when_nothing_is_resampled(music):
    """With an odd hop nothing is decimated on either side: parity to float32 precision.

    Tolerance 2e-5 of each channel's maximum (measured below 1e-5), librosa without sparsification.
    From C3 with 3 octaves: librosa's full-rate kernels of the lowest octaves take seconds.
    """
    y = music["chord"][: SR // 4]
    hcqt = HarmonicCQT(sr=SR, hop_length=441, fmin=4 * C1_HZ, n_octaves=3, harmonics=(0.5, 1, 3, 5))
    out = hcqt(torch.from_numpy(y))[0].numpy()
    for c, h in enumerate(hcqt.harmonics):
        ref = np.abs(
            librosa.cqt(
                y, sr=SR, hop_length=441, fmin=h * hcqt.fmin, n_bins=108, bins_per_octave=36, sparsity=0.0
            )
        )
        assert np.abs(out[c] - ref).max() <= 2e-5 * ref.max(), f"harmonic {h}"


@pytest.mark.parametrize("name", ["tone", "chord", "noise"])
def test_channels_match_librosa_cqt_at_h_fmin(music, name):
    """Channel h against ``librosa.cqt(fmin=h · fmin)`` with librosa's defaults.

    For h <= 4 the error has the causes described in test_cqt.py::test_parity_with_librosa_defaults.
    Measured away from the edges (test_cqt.EDGE frames skipped at each end, see there): at most
    4.3e-3 of the max for the tone and the chord, 8.0e-3 for the noise at h=4, where librosa itself
    is 1.1e-2 away from the exact transform (we are 4.9e-3 away). Tolerance 1e-2 of the max.

    h = 5 is different: its top octave (5.2-10.5 kHz) must be analysed at the full rate, and
    librosa then decimates once per octave regardless, so its lower octaves lie at 47-95% of the
    new Nyquist frequency, in soxr's transition band. Against the exact full-rate transform,
    librosa is off by up to 7.6e-2 of the max there (noise) while we are off by 3.6e-3, because we
    decimate an octave only when its band stays below half the new Nyquist. So for h = 5 the
    reference is the exact transform (test_cqt.exact_cqt), with the same 1e-2 tolerance (measured
    at most 5.7e-3).
    """
    from test_cqt import EDGE, exact_cqt

    y = music[name]
    hcqt = HarmonicCQT(sr=SR, hop_length=512)
    out = hcqt(torch.from_numpy(y))[0].numpy()
    for c, h in enumerate(hcqt.harmonics):
        if h == 5:
            ref = exact_cqt(y.astype(np.float64), SR, 512, h * C1_HZ, hcqt.n_bins, hcqt.bins_per_octave)
        else:
            ref = np.abs(
                librosa.cqt(y, sr=SR, hop_length=512, fmin=h * C1_HZ, n_bins=216, bins_per_octave=36)
            )
        ours, ref = out[c][:, EDGE:-EDGE], ref[:, EDGE:-EDGE]
        assert np.abs(ours - ref).max() <= 1e-2 * ref.max(), f"harmonic {h}"


@pytest.mark.parametrize("midi", [57.0, 64.0, 69.0 + 1 / 3])
def test_sinusoid_peaks_on_the_bin_of_pitch_minus_12_log2_h(midi):
    """Channel h holds frequency h · f_k on bin k: a sinusoid at pitch p peaks on the bin of p - 12 log2 h."""
    y = sine(midi_to_hz(midi), 1.0, sr=SR, amp=0.5)
    hcqt = HarmonicCQT(sr=SR, hop_length=512, bins_per_semitone=3)
    out = hcqt(torch.from_numpy(y))[0].numpy()
    for c, h in enumerate(hcqt.harmonics):
        expected = round((midi - 12 * math.log2(h) - 24) * 3)
        profile = out[c][:, out.shape[-1] // 2 - 2 : out.shape[-1] // 2 + 3].mean(axis=1)
        assert int(np.argmax(profile)) == expected, f"harmonic {h}"
        assert hcqt.harmonic_frequencies()[c, expected] == pytest.approx(
            librosa.midi_to_hz(midi), rel=2 ** (1 / 72) - 1
        )


def test_bad_harmonics_are_refused():
    with pytest.raises(ParameterError, match="distinct"):
        HarmonicCQT(harmonics=(1, 1, 2))
    with pytest.raises(ParameterError, match="harmonics"):
        HarmonicCQT(harmonics=(0, 1))
    with pytest.raises(ParameterError, match="harmonic 8.0 .*Nyquist"):
        HarmonicCQT(harmonics=(1, 8))
