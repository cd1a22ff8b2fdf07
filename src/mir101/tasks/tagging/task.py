"""Auto-tagging: one label (multi-class) or a set of labels (multi-label) per item.

The tutorial's first tagging problems: a genre per track (GTZAN: multi-class, softmax +
cross-entropy) and user tags (MagnaTagATune: multi-label, one sigmoid + binary cross-entropy per
tag). mir101 poses the same two problems on its embedded corpora -- which *ensemble* plays a
chorale (multi-class), which *instrument families* play it (multi-label) -- and a third one on the
notes corpus, the *family* of an isolated note with whole instruments held out (multi-class, as
NSynth). One task does all three: ``task.label`` names the annotation, ``task.multilabel`` the
kind of problem.

The network sees patches of a few seconds and outputs one vector of logits per patch: a front-end
(a conv-2D over the full log-mel axis, or a learned filterbank on the waveform: conv-1D, SincNet,
SampleCNN, TCN), frame projections, then a pooling over time (mean, max, attention or AutoPool,
``task.pooling``). An item's prediction pools the logits of overlapping patches over its whole
length (``task.item_pooling``); their probabilities over time are the tag-o-gram.

Evaluation (scikit-learn, :mod:`mir101.metrics.classification`) on the held-out works of the
test split, and on each ``data.test_stores`` set (the same works rendered with another
SoundFont): accuracy, macro recall / precision / F1 and the confusion matrix (multi-class); macro
ROC-AUC and PR-AUC with a per-tag table (multi-label). The baseline of the same run guesses the
majority class of the training items (multi-class) or scores every item with the training prior
of each tag (multi-label: ROC-AUC 0.5, PR-AUC = prevalence).

References:
    S. Dieleman, B. Schrauwen. "End-to-end learning for music audio", ICASSP 2014.
    J. Pons, T. Lidy, X. Serra. "Experimenting with musically motivated convolutional neural
    networks", CBMI 2016.
    J. Lee, J. Park, K. L. Kim, J. Nam. "Sample-level deep convolutional neural networks for music
    auto-tagging using raw waveforms", SMC 2017.
    M. Ravanelli, Y. Bengio. "Speaker recognition from raw waveform with SincNet", SLT 2018.
    B. McFee, J. Salamon, J. P. Bello. "Adaptive pooling operators for weakly labeled sound event
    detection", TASLP 2018.

Book page: ``book/tagging.md``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mir101.config import to_container
from mir101.data.audio import load_audio
from mir101.data.datasets import PatchDataset
from mir101.data.store import Store
from mir101.data.targets import LabelVocabulary
from mir101.errors import AnnotationError, AudioError, ConfigError, StoreError
from mir101.losses import build_loss
from mir101.metrics.classification import confusion, multiclass_scores, multilabel_scores, per_tag_scores
from mir101.paradigms import Supervised
from mir101.tasks.base import TASKS, EvalResult, Task
from mir101.tasks.datamodule import SupervisedDataModule
from mir101.tasks.tagging.common import POOLINGS, held_out_sets, inference_speed, with_pooling
from mir101.tasks.tagging.decoding import (
    ITEM_POOLINGS,
    PatchScores,
    filter_responses,
    patch_logits,
    pool_items,
    probabilities,
    top_labels,
)

__all__ = ["Tagging", "TaggingOptions"]

log = logging.getLogger(__name__)


@dataclass
class TaggingOptions:
    """Options of the ``tagging`` task (the config's ``task`` section).

    Args:
        label: the global annotation holding each item's label(s): ``ensemble``, ``tag``,
            ``instrument`` (chorales), ``family`` (notes), ``genre`` (GTZAN)...
        multilabel: ``False``: one label per item, softmax + cross-entropy; ``True``: any number
            of labels per item, a sigmoid + binary cross-entropy per label.
        loss: ``ce`` or ``bce``; ``None`` takes the one of the problem (a mismatch is an error).
        pooling: replaces the model's pooling over time by ``mean``, ``max``, ``attention`` or
            ``autopool``; ``None`` keeps the model file's own.
        item_pooling: how patch logits become an item's: ``mean`` or ``max``.
        balanced: draw training patches class-balanced (multi-class only,
            :class:`~mir101.data.samplers.ClassBalancedSampler`).
        split_from_store: use the split the store carries (its metadata ``split``, e.g. the notes
            corpus's, which holds out whole instruments) instead of drawing one by
            ``data.split.by``.
        eval_hop: step between the patches of an item at evaluation, as a fraction of a patch.
        threshold: decision threshold of multi-label F1 and of the labels ``predict`` outputs.
        top_k: labels ``predict`` lists, most probable first.
        excerpt_seconds: longest tag-o-gram drawn in the report.
    """

    label: str = "ensemble"
    multilabel: bool = False
    loss: str | None = None
    pooling: str | None = None
    item_pooling: str = "mean"
    balanced: bool = False
    split_from_store: bool = False
    eval_hop: float = 0.5
    threshold: float = 0.5
    top_k: int = 3
    excerpt_seconds: float = 60.0


@TASKS.register("tagging")
class Tagging(Task):
    """Multi-class or multi-label tagging of items (see the module docstring)."""

    name = "tagging"
    title = "Auto-tagging report"
    Options = TaggingOptions

    def __init__(self, cfg: Any):
        super().__init__(cfg)
        o = self.options
        expected = "bce" if o.multilabel else "ce"
        if o.loss is not None and str(o.loss).lower() != expected:
            kind = "multi-label (task.multilabel: true)" if o.multilabel else "multi-class"
            raise ConfigError(
                f"task.loss={o.loss!r} does not fit a {kind} problem: use '{expected}' "
                f"({'a sigmoid per label' if o.multilabel else 'a softmax over the classes'})"
            )
        if o.pooling is not None and o.pooling not in POOLINGS:
            raise ConfigError(f"task.pooling={o.pooling!r} must be one of {sorted(POOLINGS)} (or null)")
        if o.item_pooling not in ITEM_POOLINGS:
            raise ConfigError(f"task.item_pooling={o.item_pooling!r} must be one of {list(ITEM_POOLINGS)}")
        if not 0 < o.eval_hop <= 1:
            raise ConfigError(f"task.eval_hop={o.eval_hop} must be a fraction of a patch in (0, 1]")
        if o.balanced and o.multilabel:
            raise ConfigError("task.balanced draws one class per item: it needs a multi-class problem")

    # ------------------------------------------------------------------ labels
    def labels_of(self, store: Store, key: str) -> list[str]:
        """The item's label(s) (``task.label``); a multi-class item must have exactly one."""
        name = self.options.label
        values = [str(v) for v in store.values(key, name)]
        if not self.options.multilabel and len(values) != 1:
            if not values:
                raise AnnotationError(
                    f"{store.pyjama_path}: item '{key}' has no '{name}' annotation (task.label); "
                    f"annotations of the store: {sorted(store.annotation_kinds())}"
                )
            raise AnnotationError(
                f"{store.pyjama_path}: item '{key}' has {len(values)} '{name}' values {values[:4]}: a "
                "multi-class task needs exactly one (set task.multilabel: true for several)"
            )
        return values

    @cached_property
    def vocabulary(self) -> LabelVocabulary:
        """The classes: every label of the selected items of the training store, sorted."""
        name = self.options.label
        if name not in self.store.annotation_kinds():
            raise AnnotationError(
                f"{self.store.pyjama_path}: no item has a '{name}' annotation (task.label); annotations "
                f"of the store: {sorted(self.store.annotation_kinds())}"
            )
        return LabelVocabulary.from_values(self.labels_of(self.store, k) for k in self.keys)

    @property
    def classes(self) -> list[str]:
        return self.vocabulary.to_list()

    def target(self, store: Store, key: str) -> Any:
        """The class index (multi-class) or the multi-hot vector (multi-label) of an item."""
        labels = self.labels_of(store, key)
        if self.options.multilabel:
            return self.vocabulary.multi_hot(labels)
        return self.vocabulary.index(labels[0])

    def model_variables(self) -> dict[str, Any]:
        return {"n_classes": len(self.classes)}

    # ------------------------------------------------------------------ split and model
    def make_split(self) -> dict[str, list[str]]:
        if not self.options.split_from_store:
            return super().make_split()
        own = (self.store.document.get("mir101") or {}).get("split")
        if not isinstance(own, dict) or not all(k in own for k in ("train", "valid", "test")):
            raise StoreError(
                f"{self.store.pyjama_path}: the store carries no split of its own (metadata "
                "'mir101.split' with train/valid/test); set task.split_from_store: false"
            )
        selected = set(self.keys)
        return {k: [key for key in own[k] if key in selected] for k in ("train", "valid", "test")}

    def build_model(self) -> nn.Module:
        if self.options.pooling is None:
            model = super().build_model()
        else:
            from mir101.models import build_model

            node = dict(to_container(self.cfg.model) or {})
            if "layers" not in node:
                raise ConfigError("task.pooling replaces a layer of a 'layers' model; this model has 'parts'")
            node.pop("input_shape", None)
            node["layers"] = with_pooling(list(node["layers"]), self.options.pooling)
            variables = {**(node.pop("variables", None) or {}), **self.model_variables()}
            model = build_model(node, self.input_shape, variables=variables)
        out = tuple(model.output_shape)
        if out != (len(self.classes),):
            raise ConfigError(
                f"a tagging model must output one logit per class, ({len(self.classes)},) for the "
                f"classes of '{self.options.label}'; this model outputs {out} per patch (end it with a "
                "pooling over time and `linear: {out_features: $n_classes}`)"
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
                targets=lambda k: self.target(self.store, k),
                n_frames=cache.n_frames,
                patch_frames=d.patch_frames,
                hop_frames=hop,
                frame_targets=False,
            )

        train = dataset(split["train"], d.patch_hop_frames)
        batches = None
        if self.options.balanced:
            from torch.utils.data import BatchSampler

            from mir101.data.samplers import ClassBalancedSampler

            labels = [self.target(self.store, key) for key, _ in train.index]
            sampler = ClassBalancedSampler(labels, seed=self.cfg.train.seed)
            batches = BatchSampler(sampler, d.batch_size, drop_last=False)
        return SupervisedDataModule(
            train,
            dataset(split["valid"], d.patch_frames) if split["valid"] else None,
            batch_size=d.batch_size,
            num_workers=d.num_workers,
            seed=self.cfg.train.seed,
            train_batch_sampler=batches,
        )

    def system(self, model: nn.Module) -> Supervised:
        from torchmetrics import MetricCollection
        from torchmetrics.classification import MulticlassAccuracy, MultilabelAccuracy

        n = len(self.classes)
        if self.options.multilabel:
            metrics = MetricCollection({"acc": MultilabelAccuracy(num_labels=n, average="macro")})
            transform = lambda out, y: (torch.sigmoid(out), y.long())  # noqa: E731
        else:  # macro accuracy per class = macro recall
            metrics = MetricCollection({"macro_recall": MulticlassAccuracy(num_classes=n, average="macro")})
            transform = None
        return Supervised(
            model,
            build_loss(self.options.loss or ("bce" if self.options.multilabel else "ce")),
            optim=dict(self.cfg.optim),
            metrics=metrics,
            metric_transform=transform,
            channels_last=self.cfg.train.channels_last,
        )

    # ------------------------------------------------------------------ evaluation
    @property
    def hop_seconds(self) -> float:
        return float(self.input.hop_length) / float(self.input.sr)

    def _hop_frames(self) -> int:
        return max(int(round(self.cfg.data.patch_frames * self.options.eval_hop)), 1)

    def score(self, model: nn.Module, features: np.ndarray) -> PatchScores:
        """Patch logits of one item's features ``(channels, [freq,] frames)``."""
        return patch_logits(model, features, self.cfg.data.patch_frames, self._hop_frames())

    def _known(self, store: Store, keys: list[str]) -> list[str]:
        """Keys whose labels are all in the vocabulary (others are left out, logged)."""
        if self.options.multilabel:
            return keys
        known = set(self.classes)
        out = [k for k in keys if self.labels_of(store, k)[0] in known]
        if len(out) < len(keys):
            log.warning(
                "%s: %d item(s) with a '%s' the model does not know are left out",
                store.pyjama_path,
                len(keys) - len(out),
                self.options.label,
            )
        return out

    def _truth(self, store: Store, key: str) -> Any:
        if not self.options.multilabel:
            return self.vocabulary.index(self.labels_of(store, key)[0])
        known = [x for x in self.labels_of(store, key) if x in set(self.classes)]
        return self.vocabulary.multi_hot(known)

    def _scores(self, truth: np.ndarray, probs: np.ndarray) -> dict[str, float]:
        if self.options.multilabel:
            return multilabel_scores(truth, probs, self.options.threshold)
        return multiclass_scores(truth, probs.argmax(axis=1))

    def evaluate(self, model: nn.Module, split: dict[str, list[str]], run_dir: Path) -> EvalResult:
        """Item predictions on every held-out set, scored with scikit-learn, beside the baseline."""
        model = model.cpu().eval()
        multilabel = self.options.multilabel
        train_truth = np.stack([np.asarray(self.target(self.store, k)) for k in split["train"]])
        if multilabel:
            baseline_name, prior = "tag_priors", train_truth.mean(axis=0)
        else:
            counts = np.bincount(train_truth, minlength=len(self.classes))
            baseline_name, prior = "majority", np.eye(len(self.classes))[int(np.argmax(counts))]
        scored: dict[str, dict[str, float]] = {}
        extras: dict[str, Any] = {
            "classes": self.classes,
            "label": self.options.label,
            "multilabel": multilabel,
            "baselines": {baseline_name: {}},
        }
        extras["per_tag" if multilabel else "confusion"] = {}
        examples: dict[str, Any] = {}
        for name, (store, keys) in held_out_sets(self, split).items():
            keys = self._known(store, keys)
            if not keys:
                log.warning("no items to evaluate in '%s'", name)
                continue
            cache = self.features(store, None if store is self.store else keys)
            patches = [self.score(model, np.asarray(cache(k), np.float32)) for k in keys]
            logits = np.stack([pool_items(p.logits, self.options.item_pooling) for p in patches])
            probs = probabilities(logits, multilabel)
            truth = np.stack([np.asarray(self._truth(store, k)) for k in keys])
            scores = self._scores(truth, probs)
            scores["items"] = len(keys)
            scored[name] = scores
            base = self._scores(truth, np.tile(prior, (len(keys), 1)))
            extras["baselines"][baseline_name][name] = {**base, "items": len(keys)}
            if multilabel:
                per = per_tag_scores(truth, probs)
                extras["per_tag"][name] = {
                    c: {
                        "roc_auc": _finite(per["roc_auc"][j]),
                        "pr_auc": _finite(per["pr_auc"][j]),
                        "positives": int(per["positives"][j]),
                    }
                    for j, c in enumerate(self.classes)
                }
            else:
                extras["confusion"][name] = confusion(truth, probs.argmax(axis=1), len(self.classes)).tolist()
            first = patches[0]
            examples.setdefault("tagograms", {})[name] = {
                "key": keys[0],
                "times": first.centers(self.hop_seconds),
                "probs": probabilities(first.logits, multilabel).T,
                "truth": self.labels_of(store, keys[0]),
            }
            log.info("%s: %s", name, ", ".join(f"{k} {v:.3f}" for k, v in scores.items() if k != "items"))
        extras["speed"] = inference_speed(
            lambda audio: self.tag(model, audio), self.store, split["test"][:2], self.input.sr
        )
        filters = filter_responses(model, float(self.input.sr))
        if filters is not None:
            examples["filters"] = filters
        primary = "roc_auc_macro" if multilabel else "macro_recall"
        return EvalResult(self.name, primary, scored, extras, examples=examples)

    @classmethod
    def summary(cls, result: EvalResult) -> str:
        """One line: the primary metric (and accuracy / PR-AUC) on every set, and the baseline's."""
        second = "pr_auc_macro" if result.primary == "roc_auc_macro" else "accuracy"
        baselines = result.extras.get("baselines") or {}
        base_name, base = next(iter(baselines.items()), ("", {}))
        parts = []
        for name, s in result.sets.items():
            text = (
                f"{name} {result.primary} {s[result.primary]:.3f} {second} {s.get(second, float('nan')):.3f}"
            )
            if name in base:
                text += f" ({base_name} {base[name].get(result.primary, float('nan')):.3f})"
            parts.append(text + f" ({int(s['items'])} items)")
        return " | ".join(parts) or "no evaluation set"

    def report_sections(self, result: EvalResult, run_dir: Path) -> list[str]:
        from mir101.tasks.tagging.report import tagging_sections

        return tagging_sections(self, result, run_dir)

    # ------------------------------------------------------------------ prediction
    def tag(self, model: nn.Module, audio: np.ndarray) -> dict[str, Any]:
        """Tag a mono waveform at the input's sample rate: patch probabilities over time and the
        item's probabilities."""
        if len(audio) < self.input.hop_length:
            raise AudioError(f"{len(audio)} samples is shorter than one frame ({self.input.hop_length})")
        with torch.no_grad():
            feats = self.input(torch.from_numpy(np.asarray(audio, np.float32))[None])[0].numpy()
        patches = self.score(model, feats)
        item = probabilities(pool_items(patches.logits, self.options.item_pooling), self.options.multilabel)
        return {
            "times": patches.centers(self.hop_seconds),
            "patch_probs": probabilities(patches.logits, self.options.multilabel).T,
            "probs": item,
        }

    def predict(self, model: nn.Module, run_dir: Path, audio_path: Path, out_dir: Path) -> dict[str, Any]:
        """Print the top labels; write the tag-o-gram (PNG) and every probability (JSON)."""
        from mir101.viz.tagging import plot_tagogram

        classes = self.classes
        trained = _trained_classes(Path(run_dir))
        if trained is not None and trained != classes:
            raise ConfigError(
                f"{run_dir}: the classes of metrics.json {trained[:5]}... differ from those of the store "
                f"{classes[:5]}...: the store changed since training; restore it or train again"
            )
        audio = load_audio(audio_path, int(self.input.sr))
        try:
            res = self.tag(model, audio)
        except AudioError as err:
            raise AudioError(f"{audio_path}: {err}") from err
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = Path(audio_path).stem
        probs = res["probs"]
        top = top_labels(probs, classes, self.options.top_k)
        if self.options.multilabel:
            labels = [c for c, p in zip(classes, probs) if p >= self.options.threshold]
        else:
            labels = [classes[int(np.argmax(probs))]]
        png = out_dir / f"{stem}.tagogram.png"
        plot_tagogram(res["times"], res["patch_probs"], classes, png, title=stem)
        doc = {
            "audio": str(audio_path),
            "label": self.options.label,
            "multilabel": self.options.multilabel,
            "predicted": labels,
            "top": [{"label": c, "probability": p} for c, p in top],
            "probabilities": {c: round(float(p), 5) for c, p in zip(classes, probs)},
            "patches": {
                "times": [round(float(t), 3) for t in res["times"]],
                "probabilities": np.round(res["patch_probs"], 5).tolist(),
            },
        }
        json_path = out_dir / f"{stem}.tags.json"
        json_path.write_text(json.dumps(doc, indent=1))
        return {
            "predicted": labels,
            "top": ", ".join(f"{c} {p:.2f}" for c, p in top),
            "json": str(json_path),
            "tagogram": str(png),
        }


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _trained_classes(run_dir: Path) -> list[str] | None:
    path = run_dir / "metrics.json"
    if not path.is_file():
        return None
    classes = EvalResult.load(path).extras.get("classes")
    return list(classes) if isinstance(classes, list) else None
