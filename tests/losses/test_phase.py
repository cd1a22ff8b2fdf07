"""The phase-derivative loss: zero for the same phase steps, blind to a note's starting phase,
sensitive to a wrong frequency and to incoherent phase; its gradient teaches coherence."""

from __future__ import annotations

import math

import pytest
import torch

from mir101.errors import ParameterError, ShapeError
from mir101.losses import PhaseDerivativeLoss
from mir101.paradigms.autoencoder import ReconstructionLoss

SR = 16000
T = torch.arange(8000) / SR


def note(f0: float, phase: float = 0.0, partials: int = 5) -> torch.Tensor:
    return sum(0.5**h * torch.sin(2 * math.pi * f0 * (h + 1) * T + phase * (h + 1)) for h in range(partials))[
        None
    ]


def test_identical_signals_cost_nothing():
    loss = PhaseDerivativeLoss(n_fft=1024)
    x = note(220.0)
    assert float(loss(x, x)) < 1e-3


def test_starting_phase_is_free_but_frequency_is_not():
    loss = PhaseDerivativeLoss(n_fft=1280, hop_length=320)
    ref = note(220.0)
    shifted = float(loss.terms(note(220.0, phase=1.3), ref)["frequency"])
    detuned = float(loss.terms(note(226.0), ref)["frequency"])  # +46 cents: the same STFT bins
    assert shifted < 0.02
    assert detuned > 5 * shifted


def test_incoherent_phase_costs_more_than_any_sinusoid_offset():
    """Same magnitudes frame by frame, random phase per frame: the failure mode of a decoder that
    learns magnitudes only."""
    loss = PhaseDerivativeLoss(n_fft=512, hop_length=128)
    ref = note(330.0)
    spec = torch.stft(ref, 512, 128, window=torch.hann_window(512), return_complex=True)
    gen = torch.Generator().manual_seed(0)
    scrambled = spec.abs() * torch.exp(1j * 2 * math.pi * torch.rand(spec.shape, generator=gen))
    incoherent = torch.istft(scrambled, 512, 128, window=torch.hann_window(512), length=ref.shape[-1])
    assert float(loss(incoherent, ref)) > 0.5
    assert float(loss(note(330.0, phase=2.0), ref)) < 0.05


def test_free_phases_learn_coherence_from_the_loss():
    """The codec's case in miniature: a "decoder" that draws the reference's magnitudes with phases
    of its own (random at first) and an inverse STFT; descending the loss on those phases alone
    makes them coherent (the loss falls tenfold in 60 steps)."""
    loss = PhaseDerivativeLoss(n_fft=512, hop_length=128)
    ref = note(300.0)
    window = torch.hann_window(512)
    magnitude = torch.stft(ref, 512, 128, window=window, return_complex=True).abs()
    gen = torch.Generator().manual_seed(0)
    phase = (2 * math.pi * torch.rand(magnitude.shape, generator=gen)).requires_grad_(True)

    def decoded() -> torch.Tensor:
        return torch.istft(magnitude * torch.exp(1j * phase), 512, 128, window=window, length=ref.shape[-1])

    opt = torch.optim.Adam([phase], lr=0.1)
    first = float(loss(decoded(), ref).detach())
    for _ in range(60):
        opt.zero_grad()
        loss(decoded(), ref).backward()
        opt.step()
    assert torch.isfinite(phase.grad).all()
    assert float(loss(decoded(), ref).detach()) < 0.1 * first


def test_silent_estimate_keeps_finite_gradients():
    loss = PhaseDerivativeLoss(n_fft=256)
    x = torch.zeros(1, 2000, requires_grad=True)
    loss(x, note(200.0)[:, :2000]).backward()
    assert torch.isfinite(x.grad).all()


def test_bad_arguments_and_shapes():
    with pytest.raises(ParameterError):
        PhaseDerivativeLoss(n_fft=256, hop_length=0)
    loss = PhaseDerivativeLoss(n_fft=256)
    with pytest.raises(ShapeError, match="same shape"):
        loss(torch.zeros(1, 1000), torch.zeros(1, 999))
    with pytest.raises(ShapeError, match="fewer than n_fft"):
        loss(torch.zeros(1, 100), torch.zeros(1, 100))


def test_reconstruction_loss_adds_the_phase_term_only_when_weighted():
    x, y = note(220.0)[None], note(230.0)[None]
    plain = ReconstructionLoss(sr=SR, fft_sizes=(512, 128), n_mels=32)
    with_phase = ReconstructionLoss(
        sr=SR, fft_sizes=(512, 128), n_mels=32, phase=2.0, phase_fft=1280, phase_hop=320
    )
    assert "phase" not in plain.terms(y, x)
    terms = with_phase.terms(y, x)
    assert float(terms["phase"]) > 0
    assert float(terms["recon"]) == pytest.approx(float(plain(y, x)) + 2.0 * float(terms["phase"]), rel=1e-5)
