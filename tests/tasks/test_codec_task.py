"""The codec task: splits that hold out instruments and notes, evaluation sets, codes files, the rows' configs.

The tiny notes corpus (3 instruments, 7 pitches, half-second notes) is built once into the test
cache and shared with the contract test (``codec_config``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from mir101.config import load_config, load_model_file
from mir101.errors import CheckpointError, ConfigError
from mir101.metrics.pitch import pesto_available
from mir101.tasks import EvalResult, load_run, train
from mir101.tasks.codec import Codes, CodesFileError, NeuralCodec, fingerprint
from mir101.tasks.codec.evaluation import pitch_scores
from mir101.tasks.runner import make_task

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs" / "codec"

TINY_NOTES = {
    "programs": [0, 40, 73],
    "pitch_range": [48, 72],
    "pitch_step": 4,
    "velocities": [100],
    "duration": 0.5,
    "note_off": 0.35,
    "progress": False,
}


def tiny_codec(bottleneck: dict) -> dict:
    """A two-block SEANet codec, hop 16 samples (1,000 frames/s), 8 latent channels."""
    return {
        "parts": {
            "encoder": [
                {"conv1d": {"out_channels": 4, "kernel_size": 7, "padding": 3}},
                {"seanetencoderblock": {"out_channels": 8, "stride": 4, "dilations": [1]}},
                {"seanetencoderblock": {"out_channels": 16, "stride": 4, "dilations": [1]}},
                {"conv1d": {"out_channels": 8, "kernel_size": 3, "padding": 1}},
            ],
            "bottleneck": [bottleneck],
            "decoder": [
                {"conv1d": {"out_channels": 16, "kernel_size": 3, "padding": 1}},
                {"seanetdecoderblock": {"out_channels": 8, "stride": 4, "dilations": [1]}},
                {"seanetdecoderblock": {"out_channels": 4, "stride": 4, "dilations": [1]}},
                {"conv1d": {"out_channels": 1, "kernel_size": 7, "padding": 3}},
            ],
        }
    }


RVQ = {"rvq": {"n_quantizers": 4, "codebook_size": 16, "quantizer_dropout": 1.0}}


def codec_config(
    tmp_path: Path, request: pytest.FixtureRequest | None = None, bottleneck: dict = RVQ, **task
) -> Path:
    """A tiny codec experiment (``request``: one CPU thread for the test, restored after it)."""
    if request is not None:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny convolutions: ~10x faster than on two busy cores
        request.addfinalizer(lambda: torch.set_num_threads(threads))
    cfg = {
        "task": {"name": "codec", "held_out_notes": 0.2, "report_items": 1, "pitch_notes": 0, **task},
        "data": {
            "corpus": "notes",
            "corpus_args": dict(TINY_NOTES),
            "patch_frames": 2048,
            "patch_hop_frames": 2048,
            "batch_size": 8,
            "feature_dtype": "float32",
        },
        "input": {"name": "waveform", "sr": 16000},
        "model": tiny_codec(bottleneck),
        "optim": {"lr": 0.003},
        "train": {"patience": 0},
        "trainer": {
            "max_epochs": 2,
            "accelerator": "cpu",
            "enable_progress_bar": False,
            "log_every_n_steps": 1,
        },
        "run_dir": str(tmp_path / "run"),
    }
    path = tmp_path / "codec.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))  # the parts in order
    return path


#: the contract test's experiments (tests/tasks/test_contract.py)
CONTRACT_CONFIGS = {"codec": codec_config}


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_split_holds_out_instruments_and_some_notes_of_the_training_instruments(tmp_path):
    task = make_task(load_config(codec_config(tmp_path)))
    split = task.make_split()
    program = lambda k: task.store.value(k, "program")  # noqa: E731
    pitch = lambda k: task.store.value(k, "pitch")  # noqa: E731
    train_programs = {program(k) for k in split["train"]}
    assert not train_programs & {program(k) for k in split["valid"]}
    sets = task.evaluation_sets(split)
    assert set(sets) == {"test", "seen_instruments"}
    assert not {program(k) for k in sets["test"]} & train_programs  # unseen instruments
    assert {program(k) for k in sets["seen_instruments"]} <= train_programs
    assert not {(program(k), pitch(k)) for k in sets["seen_instruments"]} & {
        (program(k), pitch(k)) for k in split["train"]
    }
    assert sorted(sum(split.values(), [])) == sorted(task.keys)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("name", sorted(p.stem for p in CONFIGS.glob("*.yaml") if p.stem != "base"))
def test_every_row_builds_its_model_and_paradigm(name):
    task = make_task(load_config(CONFIGS / f"{name}.yaml"))
    model = task.build_model()
    codec = NeuralCodec(model, task.sr)
    assert codec.hop == 320 and codec.frame_rate == 50.0
    expected = {
        "ae": 12.8,
        "vae": 12.8,
        "vq": 0.5,
        "rvq": 6.0,
        "rvq_adversarial": 6.0,
        "rvq_vocos": 6.0,
        "vae_vocos": 12.8,
        "rvq_vocos_phase": 6.0,
        "vae_vocos_phase": 12.8,
    }[name]
    assert codec.kbps() == pytest.approx(expected)
    system = task.system(model)
    assert type(system).__name__ == ("Adversarial" if "adversarial" in name else "AutoEncoder")
    assert ("phase" in name) == ("phase" in system.loss.terms(torch.randn(1, 1, 4000), torch.randn(1, 1, 4000)))


def test_the_rows_model_is_the_model_file():
    rows = load_config(CONFIGS / "rvq.yaml")
    assert (
        dict(rows.model)["parts"] == load_model_file(CONFIGS / "models" / "codec_seanet_small.yaml")["parts"]
    )
    vocos = load_config(CONFIGS / "rvq_vocos.yaml")
    assert (
        dict(vocos.model)["parts"] == load_model_file(CONFIGS / "models" / "codec_vocos_small.yaml")["parts"]
    )


@pytest.mark.parametrize(
    "model, message",
    [
        ({"layers": [{"conv1d": {"out_channels": 1, "kernel_size": 1}}]}, "a codec model has parts"),
        (
            {
                "parts": {
                    **tiny_codec(RVQ)["parts"],
                    "bottleneck": [{"conv1d": {"out_channels": 8, "kernel_size": 1}}],
                }
            },
            "one bottleneck layer",
        ),
    ],
)
def test_a_model_that_is_not_a_codec_is_refused(tmp_path, model, message):
    path = codec_config(tmp_path)
    cfg = yaml.safe_load(path.read_text())
    cfg["model"] = model
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))  # the parts in order
    with pytest.raises(ConfigError, match=message):
        make_task(load_config(path)).build_model()


def test_options_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="paradigm"):
        make_task(load_config(codec_config(tmp_path, paradigm="gan")))
    task = make_task(load_config(codec_config(tmp_path, reconstruction={"l2": 1.0})))
    with pytest.raises(ConfigError, match="task.reconstruction.*l2"):
        task.system(task.build_model())
    cfg = load_config(codec_config(tmp_path), ["data.patch_frames=2050"])
    with pytest.raises(ConfigError, match="multiple of the codec's hop"):
        make_task(cfg).build_model()


@pytest.mark.parametrize(
    "bottleneck", [{"ae": {"latent_dim": 4}}, {"vq": {"codebook_size": 16}}, RVQ], ids=["ae", "vq", "rvq"]
)
def test_codes_round_trip_through_a_file(tmp_path, bottleneck):
    task = make_task(load_config(codec_config(tmp_path, bottleneck=bottleneck)))
    model = task.build_model()
    model.train()(torch.randn(4, 1, 2048) * 0.1)  # initialise the codebooks
    codec = task.codec(model)
    audio = np.sin(np.linspace(0, 300, 3000)).astype(np.float32) * 0.3  # not a whole number of frames
    codes = task.encode(codec, audio)
    path = codes.save(tmp_path / "x.codes.npz")
    again = Codes.load(path)
    again.check_fits(codec, fingerprint(model), path, "RUN")
    decoded = codec.decode(again.data, again.n_samples)
    expected, _ = codec.reconstruct(torch.from_numpy(audio)[None, None])
    assert decoded.shape == (3000,)
    np.testing.assert_allclose(decoded, expected[0, 0].numpy(), atol=1e-5)
    assert again.kbps == pytest.approx(codec.kbps())
    other = task.build_model()  # another model: its codes are refused
    with pytest.raises(CodesFileError, match="another model"):
        again.check_fits(task.codec(other), fingerprint(other), path, "RUN")


@pytest.mark.usefixtures("one_thread")
def test_an_adversarial_run_trains_evaluates_and_reports_the_bitrate_ladder(tmp_path):
    path = codec_config(
        tmp_path,
        paradigm="adversarial",
        discriminator={"fft_sizes": [256, 64], "filters": 4},
        discriminator_optim={"lr": 0.001, "betas": [0.5, 0.9]},
    )
    result = train(path, ["trainer.max_epochs=1"]).evaluation
    assert isinstance(result, EvalResult) and not result.higher_is_better
    assert set(result.sets) == {"test", "seen_instruments"}
    test = result.sets["test"]
    assert test["kbps"] == pytest.approx(1000 * 4 * 4 / 1000) and 0 < test["codebook_usage"] <= 1
    assert set(result.extras["by_quantizers"]) == {"1", "2"}
    assert result.extras["by_quantizers"]["1"]["kbps"] == pytest.approx(4.0)
    report = (tmp_path / "run" / "report.md").read_text()
    assert "Bitrate ladder" in report and "latents.png" in report and ".wav" in report
    task, model = load_run(tmp_path / "run")
    assert set(model.state_dict()) == set(task.build_model().state_dict())  # the generator only


class _FakeCodec:
    """Gives back its input (``lossy=False``) or the input's envelope on noise (``lossy=True``)."""

    sr = 16000

    def __init__(self, lossy: bool):
        self.lossy = lossy

    def reconstruct(self, x: torch.Tensor, n_quantizers: int | None = None):
        if not self.lossy:
            return x, None
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
        return noise * x.abs(), None


@pytest.mark.skipif(not pesto_available(), reason="PESTO not installed (pip install --no-deps pesto-pitch)")
def test_pitch_scores_tell_a_kept_pitch_from_a_lost_one():
    from tinyrun import tone

    pitches = [48.0, 55.0, 62.0, 69.0]
    notes = [tone(p, 0.5, sr=16000) for p in pitches]
    kept = pitch_scores(_FakeCodec(lossy=False), notes, pitches, n_notes=4)
    assert kept == {"pitch_kept": 1.0, "pitch_of_originals": 1.0, "pitch_notes": 4}
    lost = pitch_scores(_FakeCodec(lossy=True), notes, pitches, n_notes=2)
    assert lost["pitch_notes"] == 2 and lost["pitch_kept"] == 0.0 and lost["pitch_of_originals"] == 1.0


def test_init_weights_starts_a_codec_from_another_runs_weights(tmp_path):
    task = make_task(load_config(codec_config(tmp_path)))
    source = task.build_model()
    torch.save(source.state_dict(), tmp_path / "model.pt")
    warm_task = make_task(load_config(codec_config(tmp_path, init_weights=str(tmp_path))))
    warm = warm_task.build_model()
    warm_task.system(warm)
    assert all(torch.equal(warm.state_dict()[k], v) for k, v in source.state_dict().items())
    other = make_task(load_config(codec_config(tmp_path, bottleneck={"vae": {}}, init_weights=str(tmp_path))))
    with pytest.raises(CheckpointError, match="do not fit"):
        other.system(other.build_model())
    missing = make_task(load_config(codec_config(tmp_path, init_weights=str(tmp_path / "nope.pt"))))
    with pytest.raises(ConfigError, match="init_weights"):
        missing.system(missing.build_model())
