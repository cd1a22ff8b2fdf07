"""Neural audio coding: squeeze isolated notes through a bottleneck (AE, VAE, VQ, RVQ) and give them back.

Papers: Zeghidour et al., "SoundStream: An End-to-End Neural Audio Codec", IEEE/ACM TASLP 2021,
https://arxiv.org/abs/2107.03312; Défossez et al., "High Fidelity Neural Audio Compression"
(EnCodec), 2022, https://arxiv.org/abs/2210.13438; Engel et al., "Neural Audio Synthesis of
Musical Notes with WaveNet Autoencoders" (NSynth), ICML 2017, https://arxiv.org/abs/1704.01279
(the notes and the held-out-instrument split).

The model is a multi-part codec (``encoder``, ``bottleneck``: one of ``ae``, ``vae``, ``vq``,
``rvq``, ``decoder``; ``configs/codec/models/codec_seanet_small.yaml``) reading waveform patches of
the notes corpus. It trains as an auto-encoder (:class:`~mir101.paradigms.AutoEncoder`) or, with
``task.paradigm: adversarial``, against a multi-scale STFT discriminator
(:class:`~mir101.paradigms.Adversarial`). Evaluation decodes held-out notes: ``test`` holds the
notes of instruments never heard in training (the store's split, as in NSynth), and
``seen_instruments`` the notes of pitches held out from the training instruments
(``task.held_out_notes``). Metrics: :mod:`mir101.tasks.codec.evaluation`.

Book page: ``book/bottlenecks.md``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mir101.bricks.discriminator import MultiScaleSTFTDiscriminator
from mir101.bricks.rvq import ResidualVectorQuantizer
from mir101.data.audio import load_audio
from mir101.data.datasets import PatchDataset
from mir101.errors import AudioError, ConfigError, ParameterError
from mir101.paradigms import Adversarial, AutoEncoder
from mir101.paradigms.autoencoder import ReconstructionLoss
from mir101.tasks.base import TASKS, EvalResult, Task
from mir101.tasks.codec.codes import Codes
from mir101.tasks.codec.engine import NeuralCodec, fingerprint
from mir101.tasks.codec.evaluation import pitch_scores, score_items
from mir101.tasks.datamodule import SupervisedDataModule
from mir101.utils.registry import check_kwargs

__all__ = ["Codec", "CodecOptions"]

log = logging.getLogger(__name__)

PARADIGMS = ("autoencoder", "adversarial")


@dataclass
class CodecOptions:
    """Options of the ``codec`` task (the config's ``task`` section).

    Args:
        paradigm: ``"autoencoder"`` (reconstruction losses) or ``"adversarial"`` (plus a
            discriminator, hinge / LS loss and feature matching).
        reconstruction: arguments of :class:`~mir101.paradigms.autoencoder.ReconstructionLoss`
            (``l1``, ``stft``, ``mel`` weights, ``fft_sizes``, ``n_mels``); ``sr`` is the input's.
        adversarial: arguments of :class:`~mir101.paradigms.Adversarial` (``kind``,
            ``adversarial_weight``, ``feature_weight``).
        discriminator: arguments of :class:`~mir101.bricks.discriminator.MultiScaleSTFTDiscriminator`.
        discriminator_optim: what differs from ``optim`` for the discriminator (``lr``, ``betas``).
        store_split: use the train / valid / test split the store carries (the notes corpus
            holds out instruments) instead of splitting by ``data.split.by``.
        held_out_notes: fraction of each training instrument's pitches held out for the
            ``seen_instruments`` evaluation set (all their velocities).
        eval_quantizers: RVQ codebook counts evaluated on the test set besides all of them
            (the bitrate ladder); empty: 1, N/4 and N/2.
        report_items: notes of each set written as WAV in the report.
        pitch_notes: test notes whose pitch is tracked on the decoded audio (``pitch_kept``, with
            PESTO when installed); 0 skips it.
        init_weights: a ``model.pt`` (or a run folder holding one) of the same model whose weights
            start training: train a codec further with other losses (e.g. the phase term).
    """

    paradigm: str = "autoencoder"
    reconstruction: dict[str, Any] = field(default_factory=dict)
    adversarial: dict[str, Any] = field(default_factory=dict)
    discriminator: dict[str, Any] = field(default_factory=dict)
    discriminator_optim: dict[str, Any] = field(default_factory=dict)
    store_split: bool = True
    held_out_notes: float = 0.1
    eval_quantizers: list[int] = field(default_factory=list)
    report_items: int = 2
    pitch_notes: int = 32
    init_weights: str | None = None


@TASKS.register("codec")
class Codec(Task):
    """Neural audio codec task (see the module docstring)."""

    name = "codec"
    title = "Neural audio codec report"
    Options = CodecOptions
    monitor = ("val/recon", "min")
    report_columns = (
        "mel_distance",
        "stft_distance",
        "si_sdr",
        "kbps",
        "codebook_usage",
        "perplexity",
        "items",
    )

    def __init__(self, cfg: Any):
        super().__init__(cfg)
        if self.options.paradigm not in PARADIGMS:
            raise ConfigError(f"task.paradigm='{self.options.paradigm}' must be one of {list(PARADIGMS)}")
        if not 0 <= self.options.held_out_notes < 1:
            raise ConfigError(
                f"task.held_out_notes={self.options.held_out_notes} must be a fraction in [0, 1)"
            )

    # ------------------------------------------------------------------ input, model
    @property
    def sr(self) -> int:
        if (self.cfg.input or {}).get("name") != "waveform":
            raise ConfigError("the codec task reads the waveform: input: {name: waveform, sr: 16000}")
        return int(self.input.sr)

    def build_model(self) -> nn.Module:
        model = super().build_model()
        codec = NeuralCodec(model, self.sr)  # checks the parts and the bottleneck
        if self.cfg.data.patch_frames % codec.hop:
            raise ConfigError(
                f"data.patch_frames={self.cfg.data.patch_frames} must be a multiple of the codec's hop "
                f"({codec.hop} samples per latent frame)"
            )
        return model

    def codec(self, model: nn.Module) -> NeuralCodec:
        """The trained ``model`` as a :class:`~mir101.tasks.codec.engine.NeuralCodec` (eval mode)."""
        return NeuralCodec(model.eval(), self.sr)

    # ------------------------------------------------------------------ split and data
    def make_split(self) -> dict[str, list[str]]:
        """The store's split (held-out instruments) or ``data.split``, then held-out notes of the
        training instruments moved to ``test``."""
        stored = (self.store.document.get("mir101") or {}).get("split")
        if self.options.store_split and isinstance(stored, Mapping):
            keys = set(self.keys)
            split = {
                name: [k for k in stored.get(name, []) if k in keys] for name in ("train", "valid", "test")
            }
        else:
            split = super().make_split()
        if not split["train"]:
            raise ConfigError("the split leaves no training notes: use a larger store or data.split")
        held = self._held_out_notes(split["train"])
        split["train"] = [k for k in split["train"] if k not in held]
        split["test"] = split["test"] + [k for k in self.keys if k in held]
        return split

    def _held_out_notes(self, train: list[str]) -> set[str]:
        frac = self.options.held_out_notes
        if not frac:
            return set()
        rng = np.random.default_rng(self.cfg.data.split.seed)
        by_program: dict[str, dict[str, list[str]]] = {}
        for k in train:
            program = str(self.store.value(k, "program", default="?"))
            by_program.setdefault(program, {}).setdefault(
                str(self.store.value(k, "pitch", default=k)), []
            ).append(k)
        held: set[str] = set()
        for program in sorted(by_program):
            pitches = sorted(by_program[program])
            n = int(round(frac * len(pitches)))
            if n == 0 and len(pitches) >= 3:
                n = 1
            for p in rng.permutation(pitches)[:n]:
                held.update(by_program[program][p])
        return held

    def datamodule(self, split: Mapping[str, list[str]]) -> SupervisedDataModule:
        self.sr  # noqa: B018  (fails early on another input)
        cache, d = self.features(self.store), self.cfg.data

        def dataset(keys: list[str], hop: int) -> PatchDataset:
            return PatchDataset(
                keys, cache, lambda k: 0, cache.n_frames, d.patch_frames, hop, frame_targets=False
            )

        return SupervisedDataModule(
            dataset(split["train"], d.patch_hop_frames),
            dataset(split["valid"], d.patch_frames) if split["valid"] else None,
            batch_size=d.batch_size,
            num_workers=d.num_workers,
            seed=self.cfg.train.seed,
        )

    # ------------------------------------------------------------------ paradigm
    def system(self, model: nn.Module) -> AutoEncoder | Adversarial:
        o = self.options
        check_kwargs(ReconstructionLoss, o.reconstruction, "task.reconstruction")
        loss = ReconstructionLoss(sr=self.sr, **o.reconstruction)
        optim = dict(self.cfg.optim)
        if o.init_weights:
            from mir101.tasks.runner import init_weights_from

            init_weights_from(model, o.init_weights)
        if o.paradigm == "autoencoder":
            return AutoEncoder(model, loss, optim=optim)
        check_kwargs(MultiScaleSTFTDiscriminator, o.discriminator, "task.discriminator")
        allowed = {"kind", "adversarial_weight", "feature_weight"}
        unknown = sorted(set(o.adversarial) - allowed)
        if unknown:
            raise ConfigError(f"task.adversarial: unknown argument(s) {unknown}; allowed: {sorted(allowed)}")
        return Adversarial(
            model,
            MultiScaleSTFTDiscriminator(**o.discriminator),
            loss,
            optim=optim,
            discriminator_optim=o.discriminator_optim,
            **o.adversarial,
        )

    # ------------------------------------------------------------------ evaluation
    def evaluation_sets(self, split: Mapping[str, list[str]]) -> dict[str, list[str]]:
        """``test``: notes of instruments absent from training; ``seen_instruments``: the held-out
        notes of training instruments."""
        seen = {str(self.store.value(k, "program", default="?")) for k in split["train"]}
        test = [k for k in split["test"] if str(self.store.value(k, "program", default="?")) not in seen]
        notes = [k for k in split["test"] if k not in set(test)]
        return {name: keys for name, keys in (("test", test), ("seen_instruments", notes)) if keys}

    def audio_items(self, keys: list[str]) -> list[np.ndarray]:
        """The notes of ``keys`` as mono float32 at the codec's rate (from the feature cache)."""
        cache = self.features(self.store)
        return [np.asarray(cache(k), dtype=np.float32)[0] for k in keys]

    def evaluate(self, model: nn.Module, split: Mapping[str, list[str]], run_dir: Path) -> EvalResult:
        codec = self.codec(model.cpu())
        sets, audio_examples = {}, []
        test_keys, test_items = [], []  # read once, scored again for pitch and the bitrate ladder
        latents: dict[str, Any] | None = None
        started, seconds = time.perf_counter(), 0.0
        for name, keys in self.evaluation_sets(split).items():
            items = self.audio_items(keys)
            if name == "test":
                test_keys, test_items = keys, items
            scores = score_items(codec, items, keep=self.options.report_items)
            sets[name] = scores.metrics
            seconds += sum(len(x) for x in items) / self.sr
            audio_examples += [
                (name, keys[i], items[i], decoded) for i, decoded in scores.reconstructions.items()
            ]
            if name == "test" and scores.latents is not None:
                latents = {
                    "vectors": scores.latents,
                    "pitches": np.array([float(self.store.value(k, "pitch", default=np.nan)) for k in keys]),
                    "families": [str(self.store.value(k, "family", default="?")) for k in keys],
                    "title": f"{len(keys)} held-out notes",
                }
            log.info(
                "%s: mel distance %.3f, SI-SDR %.2f dB (%d notes)",
                name,
                scores.metrics["mel_distance"],
                scores.metrics["si_sdr"],
                len(keys),
            )
        if not sets:
            raise ConfigError(
                "the split leaves no test notes to evaluate: check data.split / task.held_out_notes"
            )
        elapsed = time.perf_counter() - started
        extras: dict[str, Any] = {
            "codec": codec.describe(),
            "speed": {
                "audio_s_per_s": round(seconds / max(elapsed, 1e-9), 1),
                "threads": torch.get_num_threads(),
            },
        }
        if self.options.pitch_notes > 0 and test_items:
            from mir101.metrics.pitch import pesto_available

            if pesto_available():
                pitches = [float(self.store.value(k, "pitch", default=np.nan)) for k in test_keys]
                sets["test"].update(pitch_scores(codec, test_items, pitches, self.options.pitch_notes))
                log.info(
                    "test: pitch kept in %.2f of the notes (originals %.2f)",
                    sets["test"]["pitch_kept"],
                    sets["test"]["pitch_of_originals"],
                )
            else:
                log.warning("PESTO is not installed (pip install --no-deps pesto-pitch): no pitch_kept score")
        if isinstance(codec.bottleneck, ResidualVectorQuantizer) and test_items:
            extras["by_quantizers"] = self._ladder(codec, test_items)
        examples = {"audio": audio_examples, "latents": latents}
        return EvalResult(self.name, "mel_distance", sets, extras, higher_is_better=False, examples=examples)

    def _ladder(self, codec: NeuralCodec, items: list[np.ndarray]) -> dict[str, dict[str, float]]:
        n = codec.n_quantizers
        counts = self.options.eval_quantizers or [1, n // 4, n // 2]
        out = {}
        for q in sorted({int(c) for c in counts if 1 <= int(c) < n}):
            m = score_items(codec, items, n_quantizers=q).metrics
            out[str(q)] = {k: m[k] for k in ("kbps", "mel_distance", "si_sdr")}
        return out

    @classmethod
    def summary(cls, result: EvalResult) -> str:
        """One line: mel distance, SI-SDR and bitrate on every set."""
        parts = [
            f"{name} mel_distance {s['mel_distance']:.3f} SI-SDR {s['si_sdr']:.2f} dB at {s['kbps']:.2f} kbps ({int(s['items'])} items)"
            for name, s in result.sets.items()
        ]
        return " | ".join(parts)

    def report_sections(self, result: EvalResult, run_dir: Path) -> list[str]:
        from mir101.tasks.codec.report import codec_sections

        return codec_sections(result, run_dir, self.sr)

    # ------------------------------------------------------------------ prediction
    def predict(self, model: nn.Module, run_dir: Path, audio_path: Path, out_dir: Path) -> dict[str, Any]:
        """Encode a user's file, write its codes (``.codes.npz``) and its decoded audio (``.decoded.wav``)."""
        import soundfile as sf

        codec = self.codec(model)
        audio = load_audio(audio_path, codec.sr)
        codes = self.encode(codec, audio)
        decoded = codec.decode(codes.data, codes.n_samples)
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = Path(audio_path).stem
        npz = codes.save(out_dir / f"{stem}.codes.npz")
        wav = out_dir / f"{stem}.decoded.wav"
        sf.write(wav, np.clip(decoded, -1, 1), codec.sr)
        return {
            "decoded": str(wav),
            "codes": str(npz),
            "kbps": round(codes.kbps, 3),
            "seconds": round(codes.seconds, 3),
        }

    def encode(self, codec: NeuralCodec, audio: np.ndarray, n_quantizers: int | None = None) -> Codes:
        """Mono audio at ``codec.sr`` -> :class:`~mir101.tasks.codec.codes.Codes`."""
        if len(audio) == 0:
            raise AudioError("no audio to encode (0 samples)")
        if n_quantizers is not None and not isinstance(codec.bottleneck, ResidualVectorQuantizer):
            raise ParameterError(
                f"n_quantizers={n_quantizers}: only a residual vector quantiser (rvq) has codebooks to drop; "
                f"this codec's bottleneck is {type(codec.bottleneck).__name__}"
            )
        data = codec.encode(audio, n_quantizers)
        return Codes(
            kind=codec.kind,
            data=data,
            sr=codec.sr,
            n_samples=len(audio),
            hop=codec.hop,
            codebook_size=codec.codebook_size,
            model=fingerprint(codec.model),
        )
