"""Note generation on a trained codec: an autoregressive Transformer on its RVQ tokens, or a rectified flow on its latents.

Papers: Copet et al., "Simple and Controllable Music Generation" (MusicGen), 2023,
https://arxiv.org/abs/2306.05284; Liu et al., "Flow Straight and Fast" (rectified flow), ICLR
2023, https://arxiv.org/abs/2209.03003; Engel et al., "Neural Audio Synthesis of Musical Notes
with WaveNet Autoencoders" (NSynth), ICML 2017, https://arxiv.org/abs/1704.01279.

The task reads a trained codec run (``task.codec_run``: a run folder of the ``codec`` task) and
the notes corpus. Every note becomes the codec's representation: the tokens of the first
``task.n_quantizers`` codebooks of an RVQ (``paradigm: autoregressive``) or the latents of an
AE / VAE, normalised per channel (``paradigm: flow``). The generator is conditioned on the MIDI
pitch and the NSynth-like instrument family. Held out: whole (family, pitch) pairs, so the test
asks for combinations never heard in training (each pitch and each family alone was heard).

Evaluation (:mod:`mir101.tasks.generation.evaluation`) generates one note per held-out real note
with its pitch and family, and compares the sets (Frechet distance, KID, Inception Score, pitch
accuracy by PESTO), with the codec's reconstructions of the real notes as the ceiling and decoded
random tokens / latents as the floor.

Book page: ``book/generation.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from mir101.bricks.codec_lm import CodecTransformer
from mir101.bricks.rvq import ResidualVectorQuantizer
from mir101.bricks.unet1d import UNet1d
from mir101.config import to_container
from mir101.data.corpora.ensembles import NOTE_PROGRAMS, nsynth_family
from mir101.errors import ConfigError, ParameterError
from mir101.paradigms.autoregressive import Autoregressive
from mir101.paradigms.flow import SAMPLERS, RectifiedFlow, guided
from mir101.tasks.base import TASKS, EvalResult, Task
from mir101.tasks.codec.engine import NeuralCodec
from mir101.tasks.datamodule import SupervisedDataModule
from mir101.utils.registry import check_kwargs

__all__ = ["Generation", "GenerationOptions", "FAMILIES", "LatentFlow"]

log = logging.getLogger(__name__)

PARADIGMS = ("autoregressive", "flow")
#: the condition vocabulary of the instrument family (fixed: NSynth-like families of the notes corpus)
FAMILIES: tuple[str, ...] = tuple(sorted({nsynth_family(p) for p in NOTE_PROGRAMS}))
N_PITCHES = 128


@dataclass
class GenerationOptions:
    """Options of the ``generation`` task (the config's ``task`` section).

    Args:
        paradigm: ``"autoregressive"`` (tokens of an RVQ codec) or ``"flow"`` (latents of an AE / VAE codec).
        codec_run: a trained run folder of the ``codec`` task (required).
        n_quantizers: RVQ codebooks the Transformer models (the first ones; autoregressive).
        p_uncond: fraction of training items without conditions (classifier-free guidance; flow).
        time_sampling: ``"uniform"`` or ``"logit_normal"`` times of the flow's training.
        sampler: ODE solver, ``"euler"`` or ``"heun"``; steps: its number of steps; guidance: the
            classifier-free guidance weight (1: none).
        eval_steps: step counts also evaluated for the FD / pitch accuracy vs steps plot (flow).
        temperature, top_k, top_p: token sampling (autoregressive; top_k 0 and top_p 1: off).
        evaluator_run: a tagging run of the family label (FD / KID on its embeddings, Inception
            Score); ``None``: MFCC statistics only.
        pitch_tracker: ``"pesto"`` or ``"none"``.
        max_eval_items: at most this many held-out notes are generated and compared.
        report_items: conditions whose real, generated and codec notes the report plays.
        seed: the seed of the generation.
    """

    paradigm: str = "flow"
    codec_run: str | None = None
    n_quantizers: int = 4
    p_uncond: float = 0.1
    time_sampling: str = "logit_normal"
    sampler: str = "heun"
    steps: int = 16
    guidance: float = 2.0
    eval_steps: list[int] = field(default_factory=list)
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    evaluator_run: str | None = None
    pitch_tracker: str = "pesto"
    max_eval_items: int = 200
    report_items: int = 3
    seed: int = 0


class LatentFlow(nn.Module):
    """A velocity network on normalised latents, with the per-channel ``mean`` and ``std`` of the
    training latents kept as buffers (saved with the weights)."""

    def __init__(self, net: UNet1d, latent_dim: int):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.zeros(latent_dim, 1))
        self.register_buffer("std", torch.ones(latent_dim, 1))

    def forward(self, x: Tensor, t: Tensor, conditions: Tensor) -> Tensor:
        return self.net(x, t, conditions)

    def null_conditions(self, batch: int, device: torch.device | None = None) -> Tensor:
        return self.net.null_conditions(batch, device)

    def normalise(self, latents: Tensor) -> Tensor:
        return (latents - self.mean) / self.std

    def denormalise(self, x: Tensor) -> Tensor:
        return x * self.std + self.mean


class _Items(Dataset):
    """``{"codes" or "x": (K, T) or (D, T), "conditions": (2,)}`` items."""

    def __init__(self, data: Tensor, conditions: Tensor, key: str):
        self.data, self.conditions, self.key = data, conditions, key

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {self.key: self.data[i], "conditions": self.conditions[i]}


@TASKS.register("generation")
class Generation(Task):
    """Conditional note generation on a codec (see the module docstring)."""

    name = "generation"
    title = "Note generation report"
    Options = GenerationOptions
    monitor = ("val/loss", "min")
    report_columns = (
        "fd_mfcc",
        "kid_mfcc",
        "fd_encoder",
        "kid_encoder",
        "inception_score",
        "family_accuracy",
        "pitch_accuracy",
        "items",
    )

    def __init__(self, cfg: Any):
        super().__init__(cfg)
        o = self.options
        if o.paradigm not in PARADIGMS:
            raise ConfigError(f"task.paradigm='{o.paradigm}' must be one of {list(PARADIGMS)}")
        if not o.codec_run:
            raise ConfigError(
                "task.codec_run is missing: give the run folder of a trained codec (mir101 train configs/codec/...)"
            )
        if o.sampler not in SAMPLERS:
            raise ConfigError(f"task.sampler='{o.sampler}' must be one of {sorted(SAMPLERS)}")
        if o.steps < 1 or any(int(s) < 1 for s in o.eval_steps):
            raise ConfigError(f"task.steps={o.steps} and task.eval_steps={o.eval_steps} must be >= 1")
        if o.pitch_tracker not in ("pesto", "none"):
            raise ConfigError(f"task.pitch_tracker='{o.pitch_tracker}' must be 'pesto' or 'none'")
        if o.n_quantizers < 1:
            raise ConfigError(f"task.n_quantizers={o.n_quantizers} must be >= 1")

    # ------------------------------------------------------------------ the codec
    @cached_property
    def codec(self) -> NeuralCodec:
        """The trained codec of ``task.codec_run`` (checked: a codec run of the right kind)."""
        from mir101.tasks.runner import load_run

        run = Path(str(self.options.codec_run)).expanduser()
        if not (run / "config.yaml").is_file():
            raise ConfigError(
                f"task.codec_run={str(run)!r} is not a run folder (no config.yaml): train a codec first"
            )
        task, model = load_run(run, check_metrics=False)
        if task.name != "codec":
            raise ConfigError(
                f"task.codec_run={str(run)!r} is a run of the '{task.name}' task, not of the codec task"
            )
        codec = NeuralCodec(model.eval(), int(task.sr))
        want = "tokens" if self.options.paradigm == "autoregressive" else "latents"
        if codec.kind != want:
            raise ConfigError(
                f"task.paradigm={self.options.paradigm} needs a codec with {want} "
                f"({'rvq' if want == 'tokens' else 'ae or vae'} bottleneck); {run} has a "
                f"{type(codec.bottleneck).__name__}"
            )
        if want == "tokens" and not isinstance(codec.bottleneck, ResidualVectorQuantizer):
            raise ConfigError(f"task.codec_run={str(run)!r}: the autoregressive generator needs an rvq codec")
        if want == "tokens" and self.options.n_quantizers > codec.n_quantizers:
            raise ConfigError(
                f"task.n_quantizers={self.options.n_quantizers} exceeds the codec's {codec.n_quantizers} codebooks"
            )
        return codec

    @property
    def sr(self) -> int:
        inp = dict(self.cfg.input or {})
        if inp.get("name") != "waveform" or int(inp.get("sr", 0)) != self.codec.sr:
            raise ConfigError(
                f"the generation task reads the waveform at the codec's rate: input: {{name: waveform, sr: {self.codec.sr}}}"
            )
        return self.codec.sr

    @cached_property
    def n_frames(self) -> int:
        """Codec frames per note (from the first note's length)."""
        n = len(self.audio_items(self.keys[:1])[0])
        return max(1, -(-n // self.codec.hop))

    @property
    def n_samples(self) -> int:
        return self.n_frames * self.codec.hop

    # ------------------------------------------------------------------ conditions
    def conditions_of(self, store: Any, keys: list[str]) -> Tensor:
        """``(items, 2)``: MIDI pitch and family index of each note."""
        rows = []
        for k in keys:
            pitch, family = store.value(k, "pitch", default=None), store.value(k, "family", default=None)
            if pitch is None or family is None:
                raise ConfigError(
                    f"{store.pyjama_path}: '{k}' has no pitch or family annotation (a notes corpus store is needed)"
                )
            rows.append(self.condition(int(round(float(pitch))), str(family)))
        return torch.tensor(rows, dtype=torch.long).view(-1, 2)

    @staticmethod
    def condition(pitch: int, family: str) -> list[int]:
        """``[pitch, family index]``, checked."""
        if not isinstance(pitch, (int, np.integer)) or not 0 <= int(pitch) < N_PITCHES:
            raise ParameterError(f"pitch={pitch!r} must be a MIDI note number in 0..127")
        if family not in FAMILIES:
            raise ParameterError(
                f"family={family!r} is not a family of the notes corpus; valid: {list(FAMILIES)}"
            )
        return [int(pitch), FAMILIES.index(family)]

    def groups(self, store: Any, keys: list[str]) -> dict[str, str]:
        """Held out by (family, pitch) pair: the test asks for combinations never heard."""
        return {
            k: f"{store.value(k, 'family', default='?')}-{store.value(k, 'pitch', default=k)}" for k in keys
        }

    # ------------------------------------------------------------------ data
    def audio_items(self, keys: list[str], store: Any = None) -> list[np.ndarray]:
        """Notes as mono float32 at the codec's rate (cropped / padded to whole frames once known)."""
        store = store if store is not None else self.store
        cache = self.features(store, None if store is self.store else keys)
        items = [np.asarray(cache(k), dtype=np.float32)[0] for k in keys]
        if "n_frames" in self.__dict__:
            n = self.n_samples
            items = [np.pad(x[:n], (0, max(0, n - len(x)))) for x in items]
        return items

    @torch.no_grad()
    def encode(self, audio: list[np.ndarray], batch: int = 32) -> Tensor:
        """Notes -> ``(items, K, T)`` tokens (autoregressive) or ``(items, D, T)`` latents (flow)."""
        codec, out = self.codec, []
        n = self.n_samples
        for i in range(0, len(audio), batch):
            x = torch.from_numpy(
                np.stack([np.pad(a[:n], (0, max(0, n - len(a)))) for a in audio[i : i + batch]])
            )
            latent = codec.encoder(x[:, None])
            if codec.kind == "tokens":
                out.append(codec.bottleneck.encode(latent, self.options.n_quantizers))
            else:
                out.append(codec.bottleneck.encode(latent))
        return torch.cat(out)[..., : self.n_frames]

    @torch.no_grad()
    def decode(self, data: Tensor, batch: int = 32) -> list[np.ndarray]:
        """``(items, K, T)`` tokens or ``(items, D, T)`` (unnormalised) latents -> notes."""
        codec, out = self.codec, []
        for i in range(0, len(data), batch):
            z = data[i : i + batch]
            z = z.long() if codec.kind == "tokens" else z.float()
            audio = codec.decoder(codec.bottleneck.decode(z))[:, 0, : self.n_samples]
            out += [a.numpy() for a in audio]
        return out

    def datamodule(self, split: Mapping[str, list[str]]) -> SupervisedDataModule:
        d = self.cfg.data
        key = "codes" if self.options.paradigm == "autoregressive" else "x"

        def dataset(keys: list[str], normalise: bool) -> _Items | None:
            if not keys:
                return None
            data = self.encode(self.audio_items(keys))
            if key == "x" and normalise:
                data = self._model_for_stats.normalise(data)
            return _Items(data, self.conditions_of(self.store, keys), key)

        if key == "x":
            self._set_latent_statistics(self.encode(self.audio_items(split["train"])))
        return SupervisedDataModule(
            dataset(split["train"], True),  # type: ignore[arg-type]
            dataset(split["valid"], True),
            batch_size=d.batch_size,
            num_workers=d.num_workers,
            seed=self.cfg.train.seed,
        )

    def _set_latent_statistics(self, latents: Tensor) -> None:
        model = self.__dict__.get("_model_for_stats")
        if model is None:
            raise ConfigError("build the model (task.build_model()) before its datamodule")
        model.mean.copy_(latents.mean(dim=(0, 2))[:, None])
        model.std.copy_(latents.std(dim=(0, 2)).clamp(min=1e-5)[:, None])

    # ------------------------------------------------------------------ model and paradigm
    def build_model(self) -> nn.Module:
        kwargs = dict(to_container(self.cfg.model) or {})
        kwargs.pop("input_shape", None)
        if self.options.paradigm == "autoregressive":
            fixed = dict(
                n_codebooks=self.options.n_quantizers,
                codebook_size=self.codec.codebook_size,
                n_frames=self.n_frames,
                n_classes=(N_PITCHES, len(FAMILIES)),
            )
            check_kwargs(CodecTransformer, kwargs, "model")
            taken = sorted(set(kwargs) & set(fixed))
            if taken:
                raise ConfigError(f"model: {taken} come from the codec and the corpus; leave them out")
            return CodecTransformer(**fixed, **kwargs)
        check_kwargs(UNet1d, kwargs, "model")
        latent_dim = int(self.codec.bottleneck.latent_dim)
        if {"in_channels", "n_classes"} & set(kwargs):
            raise ConfigError(
                "model: in_channels and n_classes come from the codec and the corpus; leave them out"
            )
        if "channels" in kwargs:
            kwargs["channels"] = tuple(kwargs["channels"])
        model = LatentFlow(
            UNet1d(in_channels=latent_dim, n_classes=(N_PITCHES, len(FAMILIES)), **kwargs), latent_dim
        )
        self.__dict__["_model_for_stats"] = model
        return model

    def system(self, model: nn.Module) -> Autoregressive | RectifiedFlow:
        optim = dict(self.cfg.optim)
        if self.options.paradigm == "autoregressive":
            return Autoregressive(model, optim)
        self.__dict__["_model_for_stats"] = model
        return RectifiedFlow(
            model, optim, p_uncond=self.options.p_uncond, time_sampling=self.options.time_sampling
        )

    # ------------------------------------------------------------------ generation
    @torch.no_grad()
    def generate(
        self, model: nn.Module, conditions: Tensor, seed: int | None = None, steps: int | None = None,
        batch: int = 32, progress: bool = False,
    ) -> list[np.ndarray]:  # fmt: skip
        """Generate one note per ``(pitch, family index)`` row of ``conditions``; returns audio."""
        o = self.options
        g = torch.Generator().manual_seed(o.seed if seed is None else seed)
        model = model.eval().cpu()
        out: list[np.ndarray] = []
        chunks = range(0, len(conditions), batch)
        bar = None
        if progress and o.paradigm == "flow":
            from tqdm.auto import tqdm

            bar = tqdm(total=len(conditions), desc="generating", unit="note")
        for i in chunks:
            c = conditions[i : i + batch]
            if o.paradigm == "autoregressive":
                codes = model.generate(
                    c,
                    temperature=o.temperature,
                    top_k=o.top_k or None,
                    top_p=o.top_p,
                    generator=g,
                    progress=progress,
                )
                out += self.decode(codes)
            else:
                z = torch.randn(len(c), model.mean.shape[0], self.n_frames, generator=g)
                x = SAMPLERS[o.sampler](guided(model, c, o.guidance), z, steps or o.steps)
                out += self.decode(model.denormalise(x))
            if bar is not None:
                bar.update(len(c))
        if bar is not None:
            bar.close()
        return out

    def random_floor(self, n: int, seed: int = 0) -> list[np.ndarray]:
        """Decoded uniform random tokens (RVQ) or N(0, 1) latents in the normalised space (the floor)."""
        g = torch.Generator().manual_seed(seed)
        if self.options.paradigm == "autoregressive":
            codes = torch.randint(
                0, self.codec.codebook_size, (n, self.options.n_quantizers, self.n_frames), generator=g
            )
            return self.decode(codes)
        model = self.__dict__.get("_model_for_stats")
        z = torch.randn(n, int(self.codec.bottleneck.latent_dim), self.n_frames, generator=g)
        return self.decode(model.denormalise(z) if model is not None else z)

    # ------------------------------------------------------------------ evaluation, report, predict
    def evaluate(self, model: nn.Module, split: Mapping[str, list[str]], run_dir: Path) -> EvalResult:
        from mir101.tasks.generation.evaluation import evaluate_generation

        if self.options.paradigm == "flow":
            self.__dict__["_model_for_stats"] = model
        return evaluate_generation(self, model, split)

    @classmethod
    def summary(cls, result: EvalResult) -> str:
        parts = []
        for name, s in result.sets.items():
            pitch = f" pitch_accuracy {s['pitch_accuracy']:.2f}" if "pitch_accuracy" in s else ""
            enc = f" fd_encoder {s['fd_encoder']:.2f}" if "fd_encoder" in s else ""
            parts.append(f"{name} fd_mfcc {s['fd_mfcc']:.2f}{enc}{pitch} ({int(s['items'])} items)")
        return " | ".join(parts)

    def report_sections(self, result: EvalResult, run_dir: Path) -> list[str]:
        from mir101.tasks.generation.report import generation_sections

        return generation_sections(result, run_dir, self.sr)

    def predict(self, model: nn.Module, run_dir: Path, audio_path: Path, out_dir: Path) -> dict[str, Any]:
        """A user's note gives the condition: its pitch (PESTO) and, with ``task.evaluator_run``, its
        family; a note of that pitch and family is generated (``.generated.wav``). Without them: the
        pitch of the file's loudest frame by PESTO and the family ``keyboard``."""
        from mir101.data.audio import load_audio
        from mir101.tasks.generation.evaluation import condition_from_audio

        audio = load_audio(audio_path, self.sr)
        pitch, family = condition_from_audio(self, audio)
        wav = self.write_notes(model, pitch, family, 1, Path(out_dir), stem=Path(audio_path).stem)[0]
        return {"pitch": pitch, "family": family, "generated": str(wav)}

    def write_notes(
        self, model: nn.Module, pitch: int, family: str, n: int, out_dir: Path, stem: str = "note",
        seed: int | None = None, progress: bool = False,
    ) -> list[Path]:  # fmt: skip
        """Generate ``n`` notes of ``pitch`` and ``family`` as WAV files in ``out_dir``."""
        import soundfile as sf

        cond = torch.tensor([self.condition(pitch, family)] * n, dtype=torch.long)
        audio = self.generate(model, cond, seed=seed, progress=progress)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, x in enumerate(audio):
            path = out_dir / f"{stem}-{family}-{pitch:03d}-{i:02d}.generated.wav"
            sf.write(path, np.clip(x, -1, 1).astype(np.float32), self.sr)
            paths.append(path)
        return paths
