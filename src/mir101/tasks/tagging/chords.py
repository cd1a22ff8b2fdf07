"""Chord recognition: one of 25 classes (12 major, 12 minor triads, no chord) per frame.

The tutorial's chord problem (RWC-Pop), here on the chorales' chord annotations: a CQT (or chroma)
patch goes through conv-2D layers that fold the frequency axis, conv-1D layers over time and a
bidirectional LSTM, and a linear layer gives 25 logits per frame (McFee & Bello 2017 without the
multi-task heads); the loss is the cross-entropy of every frame. Richer labels (sevenths,
diminished...) are reduced to the vocabulary by :func:`~mir101.data.targets.chord_class`.

Evaluation on held-out works with ``mir_eval.chord`` (``majmin`` and ``root``, weighted by
duration over the segments of all items) and the frame accuracy of the 25 classes, against the
score's chords and, for the items that have one, against the expert harmonic analysis
(``chord_expert``: sets named ``<set>_expert``); on every ``data.test_stores`` set too. The same
evaluation scores two baselines: chroma template matching with HMM (Viterbi) or median smoothing
(:mod:`~mir101.tasks.tagging.chord_decoding`), and the majority class of the training frames.

References:
    B. McFee, J. P. Bello. "Structured training for large-vocabulary chord recognition", ISMIR 2017.
    F. Korzeniowski, G. Widmer. "A fully convolutional deep auditory model for musical chord
    recognition", MLSP 2016.

Book page: ``book/tagging.md``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mir101.data.audio import load_audio
from mir101.data.datasets import PatchDataset
from mir101.data.store import Store
from mir101.data.targets import CHORD_LABELS, chord_frames
from mir101.errors import AnnotationError, AudioError, ConfigError
from mir101.losses import build_loss
from mir101.metrics.classification import frame_accuracy, mir_eval_chord
from mir101.paradigms import Supervised
from mir101.tasks.base import TASKS, EvalResult, Task
from mir101.tasks.datamodule import SupervisedDataModule
from mir101.tasks.tagging.chord_decoding import (
    SMOOTHINGS,
    frames_to_segments,
    smooth_scores,
    template_scores,
    write_lab,
)
from mir101.tasks.tagging.common import held_out_sets, inference_speed
from mir101.tasks.tagging.decoding import frame_logits, probabilities

__all__ = ["ChordRecognition", "ChordOptions"]

log = logging.getLogger(__name__)


@dataclass
class ChordOptions:
    """Options of the ``chords`` task (the config's ``task`` section).

    Args:
        target: the segment annotation of Harte chord labels to learn (``chord``).
        expert: a second reference scored on the items that have it (``chord_expert``), or ``None``.
        decode: how the network's frame probabilities become chords: ``none`` (argmax per frame),
            ``median`` or ``viterbi`` (see :func:`~mir101.tasks.tagging.chord_decoding.smooth_scores`).
        baseline_smoothing: the template baseline's smoothing (``viterbi``, ``median`` or ``none``).
        self_prob: probability of staying on a chord from one frame to the next (Viterbi).
        median_frames: length of the median filter, in frames.
        excerpt_seconds: length of the chordogram drawn in the report.
    """

    target: str = "chord"
    expert: str | None = "chord_expert"
    decode: str = "none"
    baseline_smoothing: str = "viterbi"
    self_prob: float = 0.9
    median_frames: int = 15
    excerpt_seconds: float = 30.0


@TASKS.register("chords")
class ChordRecognition(Task):
    """Chord recognition, 25 classes per frame (see the module docstring)."""

    name = "chords"
    title = "Chord recognition report"
    Options = ChordOptions
    monitor = ("val/frame_accuracy", "max")
    report_columns = ("majmin", "root", "frame_accuracy", "items", "seconds")

    def __init__(self, cfg: Any):
        super().__init__(cfg)
        o = self.options
        for key in ("decode", "baseline_smoothing"):
            if getattr(o, key) not in SMOOTHINGS:
                raise ConfigError(f"task.{key}={getattr(o, key)!r} must be one of {list(SMOOTHINGS)}")
        if not 0 < o.self_prob < 1:
            raise ConfigError(f"task.self_prob={o.self_prob} must lie in (0, 1)")

    # ------------------------------------------------------------------ targets
    def check_annotation(self, store: Store, key: str, name: str) -> None:
        if not store.entry(key).get(name):
            raise AnnotationError(
                f"{store.pyjama_path}: item '{key}' has no '{name}' chord segments (task.target); "
                f"annotations of the store: {sorted(store.annotation_kinds())}"
            )

    def target(self, store: Store, key: str, frame_times: np.ndarray, name: str | None = None) -> np.ndarray:
        """Chord class per frame ``(frames,)`` at the given frame times."""
        name = name or self.options.target
        self.check_annotation(store, key, name)
        return chord_frames(store.segments(key, name), frame_times)

    def model_variables(self) -> dict[str, Any]:
        return {"n_classes": len(CHORD_LABELS)}

    def build_model(self) -> nn.Module:
        model = super().build_model()
        out, p = tuple(model.output_shape), self.cfg.data.patch_frames
        if out != (len(CHORD_LABELS), p):
            raise ConfigError(
                f"a chord model must output ({len(CHORD_LABELS)} classes, time={p}) for an input of "
                f"{self.input_shape}; this model outputs {out}"
            )
        return model

    # ------------------------------------------------------------------ training
    def datamodule(self, split: dict[str, list[str]]) -> SupervisedDataModule:
        cache = self.features(self.store)
        d = self.cfg.data
        if not split["train"]:
            raise ConfigError("the split leaves no training items: lower data.split.valid / data.split.test")

        def dataset(keys: list[str], hop: int) -> PatchDataset:
            return PatchDataset(
                keys,
                features=cache,
                targets=lambda k: self.target(self.store, k, cache.frame_times(k)),
                n_frames=cache.n_frames,
                patch_frames=d.patch_frames,
                hop_frames=hop,
            )

        return SupervisedDataModule(
            dataset(split["train"], d.patch_hop_frames),
            dataset(split["valid"], d.patch_frames) if split["valid"] else None,
            batch_size=d.batch_size,
            num_workers=d.num_workers,
            seed=self.cfg.train.seed,
        )

    def system(self, model: nn.Module) -> Supervised:
        from torchmetrics import MetricCollection
        from torchmetrics.classification import MulticlassAccuracy

        n = len(CHORD_LABELS)
        return Supervised(
            model,
            build_loss("ce"),
            optim=dict(self.cfg.optim),
            metrics=MetricCollection({"frame_accuracy": MulticlassAccuracy(num_classes=n, average="micro")}),
            channels_last=self.cfg.train.channels_last,
        )

    # ------------------------------------------------------------------ evaluation
    @property
    def hop_seconds(self) -> float:
        return float(self.input.hop_length) / float(self.input.sr)

    @cached_property
    def chroma(self) -> nn.Module:
        """The template baseline's input: a CQT chroma at the task input's rate and hop."""
        from mir101.inputs import build_input

        return build_input(
            {"name": "chroma", "sr": int(self.input.sr), "hop_length": int(self.input.hop_length)}
        )

    def _decode(self, logits: np.ndarray) -> np.ndarray:
        o = self.options
        return smooth_scores(logits, o.decode, o.self_prob, o.median_frames, sharpness=1.0)

    def _reference(self, store: Store, key: str, name: str) -> tuple[np.ndarray, list[str]]:
        seg = store.segments(key, name)
        return np.stack([seg.time, seg.time + seg.duration], axis=1), [str(v) for v in seg.value]

    def evaluate(self, model: nn.Module, split: dict[str, list[str]], run_dir: Path) -> EvalResult:
        """mir_eval.chord on every held-out set (and its expert subset), beside the baselines."""
        from mir101.inputs import FeatureCache

        model = model.cpu().eval()
        o = self.options
        cache_train = self.features(self.store)
        counts = np.zeros(len(CHORD_LABELS), np.int64)
        for k in split["train"]:
            counts += np.bincount(
                self.target(self.store, k, cache_train.frame_times(k)), minlength=len(counts)
            )
        majority = int(np.argmax(counts))
        scored: dict[str, dict[str, float]] = {}
        baselines: dict[str, dict[str, dict[str, float]]] = {"template": {}, "majority": {}}
        examples: dict[str, Any] = {}
        for name, (store, keys) in held_out_sets(self, split).items():
            if not keys:
                log.warning("no items to evaluate in '%s'", name)
                continue
            cache = self.features(store, None if store is self.store else keys)
            chroma = FeatureCache(store, self.chroma, keys=keys, dtype="float32", progress=False)
            model_est, template_est, majority_est = {}, {}, {}
            for k in keys:
                feats = np.asarray(cache(k), np.float32)
                logits = frame_logits(model, feats, self.cfg.data.patch_frames)
                model_est[k] = self._decode(logits)
                template = template_scores(np.asarray(chroma(k), np.float64)[0])
                template_est[k] = smooth_scores(template, o.baseline_smoothing, o.self_prob, o.median_frames)
                majority_est[k] = np.full(logits.shape[1], majority)
                if name not in examples:
                    times = cache.frame_times(k)
                    examples[name] = {
                        "key": k,
                        "times": times,
                        "probs": probabilities(logits.T, multilabel=False).T,
                        "truth": self.target(store, k, times),
                        "estimate": model_est[k],
                    }
            refs = [(o.target, name)]
            if o.expert:
                refs.append((o.expert, f"{name}_expert"))
            for ref_name, set_name in refs:
                with_ref = [k for k in keys if store.entry(k).get(ref_name)]
                if not with_ref:
                    if ref_name == o.target:
                        self.check_annotation(store, keys[0], ref_name)
                    continue
                scored[set_name] = self._score(store, with_ref, ref_name, model_est, cache)
                baselines["template"][set_name] = self._score(
                    store, with_ref, ref_name, template_est, chroma, self.hop_seconds
                )
                baselines["majority"][set_name] = self._score(store, with_ref, ref_name, majority_est, cache)
                log.info("%s: majmin %.3f (template %.3f)", set_name, scored[set_name]["majmin"],
                         baselines["template"][set_name]["majmin"])  # fmt: skip
        extras = {
            "baselines": baselines,
            "majority_class": CHORD_LABELS[majority],
            "decode": o.decode,
            "baseline_smoothing": o.baseline_smoothing,
            "speed": inference_speed(
                lambda audio: self.recognise(model, audio), self.store, split["test"][:2], self.input.sr
            ),
        }
        return EvalResult(self.name, "majmin", scored, extras, examples=examples)

    def _score(
        self,
        store: Store,
        keys: list[str],
        ref_name: str,
        estimates: dict[str, np.ndarray],
        cache: Any,
        hop_seconds: float | None = None,
    ) -> dict[str, float]:
        hop = hop_seconds or self.hop_seconds
        items, truth, guess = [], [], []
        for k in keys:
            est_iv, est_lab = frames_to_segments(estimates[k], hop)
            items.append((*self._reference(store, k, ref_name), est_iv, est_lab))
            t = self.target(store, k, cache.frame_times(k), ref_name)
            n = min(len(t), len(estimates[k]))
            truth.append(t[:n])
            guess.append(estimates[k][:n])
        scores = mir_eval_chord(items)
        scores["frame_accuracy"] = frame_accuracy(np.concatenate(truth), np.concatenate(guess))
        scores["items"] = len(keys)
        return scores

    @classmethod
    def summary(cls, result: EvalResult) -> str:
        """One line: majmin and root on every set, and the template baseline's majmin."""
        template = (result.extras.get("baselines") or {}).get("template") or {}
        parts = []
        for name, s in result.sets.items():
            text = f"{name} majmin {s['majmin']:.3f} root {s['root']:.3f}"
            if name in template:
                text += f" (template {template[name]['majmin']:.3f})"
            parts.append(text + f" ({int(s['items'])} items)")
        return " | ".join(parts) or "no evaluation set"

    def report_sections(self, result: EvalResult, run_dir: Path) -> list[str]:
        from mir101.tasks.tagging.report import chord_sections

        return chord_sections(self, result, run_dir)

    # ------------------------------------------------------------------ prediction
    def recognise(self, model: nn.Module, audio: np.ndarray) -> dict[str, Any]:
        """Chord probabilities per frame and the decoded segments of a mono waveform at the input's rate."""
        if len(audio) < self.input.hop_length:
            raise AudioError(f"{len(audio)} samples is shorter than one frame ({self.input.hop_length})")
        with torch.no_grad():
            feats = self.input(torch.from_numpy(np.asarray(audio, np.float32))[None])[0].numpy()
        logits = frame_logits(model, feats, self.cfg.data.patch_frames)
        classes = self._decode(logits)
        intervals, labels = frames_to_segments(classes, self.hop_seconds)
        return {
            "times": self.input.frame_times(logits.shape[1]),
            "probs": probabilities(logits.T, multilabel=False).T,
            "classes": classes,
            "intervals": intervals,
            "labels": labels,
        }

    def predict(self, model: nn.Module, run_dir: Path, audio_path: Path, out_dir: Path) -> dict[str, Any]:
        """Write the chords as a ``.lab`` file (mir_eval's format) and the chordogram (PNG)."""
        from mir101.viz.tagging import plot_chordogram

        audio = load_audio(audio_path, int(self.input.sr))
        try:
            res = self.recognise(model, audio)
        except AudioError as err:
            raise AudioError(f"{audio_path}: {err}") from err
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = Path(audio_path).stem
        lab = write_lab(res["intervals"], res["labels"], out_dir / f"{stem}.lab")
        png = out_dir / f"{stem}.chordogram.png"
        plot_chordogram(res["times"], res["probs"], None, res["classes"], CHORD_LABELS, png, title=stem)
        return {"lab": str(lab), "chordogram": str(png), "segments": len(res["labels"])}
