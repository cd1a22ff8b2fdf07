"""The inputs' fixtures: test signals that look like music (from ``tests/signals.py``) and the devices to test on."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from signals import chord, harmonic_tone, midi_to_hz, white_noise

#: CPU always; CUDA when torch sees a GPU (skipped otherwise). On a GPU runner set
#: MIR101_TEST_GPU=1: the CUDA cases then run whatever torch says, so a CPU build of torch there
#: fails them instead of skipping them unseen.
GPU_REQUIRED = os.environ.get("MIR101_TEST_GPU", "") not in ("", "0")
DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(
            not (GPU_REQUIRED or torch.cuda.is_available()),
            reason="no GPU (torch.cuda.is_available() is False)",
        ),
    ),
]


@pytest.fixture(scope="session")
def music() -> dict[str, np.ndarray]:
    """A slightly mistuned harmonic tone, a four-note chord (C3 E4 G4 B4) and white noise, 2 s each at
    22.05 kHz, float32 (parity tests compare frames away from the edges)."""
    return {
        "tone": harmonic_tone(midi_to_hz(57.3), 2.0),
        "chord": chord((48, 64, 67, 71), 2.0),
        "noise": white_noise(2.0, seed=0),
    }


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    return request.param


@pytest.fixture(autouse=True)
def one_thread():
    """Run each test on one thread: the tensors here are small, and on a busy machine OpenMP
    synchronisation between threads costs far more than it saves (40 ms vs 1 ms per small conv)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
