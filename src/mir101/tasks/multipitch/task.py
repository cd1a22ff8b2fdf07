"""Multi-pitch estimation: which pitches sound in each frame (Bittner et al. 2017, deep salience).

The model maps a (harmonic) CQT patch ``(batch, channels, freq, time)`` to a pitch *salience*
``(batch, 1, freq, time)`` on the same log-frequency grid; the target is the pitch roll of the
annotated notes (or f0 series) at the input's frame times and bins; the loss is binary
cross-entropy. Evaluation picks peaks of the salience along frequency above a threshold chosen on
the validation works, and scores them with ``mir_eval.multipitch`` (Precision, Recall, Accuracy
and their chroma variants) on held-out works.

References:
    R. Bittner, B. McFee, J. Salamon, P. Li, J. P. Bello. "Deep Salience Representations for F0
    Estimation in Polyphonic Music", ISMIR 2017.
    G. Doras, P. Esling, G. Peeters. "On the use of U-Net for dominant melody estimation in
    polyphonic music", MMRP 2019.

Book page: ``book/multipitch.md``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import ConcatDataset, Dataset

from mir101.data.audio import load_audio
from mir101.data.augment import FeatureAugment
from mir101.data.datasets import PatchDataset
from mir101.data.store import Store
from mir101.data.targets import PitchGrid, pitch_roll_from_segments, pitch_roll_from_series
from mir101.errors import AnnotationError, ConfigError
from mir101.losses import build_loss
from mir101.metrics.multipitch import mir_eval_multipitch, mir_eval_notes
from mir101.paradigms import Supervised
from mir101.tasks.base import TASKS, EvalResult, Task
from mir101.tasks.datamodule import SupervisedDataModule
from mir101.tasks.multipitch.decoding import frames_to_notes, pick_peaks, salience_map, write_midi
from mir101.utils.pitch import hz_to_midi, midi_to_hz

__all__ = ["MultiPitch", "MultiPitchOptions"]

log = logging.getLogger(__name__)

#: thresholds tried on the validation works
THRESHOLDS = tuple(np.round(np.arange(0.1, 0.91, 0.05), 2))


@dataclass
class MultiPitchOptions:
    """Options of the ``multipitch`` task (the config's ``task`` section).

    Args:
        target: the annotation to learn: note segments (``pitchmidi``) or an f0 series
            (``f0`` in Hz, ``f0multi`` in MIDI as the tutorial's Bach10 store).
        pos_weight: BCE weight of active bins (few bins are active in a frame).
        threshold: salience threshold; ``None`` chooses it on the validation works.
        augment: feature augmentation (:class:`~mir101.data.augment.FeatureAugment` kwargs:
            ``max_shift_bins``, ``envelope``, ``gain``, ``p``).
        output_prior: the salience the untrained model starts at (the last layer's bias,
            :func:`~mir101.models.init_output_prior`): about the fraction of active bins, e.g.
            4 voices / 216 bins ~ 0.02; ``None`` keeps PyTorch's default initialisation.
        min_note_frames: shortest note (frames) kept when ``predict`` writes a MIDI file.
        excerpt_seconds: length of the excerpt drawn in the report.
        train_stores: more training material, ``{name: {corpus: chorales, corpus_args: {...}}}``
            or ``{name: {store: PATH}}`` (e.g. the same chorales rendered with other SoundFonts):
            only their items whose split group (``data.split.by``) is in the training split join
            training, so held-out works stay held out; ``where`` defaults to ``data.where``;
            ``null`` switches one off.
        train_new_works: also let the works of ``train_stores`` that the split never saw join
            training (more music, e.g. more chorales); the split's validation and test works
            never join.
        init_weights: a ``model.pt`` (or a run folder holding one) whose weights start training
            (training longer from a trained model, e.g. with a new schedule); ``None``: random.
    """

    target: str = "pitchmidi"
    pos_weight: float = 1.0
    threshold: float | None = None
    augment: dict[str, Any] = field(default_factory=dict)
    output_prior: float | None = None
    min_note_frames: int = 3
    excerpt_seconds: float = 12.0
    train_stores: dict[str, Any] = field(default_factory=dict)
    train_new_works: bool = False
    init_weights: str | None = None


@TASKS.register("multipitch")
class MultiPitch(Task):
    """Multi-pitch estimation task (see the module docstring)."""

    name = "multipitch"
    title = "Multi-pitch estimation report"
    report_columns = ("Accuracy", "Precision", "Recall", "Chroma Accuracy", "Note onset F", "items")
    Options = MultiPitchOptions
    monitor = ("val/f1", "max")

    # ------------------------------------------------------------------ targets
    @property
    def grid(self) -> PitchGrid:
        """The pitch axis of targets and outputs: the input's own frequency bins."""
        midi = hz_to_midi(self.input.frequencies())
        bps = int(round(1.0 / float(np.median(np.diff(midi))))) if len(midi) > 1 else 1
        return PitchGrid(
            fmin_midi=float(np.round(midi[0] * bps) / bps), n_bins=len(midi), bins_per_semitone=bps
        )

    def target(self, store: Store, key: str, frame_times: np.ndarray) -> np.ndarray:
        """Pitch roll (freq, frames) of an item at the given frame times."""
        name = self.options.target
        entry = store.entry(key)
        if name not in entry:
            raise AnnotationError(
                f"{store.pyjama_path}: item '{key}' has no '{name}' annotation (task.target)"
            )
        from mir101.data.pyjama import annotation_kind

        if annotation_kind(entry[name]) == "segment":
            return pitch_roll_from_segments(store.segments(key, name), frame_times, self.grid)
        return pitch_roll_from_series(store.series(key, name), frame_times, self.grid)

    # ------------------------------------------------------------------ training
    def datamodule(self, split: dict[str, list[str]]) -> SupervisedDataModule:
        cache = self.features(self.store)
        d = self.cfg.data

        def dataset(keys: list[str], augment: bool) -> PatchDataset:
            return PatchDataset(
                keys,
                features=cache,
                targets=lambda k: self.target(self.store, k, cache.frame_times(k)),
                n_frames=cache.n_frames,
                patch_frames=d.patch_frames,
                hop_frames=d.patch_hop_frames if augment else d.patch_frames,  # validation: no overlap
                transform=FeatureAugment(**self.options.augment)
                if augment and self.options.augment
                else None,
            )

        if not split["train"]:
            raise ConfigError("the split leaves no training items: lower data.split.valid / data.split.test")
        train: Dataset = dataset(split["train"], augment=True)
        extra = self._extra_training(split, dataset)
        if extra:
            train = ConcatDataset([train, *extra])
        return SupervisedDataModule(
            train,
            dataset(split["valid"], augment=False) if split["valid"] else None,
            batch_size=d.batch_size,
            num_workers=d.num_workers,
            seed=self.cfg.train.seed,
        )

    def _extra_training(self, split: dict[str, list[str]], dataset: Any) -> list[Dataset]:
        """Patch datasets of ``task.train_stores``: their items of the training split's groups."""
        out: list[Dataset] = []
        o = self.options
        for _, store, keys in self.training_stores(o.train_stores, split, new_works=o.train_new_works):
            cache = self.features(store, keys)
            out.append(
                PatchDataset(
                    keys,
                    features=cache,
                    targets=lambda k, s=store, c=cache: self.target(s, k, c.frame_times(k)),
                    n_frames=cache.n_frames,
                    patch_frames=self.cfg.data.patch_frames,
                    hop_frames=self.cfg.data.patch_hop_frames,
                    transform=FeatureAugment(**self.options.augment) if self.options.augment else None,
                )
            )
        return out

    def system(self, model: nn.Module) -> Supervised:
        from torchmetrics import MetricCollection
        from torchmetrics.classification import BinaryF1Score

        n_bins = self.grid.n_bins
        if self.options.init_weights:
            from mir101.tasks.runner import init_weights_from

            init_weights_from(model, self.options.init_weights)
        return Supervised(
            model,
            build_loss("bce", pos_weight=self.options.pos_weight),
            optim=dict(self.cfg.optim),
            metrics=MetricCollection({"f1": BinaryF1Score()}),
            output_transform=lambda out: out.reshape(out.shape[0], n_bins, out.shape[-1]),
            metric_transform=lambda out, y: (torch.sigmoid(out).flatten(), y.flatten().long()),
            channels_last=self.cfg.train.channels_last,
        )

    def build_model(self) -> nn.Module:
        model = super().build_model()
        out = tuple(model.output_shape)
        if int(np.prod(out)) != self.grid.n_bins * self.input_shape[-1]:
            raise ConfigError(
                f"a multipitch model must output (1, freq={self.grid.n_bins}, time={self.input_shape[-1]}) "
                f"for an input of {self.input_shape}; this model outputs {out}"
            )
        if self.options.output_prior is not None:
            from mir101.models import init_output_prior

            try:
                init_output_prior(model, self.options.output_prior)
            except ValueError as err:
                raise ConfigError(f"task.output_prior: {err}") from err
        return model

    # ------------------------------------------------------------------ evaluation
    def _saliences(
        self, model: nn.Module, store: Store, keys: list[str]
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        cache = self.features(store, None if store is self.store else keys)
        out = []
        for key in keys:
            feats = np.asarray(cache(key), dtype=np.float32)
            times = cache.frame_times(key)
            sal = salience_map(
                model, feats, self.cfg.data.patch_frames, channels_last=self.cfg.train.channels_last
            )
            out.append((times, sal, self.target(store, key, times) > 0.5))
        return out

    def _score(
        self, items: list[tuple[np.ndarray, np.ndarray, np.ndarray]], threshold: float
    ) -> dict[str, float]:
        bin_hz = midi_to_hz(self.grid.midi())
        ref = [(t, truth) for t, _s, truth in items]
        est = [(t, pick_peaks(s, threshold)) for t, s, _ in items]
        return mir_eval_multipitch(ref, est, bin_hz)

    def _reference_notes(self, store: Store, key: str) -> list[tuple[float, float, float]] | None:
        """The annotated notes of an item, or ``None`` when the target is an f0 series."""
        from mir101.data.pyjama import annotation_kind

        entry = store.entry(key)
        name = self.options.target
        if name not in entry or annotation_kind(entry[name]) != "segment":
            return None
        seg = store.segments(key, name)
        return [(float(t), float(t + d), float(v)) for t, d, v in zip(seg.time, seg.duration, seg.value)]

    def _note_scores(
        self,
        store: Store,
        keys: list[str],
        items: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
        threshold: float,
    ) -> dict[str, float]:
        """``mir_eval.transcription`` on the notes ``predict`` would write to MIDI (empty for f0 targets)."""
        refs = [self._reference_notes(store, k) for k in keys]
        if any(r is None for r in refs):
            return {}
        ests = [
            frames_to_notes(pick_peaks(s, threshold), t, self.grid, self.options.min_note_frames)
            for t, s, _ in items
        ]
        return mir_eval_notes(refs, ests, [float(store.duration(k)) for k in keys])  # type: ignore[arg-type]

    def _per_item(
        self,
        store: Store,
        keys: list[str],
        items: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
        threshold: float,
    ) -> list[dict[str, Any]]:
        """One row per item (worst first): its ensemble, frame scores and error breakdown."""
        rows = []
        for key, item in zip(keys, items):
            s = self._score([item], threshold)
            rows.append(
                {
                    "item": key,
                    "ensemble": str(store.value(key, "ensemble", default="")),
                    **{
                        k: round(s[k], 4)
                        for k in ("Accuracy", "Precision", "Recall", "Miss Error", "False Alarm Error")
                    },
                }
            )
        return sorted(rows, key=lambda r: r["Accuracy"])

    def choose_threshold(self, model: nn.Module, keys: list[str]) -> tuple[float, dict[float, float]]:
        """The threshold maximising mir_eval Accuracy on the validation works."""
        if self.options.threshold is not None:
            return float(self.options.threshold), {}
        if not keys:
            log.warning("no validation items: threshold 0.5")
            return 0.5, {}
        items = self._saliences(model, self.store, keys)
        curve = {float(th): self._score(items, th)["Accuracy"] for th in THRESHOLDS}
        best = max(curve, key=lambda th: (curve[th], -abs(th - 0.5)))
        return best, curve

    def evaluate(self, model: nn.Module, split: dict[str, list[str]], run_dir: Path) -> EvalResult:
        """mir_eval.multipitch on the test works (and ``data.test_stores``' held-out works), at the
        threshold chosen on the validation works; frames of all items pooled. Extras: the threshold
        curve, per-item, per-ensemble and per-voice tables (:mod:`.breakdown`), inference speed."""
        from mir101.tasks.multipitch import breakdown

        model = model.cpu().eval()
        threshold, curve = self.choose_threshold(model, split["valid"])
        sets: dict[str, tuple[Store, list[str]]] = {"test": (self.store, split["test"])}
        test_groups = {self.groups(self.store, split["test"])[k] for k in split["test"]}
        for name, (store, keys) in self.test_stores().items():
            held = [k for k in keys if self.groups(store, [k])[k] in test_groups]
            sets[name] = (store, held or keys)
        scored: dict[str, dict[str, float]] = {}
        per_item: dict[str, list[dict[str, Any]]] = {}
        per_ensemble: dict[str, list[dict[str, Any]]] = {}
        per_voice: dict[str, list[dict[str, Any]]] = {}
        examples = {}
        for name, (store, keys) in sets.items():
            if not keys:
                log.warning("no items to evaluate in '%s'", name)
                continue
            items = self._saliences(model, store, keys)
            scores = self._score(items, threshold)
            scores.update(self._note_scores(store, keys, items, threshold))
            audio_s = float(sum(store.duration(k) for k in keys))
            scores.update({"items": len(keys), "audio_seconds": round(audio_s, 1)})
            scored[name] = scores
            per_item[name] = self._per_item(store, keys, items, threshold)
            per_ensemble[name] = breakdown.per_ensemble(self, store, keys, items, threshold)
            per_voice[name] = breakdown.per_voice(self, store, keys, items, threshold)
            worst = keys.index(per_item[name][0]["item"])  # the excerpt is drawn where errors are
            examples[name] = (keys[worst], items[worst])
            log.info(
                "%s: Accuracy %.3f  P %.3f  R %.3f (%d items)",
                name,
                scores["Accuracy"],
                scores["Precision"],
                scores["Recall"],
                len(keys),
            )
        learned_nothing = bool(curve) and max(curve.values()) == 0.0
        if learned_nothing:
            log.warning(
                "the model found no pitch at any threshold on the validation works: it learned "
                "nothing (too few steps? a learning rate too high?)"
            )
        extras = {
            "threshold": threshold,
            "validation_accuracy_by_threshold": curve,
            "learned_nothing": learned_nothing,
            "per_item": per_item,
            "per_ensemble": per_ensemble,
            "per_voice": per_voice,
            "speed": self._speed(model, self.store, split["test"][:2]),
        }
        return EvalResult(self.name, "Accuracy", scored, extras, examples=examples)

    @classmethod
    def summary(cls, result: EvalResult) -> str:
        """One line: Accuracy, Precision and Recall on every set."""
        parts = [
            f"{name} Accuracy {s['Accuracy']:.3f} P {s['Precision']:.3f} R {s['Recall']:.3f}"
            + (f" notes F {s['Note onset F']:.3f}" if "Note onset F" in s else "")
            + f" ({int(s['items'])} items)"
            for name, s in result.sets.items()
        ]
        speed = result.extras.get("speed") or {}
        if speed:
            parts.append(f"{speed['audio_s_per_s']} s of audio per second ({speed['threads']} threads)")
        return " | ".join(parts)

    def report_sections(self, result: EvalResult, run_dir: Path) -> list[str]:
        from mir101.tasks.multipitch.report import multipitch_sections

        return multipitch_sections(self, result, run_dir)

    def _speed(self, model: nn.Module, store: Store, keys: list[str]) -> dict[str, float]:
        """End-to-end inference speed (features + model + peaks), in seconds of audio per second."""
        if not keys:
            return {}
        total_audio = total_time = 0.0
        for key in keys:
            audio, sr = store.audio(key)
            t0 = time.perf_counter()
            self.transcribe(model, audio)
            total_time += time.perf_counter() - t0
            total_audio += len(audio) / sr
        return {"audio_s_per_s": round(total_audio / total_time, 1), "threads": torch.get_num_threads()}

    # ------------------------------------------------------------------ prediction
    def transcribe(
        self, model: nn.Module, audio: np.ndarray, threshold: float = 0.5, chunk_frames: int = 4096
    ) -> dict[str, np.ndarray]:
        """Salience, active bins and frame times of a mono waveform at the input's sample rate.

        The input is computed ``chunk_frames`` frames at a time (:meth:`InputModule.chunks`), each
        chunk with whole patches of context on the patch grid of :func:`salience_map`, so memory
        stays bounded for hours of audio and the result equals a single pass.
        """
        p = self.cfg.data.patch_frames
        hop = max(p // 2, 1)  # salience_map's patch hop
        chunk = max(chunk_frames // hop, 1) * hop  # chunks start on the patch grid
        context = -(-p // hop) * hop  # at least one patch of context on each side, on the grid
        sal = np.zeros((self.grid.n_bins, self.input.n_frames(len(audio))), np.float32)
        with torch.no_grad():
            for c in self.input.chunks(np.asarray(audio, np.float32), chunk, overlap_frames=context):
                part = salience_map(
                    model, c.features[0].numpy(), p, channels_last=self.cfg.train.channels_last
                )
                sal[:, c.start : c.stop] = part[:, c.start - c.first : c.stop - c.first]
        return {
            "times": self.input.frame_times(sal.shape[1]),
            "salience": sal,
            "active": pick_peaks(sal, threshold),
        }

    def predict(
        self, model: nn.Module, run_dir: Path, audio_path: Path, out_dir: Path, threshold: float | None = None
    ) -> dict[str, Any]:
        """Write frame-level pitches (CSV, mir_eval's multipitch format), notes (MIDI) and a piano roll.

        ``threshold``: the salience threshold; default: the run's (``metrics.json``), else 0.5.
        """
        from mir101.viz.multipitch import plot_pianoroll

        metrics_path = Path(run_dir) / "metrics.json"
        if threshold is None:
            threshold = 0.5
            if metrics_path.is_file():
                threshold = float(EvalResult.load(metrics_path).extras.get("threshold", 0.5))
        audio = load_audio(audio_path, int(self.input.sr))
        if len(audio) < self.input.hop_length:
            from mir101.errors import AudioError

            raise AudioError(
                f"{audio_path}: {len(audio)} samples is shorter than one frame ({self.input.hop_length})"
            )
        res = self.transcribe(model, audio, threshold)
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = Path(audio_path).stem
        bin_hz = midi_to_hz(self.grid.midi())
        csv_path = out_dir / f"{stem}.pitches.csv"
        with csv_path.open("w") as fid:
            for t, col in zip(res["times"], res["active"].T):
                fid.write("\t".join([f"{t:.4f}"] + [f"{f:.2f}" for f in bin_hz[np.flatnonzero(col)]]) + "\n")
        notes = frames_to_notes(res["active"], res["times"], self.grid, self.options.min_note_frames)
        midi_path = out_dir / f"{stem}.mid"
        write_midi(notes, midi_path)
        png = out_dir / f"{stem}.pianoroll.png"
        plot_pianoroll(
            res["salience"], res["active"], res["times"], self.grid.midi(), png, title=stem, notes=notes
        )
        return {
            "pitches_csv": str(csv_path),
            "midi": str(midi_path),
            "plot": str(png),
            "notes": len(notes),
            "threshold": threshold,
        }
