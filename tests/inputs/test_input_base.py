"""Properties every input shares: shapes, frames, bins, config round trip, batching, gradients, devices."""

import numpy as np
import pytest
import torch

from mir101.errors import ParameterError, ShapeError
from mir101.inputs import CQT, Chroma, HarmonicCQT, LogMel, Spectrogram, Waveform, as_batch, compress
from signals import sine

SR = 22050

# Small configurations of every input, so that the property tests stay fast.
MODULES = {
    "waveform": lambda: Waveform(sr=SR),
    "waveform-resampled": lambda: Waveform(sr=16000, orig_sr=SR, normalize=True),
    "stft": lambda: Spectrogram(sr=SR, n_fft=512, hop_length=128, power=1.0, log="db"),
    "logmel": lambda: LogMel(sr=SR, n_fft=512, hop_length=128, n_mels=32),
    "logmel-trainable": lambda: LogMel(sr=SR, n_fft=512, hop_length=128, n_mels=32, trainable=True),
    "cqt": lambda: CQT(sr=SR, hop_length=128, fmin=65.4, n_octaves=3, bins_per_semitone=2),
    "cqt-log": lambda: CQT(sr=SR, hop_length=96, fmin=130.8, n_octaves=2, log="log1p", trainable=True),
    "hcqt": lambda: HarmonicCQT(sr=SR, hop_length=128, fmin=65.4, n_octaves=3, harmonics=(0.5, 1, 2, 3)),
    "chroma": lambda: Chroma(sr=SR, hop_length=128, n_octaves=4),
    "chroma-stft": lambda: Chroma(sr=SR, hop_length=128, source="stft", n_fft=512, norm=2),
}
N = 3000  # samples per item


@pytest.fixture(params=sorted(MODULES))
def module(request):
    return MODULES[request.param]()


def test_shape_dtype_and_device(module, device):
    module = module.to(device)
    x = 0.1 * torch.randn(3, N, device=device)
    y = module(x)
    assert y.shape == (3, *module.output_shape(N))
    assert y.dtype == torch.float32 and y.device.type == device and torch.isfinite(y).all()
    if device != "cpu":  # the same numbers as on the CPU
        ref = module.cpu()(x.cpu())
        torch.testing.assert_close(y.cpu(), ref, rtol=1e-3, atol=1e-4 * float(ref.detach().abs().max()))


def test_accepted_input_shapes_give_the_same_output(module):
    x = 0.1 * torch.randn(N)
    y = module(x)
    assert y.shape[0] == 1
    torch.testing.assert_close(module(x[None]), y)
    torch.testing.assert_close(module(x[None, None]), y)
    torch.testing.assert_close(module(x.numpy()), y)
    with pytest.raises(ShapeError, match=r"\(2, 2, 3000\)"):
        module(torch.zeros(2, 2, N))


def test_batched_equals_one_by_one(module):
    x = 0.1 * torch.randn(4, N)
    batched = module(x)
    single = torch.cat([module(x[i]) for i in range(4)])
    torch.testing.assert_close(batched, single, rtol=1e-4, atol=1e-5 * float(single.detach().abs().max()))


def test_gradient_reaches_the_waveform(module):
    x = (0.1 * torch.randn(2, N)).requires_grad_()
    module(x).square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    silence = torch.zeros(1, N, requires_grad=True)  # magnitudes at 0: gradient 0, never NaN
    module(silence).sum().backward()
    assert torch.isfinite(silence.grad).all()


def test_get_config_rebuilds_the_module(module):
    config = module.get_config()
    twin = type(module)(**config)
    assert twin.get_config() == config
    x = 0.1 * torch.randn(N)
    torch.testing.assert_close(twin(x), module(x))
    for key in config:
        assert f"{key}=" in module.extra_repr()


def test_frames_and_bins_are_consistent(module):
    n_frames = module.n_frames(N)
    times = module.frame_times(n_frames)
    assert len(times) == n_frames == module(torch.zeros(N)).shape[-1]
    np.testing.assert_allclose(times, np.arange(n_frames) * module.hop_length / module.sr)
    assert module.frame_rate == pytest.approx(module.sr / module.hop_length)
    freqs = module.frequencies()
    assert len(freqs) == module.n_bins
    if not isinstance(module, Waveform):
        assert module.output_shape(N) == (module.n_channels, module.n_bins, n_frames)
        assert np.all(np.diff(freqs) > 0)


def test_kernels_are_buffers_unless_trainable(module):
    trainable = module.get_config().get("trainable", False)
    assert bool(list(module.parameters())) == trainable
    if trainable:
        module(torch.randn(N)).sum().backward()
        assert all(p.grad is not None for p in module.parameters())


@pytest.mark.parametrize(
    "shape, expected", [((100,), (1, 1, 100)), ((3, 100), (3, 1, 100)), ((3, 1, 100), (3, 1, 100))]
)
def test_as_batch_accepts_the_three_layouts(shape, expected):
    assert as_batch(torch.zeros(shape)).shape == expected
    assert as_batch(np.zeros(shape, dtype=np.int16)).dtype == torch.float32


@pytest.mark.parametrize("shape", [(2, 2, 100), (1, 1, 1, 100), (), (3, 0)])
def test_as_batch_names_the_shape_it_refuses(shape):
    with pytest.raises(ShapeError, match=str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")):
        as_batch(torch.zeros(shape), "CQT")
    with pytest.raises(ShapeError, match="real"):
        as_batch(torch.zeros(10, dtype=torch.complex64))


def test_compress():
    x = torch.tensor([0.0, 1e-12, 1.0, 100.0])
    torch.testing.assert_close(compress(x, None), x)
    torch.testing.assert_close(compress(x, "log1p", 10.0), torch.log1p(10 * x))
    torch.testing.assert_close(compress(x, "db", power=2.0), torch.tensor([-100.0, -100.0, 0.0, 20.0]))
    torch.testing.assert_close(compress(x, "db", power=1.0), torch.tensor([-100.0, -100.0, 0.0, 40.0]))
    with pytest.raises(ParameterError, match="log1p"):
        compress(x, "log10")


def test_parameter_errors_name_the_parameter():
    with pytest.raises(ParameterError, match="hop_length=0"):
        CQT(hop_length=0)
    with pytest.raises(ParameterError, match="sr=22050.5"):
        LogMel(sr=22050.5)
    with pytest.raises(ParameterError, match="log_gain"):
        CQT(log="log1p", log_gain=-1)


def test_waveform_resamples_and_normalises():
    x = torch.from_numpy(sine(440, 1.0, sr=SR, amp=0.25))
    m = Waveform(sr=16000, orig_sr=SR, normalize=True)
    y = m(x)[0, 0].numpy()
    assert len(y) == m.n_frames(SR) == 16000 and m.output_shape(SR) == (1, 16000)
    expected = sine(440, 1.0, sr=16000, dtype=np.float64)
    assert np.abs(y - expected)[200:-200].max() < 1e-3
    assert Waveform()(torch.zeros(100)).abs().max() == 0  # silence is not normalised into NaN
    assert np.isnan(Waveform().frequencies()).all() and Waveform().frame_rate == SR
