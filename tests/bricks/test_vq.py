"""VectorQuantizer: straight-through gradients, EMA k-means steps, dead-code restarts, factorised and cosine codes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mir101.bricks.vq import VectorQuantizer, perplexity
from mir101.errors import ParameterError, ShapeError


def _fixed_codebook(vq: VectorQuantizer, codes: torch.Tensor) -> None:
    vq.codebook.data.copy_(codes)
    if vq.ema:
        vq.embed_sum.copy_(codes)
    vq.cluster_size.fill_(1.0)
    vq.initialised.fill_(True)


def test_straight_through_copies_the_decoder_gradient_to_the_encoder():
    vq = VectorQuantizer(in_channels=4, codebook_size=8).train()
    x = torch.randn(3, 4, 10, requires_grad=True)
    r = vq(x)
    weights = torch.randn_like(r.output)
    (r.output * weights).sum().backward()
    torch.testing.assert_close(x.grad, weights)  # d output / d input = identity
    vq.eval()
    torch.testing.assert_close(vq(x).output, vq.decode(vq.encode(x)))  # the value is the codes'


def test_the_commitment_loss_pulls_the_encoder_toward_the_codes():
    vq = VectorQuantizer(in_channels=2, codebook_size=2, commitment_weight=1.0).train()
    _fixed_codebook(vq, torch.tensor([[0.0, 0.0], [10.0, 10.0]]))
    x = torch.tensor([[[1.0], [2.0]]], requires_grad=True)  # nearest code: (0, 0)
    vq(x).losses["commitment"].backward()
    assert (x.grad > 0).all()  # gradient descent moves x toward (0, 0)


def test_ema_updates_move_codes_toward_their_assigned_vectors():
    torch.manual_seed(0)
    vq = VectorQuantizer(in_channels=2, codebook_size=2, decay=0.8, dead_code_threshold=0.0).train()
    _fixed_codebook(vq, torch.tensor([[0.0, 0.0], [5.0, 5.0]]))
    centres = torch.tensor([[1.0, -1.0], [4.0, 6.5]])
    vectors = centres[torch.tensor([0] * 10 + [1] * 10)] + 0.1 * torch.randn(20, 2)
    targets = torch.stack([vectors[:10].mean(0), vectors[10:].mean(0)])  # what each code is assigned
    x = vectors.t()[None]  # (1, 2, 20)
    distances = []
    for _ in range(30):
        distances.append((vq.codebook - targets).norm(dim=-1).clone())
        vq(x)
    distances.append((vq.codebook - targets).norm(dim=-1))
    first, last = distances[0], distances[-1]
    assert (last < 0.01 * first).all(), (first, last)
    steps = torch.stack(distances)
    assert (steps[1:] <= steps[:-1] + 1e-4).all()  # monotonically closer


def test_eval_mode_leaves_the_codebook_alone():
    vq = VectorQuantizer(in_channels=3, codebook_size=4)
    vq.train()(torch.randn(2, 3, 20))
    state = {k: v.clone() for k, v in vq.state_dict().items()}
    vq.eval()(torch.randn(2, 3, 20) * 5)
    assert all(torch.equal(state[k], v) for k, v in vq.state_dict().items())


def test_the_codebook_starts_from_batch_vectors():
    torch.manual_seed(0)
    vq = VectorQuantizer(in_channels=3, codebook_size=4, dead_code_threshold=0.0, decay=0.999)
    assert not bool(vq.initialised)
    x = torch.randn(1, 3, 50) + 100.0  # far from the random initial codes
    vq.train()(x)
    assert bool(vq.initialised)
    assert (vq.codebook - 100.0).abs().max() < 5  # taken from the batch (then one EMA step)


def test_dead_codes_are_reinitialised_from_the_batch():
    torch.manual_seed(0)
    vq = VectorQuantizer(in_channels=2, codebook_size=4, decay=0.5, dead_code_threshold=0.5).train()
    _fixed_codebook(vq, torch.tensor([[0.0, 0.0], [100.0, 100.0], [-100.0, 50.0], [80.0, -90.0]]))
    x = 0.1 * torch.randn(1, 2, 64)  # every vector picks code 0: codes 1-3 die
    for _ in range(3):
        r = vq(x)
    assert (vq.codebook.abs() < 1.0).all(), vq.codebook  # all four now lie among the data
    r = vq.eval()(x)
    assert len(r.codes.unique()) > 1  # and the restarted codes are used


def test_without_reinitialisation_dead_codes_stay():
    vq = VectorQuantizer(in_channels=2, codebook_size=2, decay=0.5, dead_code_threshold=0.0).train()
    _fixed_codebook(vq, torch.tensor([[0.0, 0.0], [100.0, 100.0]]))
    for _ in range(3):
        vq(0.1 * torch.randn(1, 2, 16))
    assert (vq.codebook[1] > 99).all()  # still far from every vector: never used again


def test_learned_codebook_gets_its_gradient_from_the_codebook_loss():
    vq = VectorQuantizer(in_channels=3, codebook_size=5, ema=False).train()
    r = vq(torch.randn(2, 3, 8))
    assert isinstance(vq.codebook, torch.nn.Parameter) and set(r.losses) == {"commitment", "codebook"}
    r.losses["codebook"].backward()
    assert vq.codebook.grad.abs().sum() > 0


def test_factorised_codes_live_in_the_small_space():
    vq = VectorQuantizer(in_channels=16, codebook_size=8, codebook_dim=2)
    r = vq(torch.randn(2, 16, 5))
    assert vq.codebook.shape == (8, 2) and r.latent.shape == (2, 2, 5) and r.output.shape == (2, 16, 5)


def test_cosine_codes_are_unit_vectors_and_pick_the_largest_cosine():
    torch.manual_seed(0)
    vq = VectorQuantizer(in_channels=3, codebook_size=6, cosine=True).train()
    vq(torch.randn(2, 3, 30))
    torch.testing.assert_close(vq.codebook.norm(dim=-1), torch.ones(6))
    vq.eval()
    x = torch.randn(1, 3, 7)
    cos = F.normalize(x[0].t(), dim=-1) @ vq.codebook.t()
    assert torch.equal(vq.encode(x)[0], cos.argmax(-1))
    assert torch.equal(vq.encode(x), vq.encode(5.0 * x))  # the scale does not matter


def test_perplexity_counts_the_effective_codes():
    assert float(perplexity(torch.tensor([3.0, 0.0, 0.0]))) == pytest.approx(1.0)
    assert float(perplexity(torch.ones(8))) == pytest.approx(8.0)


def test_errors_name_the_argument():
    with pytest.raises(ParameterError, match="codebook_size=1"):
        VectorQuantizer(codebook_size=1)
    with pytest.raises(ParameterError, match="decay=1.5"):
        VectorQuantizer(decay=1.5)
    vq = VectorQuantizer(in_channels=2, codebook_size=4)
    with pytest.raises(ShapeError, match=r"\[0, 4\)"):
        vq.decode(torch.tensor([[0, 4]]))
    with pytest.raises(ShapeError, match="integer codes"):
        vq.decode(torch.zeros(1, 3))
