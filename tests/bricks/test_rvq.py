"""ResidualVectorQuantizer: more codebooks reconstruct better, quantizer dropout, one straight-through estimator."""

from __future__ import annotations

import pytest
import torch

from mir101.bricks.rvq import ResidualVectorQuantizer
from mir101.errors import ParameterError, ShapeError


def _signal() -> torch.Tensor:
    """A fixed signal: 400 vectors of 8 channels, (1, 8, 400)."""
    g = torch.Generator().manual_seed(0)
    t = torch.linspace(0, 1, 400)
    base = torch.stack([torch.sin(2 * torch.pi * (k + 1) * t + k) for k in range(8)])
    return (base + 0.3 * torch.randn(8, 400, generator=g))[None]


def test_more_codebooks_reconstruct_a_fixed_signal_better_monotonically():
    torch.manual_seed(0)
    rvq = ResidualVectorQuantizer(
        in_channels=8, n_quantizers=6, codebook_size=16, decay=0.8, quantizer_dropout=0.0
    )
    x = _signal()
    rvq.train()
    for _ in range(40):  # EMA k-means steps of every stage on its residual
        rvq(x)
    rvq.eval()
    errors = [float(((rvq(x, n_quantizers=n).output - x) ** 2).mean()) for n in range(1, 7)]
    assert all(b < a for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 0.25 * errors[0], errors


def test_the_gradient_reaches_the_encoder_once():
    rvq = ResidualVectorQuantizer(in_channels=4, n_quantizers=3, codebook_size=8).train()
    x = torch.randn(2, 4, 9, requires_grad=True)
    r = rvq(x)
    w = torch.randn_like(r.output)
    (r.output * w).sum().backward()
    torch.testing.assert_close(x.grad, w)  # identity, not n_quantizers x identity


def test_quantizer_dropout_draws_fewer_codebooks_in_training_only():
    torch.manual_seed(0)
    rvq = ResidualVectorQuantizer(in_channels=4, n_quantizers=4, codebook_size=8, quantizer_dropout=1.0)
    used = {rvq.train()(torch.randn(2, 4, 6)).codes.shape[1] for _ in range(40)}
    assert used == {1, 2, 3, 4}
    assert rvq.eval()(torch.randn(2, 4, 6)).codes.shape[1] == 4
    assert rvq.train()(torch.randn(2, 4, 6), n_quantizers=2).codes.shape[1] == 2  # asked: no dropout


def test_fewer_codebooks_use_the_first_ones():
    rvq = ResidualVectorQuantizer(in_channels=4, n_quantizers=3, codebook_size=8)
    rvq.train()(torch.randn(2, 4, 20))
    rvq.eval()
    x = torch.randn(1, 4, 5)
    full = rvq.encode(x)
    assert torch.equal(rvq.encode(x, n_quantizers=2), full[:, :2])
    torch.testing.assert_close(rvq.decode(full[:, :2]), rvq(x, n_quantizers=2).output)


def test_factorised_codes_project_once():
    rvq = ResidualVectorQuantizer(in_channels=16, n_quantizers=2, codebook_size=8, codebook_dim=3)
    r = rvq(torch.randn(2, 16, 5))
    assert r.latent.shape == (2, 3, 5) and all(vq.codebook.shape == (8, 3) for vq in rvq.quantizers)


def test_errors_name_the_argument_and_shape():
    with pytest.raises(ParameterError, match="n_quantizers=0"):
        ResidualVectorQuantizer(n_quantizers=0)
    with pytest.raises(ParameterError, match="quantizer_dropout=2"):
        ResidualVectorQuantizer(quantizer_dropout=2)
    rvq = ResidualVectorQuantizer(in_channels=4, n_quantizers=2, codebook_size=8)
    with pytest.raises(ParameterError, match=r"n_quantizers=3 must lie in \[1, 2\]"):
        rvq(torch.randn(1, 4, 3), n_quantizers=3)
    with pytest.raises(ShapeError, match=r"1 <= n <= 2.*\(1, 3, 5\)"):
        rvq.decode(torch.zeros(1, 3, 5, dtype=torch.long))
    with pytest.raises(ShapeError, match=r"\[0, 8\)"):
        rvq.decode(torch.full((1, 2, 5), 8))


def _ddp_worker(rank: int, world: int, init_file: str, out_file: str) -> None:
    from datetime import timedelta

    import torch.distributed as dist

    # a rank left waiting in a collective fails after a minute instead of hanging the suite
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world, timeout=timedelta(seconds=60)
    )
    torch.manual_seed(rank)  # each rank draws other data and other dropout decisions
    rvq = ResidualVectorQuantizer(
        in_channels=4, n_quantizers=3, codebook_size=8, quantizer_dropout=1.0, decay=0.5
    )
    rvq.train()
    for _ in range(6):  # stages, initialisation and dead-code restarts must stay in step
        rvq(torch.randn(2, 4, 16) + rank)
    torch.save({k: v for k, v in rvq.state_dict().items()}, f"{out_file}.{rank}")
    dist.destroy_process_group()


def test_ddp_ranks_keep_identical_codebooks(tmp_path):
    """Two CPU processes (gloo) with different data and random draws: the quantizer dropout draw,
    the codebook initialisation and the dead-code restarts are rank 0's, the EMA statistics summed."""
    import torch.multiprocessing as mp

    mp.spawn(_ddp_worker, args=(2, str(tmp_path / "init"), str(tmp_path / "state")), nprocs=2, join=True)
    a, b = (torch.load(tmp_path / f"state.{r}") for r in (0, 1))
    assert all(torch.equal(a[k], b[k]) for k in a)
