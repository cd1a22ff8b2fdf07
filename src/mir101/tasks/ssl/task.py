"""Self-supervised learning: an encoder trained on unlabelled audio, judged by linear probes.

The tutorial's second tagging chapter: a Siamese network sees two augmented crops of one item (a
positive pair) and learns, without a single label, to map them close together (and, with a
contrastive loss, away from the other items of the batch). Whether the representation is any
good is then asked of a *linear probe*: a logistic regression trained on the frozen encoder's
embeddings for the tagging problems (which ensemble plays, which instrument families), with all,
10 % or 1 % of the labels, scored on held-out works and on the same works rendered with another
SoundFont.

- pairs: :class:`~mir101.data.pairs.PairDataset` (two random crops of a training item);
- views: :class:`~mir101.data.waveform_augment.WaveformAugment` on the batch (``task.augment``);
- encoder: any mir101 model; by default the tagging SampleCNN minus its classifier
  (``task.drop_last`` layers dropped from the model file), so the supervised tagging encoder and
  this one are the same network;
- projector and loss: :class:`~mir101.paradigms.Contrastive` (NT-Xent or VICReg, ``task.loss``);
  the projector is dropped after training: the run's ``model.pt`` is the encoder;
- evaluation: probes (:mod:`mir101.tasks.ssl.probes`) on the trained encoder and on the same
  encoder randomly initialised (the baseline of the same run), plus the spread of the held-out
  embeddings (``embedding_std`` and ``uniformity`` of the centred item embeddings).

References:
    T. Chen, S. Kornblith, M. Norouzi, G. Hinton. "A Simple Framework for Contrastive Learning of
    Visual Representations", ICML 2020. https://arxiv.org/abs/2002.05709
    J. Spijkervet, J. A. Burgoyne. "Contrastive Learning of Musical Representations", ISMIR 2021.
    https://arxiv.org/abs/2103.09410
    A. Bardes, J. Ponce, Y. LeCun. "VICReg", ICLR 2022. https://arxiv.org/abs/2105.04906
    T. Wang, P. Isola. "Understanding Contrastive Representation Learning through Alignment and
    Uniformity on the Hypersphere", ICML 2020. https://arxiv.org/abs/2005.10242

Book page: ``book/ssl.md``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from mir101.config import to_container
from mir101.data.audio import load_audio
from mir101.data.pairs import PairDataset
from mir101.data.splits import split_groups
from mir101.data.store import Store
from mir101.data.targets import LabelVocabulary
from mir101.errors import AnnotationError, AudioError, ConfigError, ParameterError
from mir101.losses import build_loss
from mir101.metrics.representation import embedding_std, uniformity
from mir101.paradigms import Contrastive
from mir101.tasks.base import TASKS, EvalResult, Task, open_store, select_keys
from mir101.tasks.datamodule import SupervisedDataModule
from mir101.tasks.embedding import embed_audio, patch_embeddings
from mir101.tasks.ssl.probes import fraction_name, probe_table
from mir101.tasks.tagging.common import held_out_sets

__all__ = ["SelfSupervised", "SSLOptions", "PROBE_METRICS"]

log = logging.getLogger(__name__)

#: the losses of ``task.loss``
SSL_LOSSES = ("ntxent", "vicreg")
#: probe kind -> (metric of the table, its short name in the metric keys)
PROBE_METRICS = {False: ("macro_recall", "recall"), True: ("roc_auc_macro", "auc")}


@dataclass
class SSLOptions:
    """Options of the ``ssl`` task (the config's ``task`` section).

    Args:
        loss: ``ntxent`` (SimCLR, contrastive) or ``vicreg`` (non-contrastive).
        loss_args: the loss's arguments (``temperature``; VICReg's weights); ``{}``: its defaults.
        drop_last: layers dropped from the end of the model file to make the encoder (1: the
            tagging model's classifier); the encoder must output one vector per patch.
        projector: hidden sizes of the projector MLP; ``projection_dim``: its output size.
        views_per_item: positive pairs drawn from each training item per epoch.
        augment: arguments of :class:`~mir101.data.waveform_augment.WaveformAugment` (``{}``: its
            defaults; ``null``: no augmentation, the two crops only). Waveform input only.
        probes: the probe problems: ``{label, multilabel}`` on the task's own store and split, or
            with ``store`` / ``corpus`` (+ ``corpus_args``, ``where``) on another store, split by
            that store's own split (``mir101.split``) or by ``split_by``.
        fractions: labelled fractions of the probes' training items.
        probe_repeats: draws of the labelled subset for each fraction below 1.
        probe_c: inverse regularisation strength of the logistic regression.
        probe_patches: an item's embedding is the mean of this many patches spread evenly over
            it (``None``: every patch, hop one patch); fewer is faster on long items.
        random_baseline: also probe the same encoder randomly initialised.
    """

    loss: str = "ntxent"
    loss_args: dict[str, Any] = field(default_factory=dict)
    drop_last: int = 1
    projector: list[int] = field(default_factory=lambda: [128])
    projection_dim: int = 64
    views_per_item: int = 4
    augment: dict[str, Any] | None = field(default_factory=dict)
    probes: list[dict[str, Any]] = field(default_factory=lambda: [{"label": "ensemble"}])
    fractions: list[float] = field(default_factory=lambda: [0.01, 0.1, 1.0])
    probe_repeats: int = 3
    probe_c: float = 1.0
    probe_patches: int | None = None
    random_baseline: bool = True


@dataclass
class ProbeProblem:
    """A probe problem resolved: its store, training keys and held-out sets."""

    label: str
    multilabel: bool
    store: Store
    train: list[str]
    held_out: dict[str, tuple[Store, list[str]]]


@TASKS.register("ssl")
class SelfSupervised(Task):
    """Self-supervised pretraining + linear probes (see the module docstring)."""

    name = "ssl"
    title = "Self-supervised learning report"
    Options = SSLOptions
    monitor = ("val/loss", "min")

    def __init__(self, cfg: Any):
        super().__init__(cfg)
        o = self.options
        if str(o.loss).lower() not in SSL_LOSSES:
            raise ConfigError(f"task.loss={o.loss!r} must be one of {list(SSL_LOSSES)}")
        if o.drop_last < 0 or o.views_per_item <= 0 or o.projection_dim <= 0 or o.probe_repeats <= 0:
            raise ConfigError(
                "task.drop_last must be >= 0 and task.views_per_item, projection_dim, probe_repeats > 0; "
                f"got {o.drop_last}, {o.views_per_item}, {o.projection_dim}, {o.probe_repeats}"
            )
        if not o.fractions or not all(0 < float(f) <= 1 for f in o.fractions):
            raise ConfigError(f"task.fractions={list(o.fractions)} must be labelled fractions in (0, 1]")
        if not o.probes:
            raise ConfigError(
                "task.probes is empty: give at least one probe problem, e.g. [{label: ensemble}]"
            )
        for i, p in enumerate(o.probes):
            if not isinstance(p, Mapping) or not p.get("label"):
                raise ConfigError(f"task.probes[{i}]={p!r} needs a 'label' (the annotation to predict)")
        if o.augment is not None and not self.is_waveform:
            raise ConfigError(
                "task.augment applies audio effects to waveforms: use input: {name: waveform} or "
                "set task.augment: null"
            )
        if self.cfg.data.batch_size < 2:
            raise ConfigError(
                f"data.batch_size={self.cfg.data.batch_size}: a self-supervised batch needs >= 2 items "
                "(the other items are the negatives / the variance is over the batch)"
            )

    # ------------------------------------------------------------------ model: the encoder
    def build_model(self) -> nn.Module:
        from mir101.models import build_model

        node = dict(to_container(self.cfg.model) or {})
        if "layers" not in node:
            raise ConfigError(
                "the ssl task's model is a layer list ('layers'): the encoder, or a tagging model "
                "whose last task.drop_last layers are dropped"
            )
        node.pop("input_shape", None)
        layers = list(node["layers"])
        drop = self.options.drop_last
        if drop >= len(layers):
            raise ConfigError(f"task.drop_last={drop} drops every layer of a {len(layers)}-layer model")
        node["layers"] = layers[: len(layers) - drop] if drop else layers
        variables = {**(node.pop("variables", None) or {}), **self.model_variables()}
        model = build_model(node, self.input_shape, variables=variables)
        if len(tuple(model.output_shape)) != 1:
            raise ConfigError(
                f"the encoder must output one vector per patch; after dropping {drop} layer(s) it "
                f"outputs {tuple(model.output_shape)} (end it with a pooling over time, or change "
                "task.drop_last)"
            )
        return model

    def encoder(self, model: nn.Module) -> nn.Module:
        """The run's model is the encoder (the projector was dropped after training)."""
        return model

    def random_encoder(self) -> nn.Module:
        """The same encoder, randomly initialised (seeded by ``train.seed``)."""
        with torch.random.fork_rng():
            torch.manual_seed(int(self.cfg.train.seed) + 12345)
            return self.build_model().eval()

    @property
    def is_waveform(self) -> bool:
        return str((self.cfg.input or {}).get("name")) == "waveform"

    # ------------------------------------------------------------------ training
    def datamodule(self, split: Mapping[str, list[str]]) -> SupervisedDataModule:
        cache = self.features(self.store)
        d, o = self.cfg.data, self.options
        if not split["train"]:
            raise ConfigError("the split leaves no training items: lower data.split.valid / data.split.test")

        def pairs(keys: list[str], seed: int | None) -> PairDataset:
            return PairDataset(keys, cache, cache.n_frames, d.patch_frames, o.views_per_item, seed=seed)

        return SupervisedDataModule(
            pairs(split["train"], None),
            pairs(split["valid"], int(self.cfg.train.seed)) if split["valid"] else None,
            batch_size=d.batch_size,
            num_workers=d.num_workers,
            seed=self.cfg.train.seed,
        )

    def augmentation(self) -> Any:
        """The batch augmentation of ``task.augment`` (``None`` when off)."""
        from mir101.data.waveform_augment import WaveformAugment

        args = self.options.augment
        if args is None:
            return None
        args = {k: tuple(v) if isinstance(v, list) else v for k, v in dict(args).items()}
        try:
            return WaveformAugment(sr=int(self.input.sr), **args)
        except TypeError as err:
            allowed = sorted(WaveformAugment.__dataclass_fields__)
            raise ConfigError(f"task.augment: {err}; allowed: {allowed}") from err
        except ParameterError as err:
            raise ConfigError(f"task.augment: {err}") from err

    def system(self, model: nn.Module) -> Contrastive:
        from mir101.bricks.mlp import MLP

        o = self.options
        dim = int(np.prod(model.output_shape))
        projector = MLP(in_features=dim, hidden_features=tuple(o.projector), out_features=o.projection_dim)
        loss = build_loss(str(o.loss).lower(), **dict(o.loss_args or {}))
        return Contrastive(model, projector, loss, augment=self.augmentation(), optim=dict(self.cfg.optim))

    # ------------------------------------------------------------------ probes
    def probe_problems(self, split: Mapping[str, list[str]]) -> list[ProbeProblem]:
        """The probe problems of ``task.probes``, with their stores, training keys and held-out sets."""
        out = []
        for spec in self.options.probes:
            spec = dict(spec)
            label, multilabel = str(spec["label"]), bool(spec.get("multilabel", False))
            if not spec.get("store") and not spec.get("corpus"):
                store, train = self.store, list(split["train"])
                held = held_out_sets(self, dict(split))
            else:
                store = open_store(spec, where=f"task.probes[{label}]")
                keys = select_keys(store, spec.get("where"))
                own = (store.document.get("mir101") or {}).get("split")
                if spec.get("split_by") is None and isinstance(own, Mapping):
                    kept = set(keys)
                    parts = {n: [k for k in own.get(n, []) if k in kept] for n in ("train", "valid", "test")}
                else:
                    by = str(spec.get("split_by") or "work_id")
                    parts = split_groups({k: str(store.value(k, by, default=k)) for k in keys}, seed=0)
                train, held = parts["train"], {"test": (store, parts["test"])}
            train = [k for k in train if store.values(k, label)]
            held = {n: (s, [k for k in ks if s.values(k, label)]) for n, (s, ks) in held.items()}
            held = {n: v for n, v in held.items() if v[1]}
            if not train or not held:
                raise AnnotationError(
                    f"{store.pyjama_path}: probe '{label}': no labelled item to train or to test on "
                    f"(annotations of the store: {sorted(store.annotation_kinds())})"
                )
            out.append(ProbeProblem(label, multilabel, store, train, held))
        return out

    def item_embeddings(self, encoder: nn.Module, store: Store, keys: list[str]) -> np.ndarray:
        """``(items, dim)``: the mean of each item's patch embeddings (``task.probe_patches``)."""
        cache = self.features(store, None if store is self.store and keys == self.keys else keys)
        patch, k = int(self.cfg.data.patch_frames), self.options.probe_patches
        out = []
        for key in keys:
            if k:
                n = cache.n_frames(key)
                starts = sorted({int(s) for s in np.linspace(0, max(n - patch, 0), k)})
                x = np.stack([cache.window(key, s, patch) for s in starts]).astype(np.float32)
                with torch.no_grad():
                    emb = encoder.eval()(torch.from_numpy(x)).flatten(1).numpy()
            else:
                emb = patch_embeddings(encoder, np.asarray(cache(key), np.float32), patch)[0]
            out.append(emb.mean(axis=0))
        return np.stack(out)

    def evaluate(self, model: nn.Module, split: dict[str, list[str]], run_dir: Path) -> EvalResult:
        """Probes on the trained encoder and on the random one, on every held-out set."""
        o = self.options
        encoders = {"ssl": model.cpu().eval()}
        if o.random_baseline:
            encoders["random_init"] = self.random_encoder()
        scores, tables, examples = self.probe(encoders, split)
        problems = self.options.probes
        first = str(problems[0]["label"]), bool(problems[0].get("multilabel", False))
        top = fraction_name(max(float(f) for f in o.fractions))
        primary = f"{first[0]}_{PROBE_METRICS[first[1]][1]}@{top}"
        sets = scores["ssl"]
        extras = {
            "probes": tables,
            "fractions": [fraction_name(f) for f in o.fractions],
            "loss": o.loss,
            "baselines": {n: scores[n] for n in encoders if n != "ssl"},
            "embedding_dim": int(np.prod(model.output_shape)),
        }
        for name, s in sets.items():
            log.info("%s: %s", name, ", ".join(f"{k} {v:.3f}" for k, v in s.items() if k != "items"))
        return EvalResult(self.name, primary, sets, extras, examples=examples)

    def probe(
        self, encoders: Mapping[str, nn.Module], split: Mapping[str, list[str]]
    ) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, Any], dict[str, Any]]:
        """Probe every encoder (any ``(batch, *input) -> (batch, dim)`` module reading this task's
        input, e.g. a supervised tagging encoder) on every probe problem.

        Returns:
            encoder -> set -> metric (``ensemble_recall@1%``, ``embedding_std``...) -> score; the
            full probe tables (label -> encoder -> set -> fraction -> metrics); the examples the
            report draws (test embeddings).
        """
        o = self.options
        problems = self.probe_problems(split)
        memo: dict[tuple[str, str, str], np.ndarray] = {}

        def embed(name: str, store: Store, keys: list[str]) -> np.ndarray:
            missing = [k for k in keys if (name, str(store.pyjama_path), k) not in memo]
            if missing:
                for k, e in zip(missing, self.item_embeddings(encoders[name], store, missing)):
                    memo[(name, str(store.pyjama_path), k)] = e
            return np.stack([memo[(name, str(store.pyjama_path), k)] for k in keys])

        scores: dict[str, dict[str, dict[str, float]]] = {n: {} for n in encoders}
        tables: dict[str, Any] = {}
        examples: dict[str, Any] = {"embeddings": {}}
        for prob in problems:
            vocab = LabelVocabulary.from_values(prob.store.values(k, prob.label) for k in prob.train)
            train_keys = (
                prob.train
                if prob.multilabel
                else [k for k in prob.train if len(prob.store.values(k, prob.label)) == 1]
            )

            def targets(
                store: Store, keys: list[str], vocab: LabelVocabulary = vocab, p: ProbeProblem = prob
            ) -> tuple[list[str], np.ndarray]:
                labels = [[str(v) for v in store.values(k, p.label)] for k in keys]
                if p.multilabel:
                    return keys, np.stack(
                        [vocab.multi_hot([x for x in ls if x in set(vocab.to_list())]) for ls in labels]
                    )
                ok = [i for i, ls in enumerate(labels) if len(ls) == 1 and ls[0] in set(vocab.to_list())]
                return [keys[i] for i in ok], np.asarray(
                    [vocab.index(labels[i][0]) for i in ok], dtype=np.int64
                )

            train_keys, y_train = targets(prob.store, train_keys)
            held = {n: targets(s, ks) for n, (s, ks) in prob.held_out.items()}
            metric, short = PROBE_METRICS[prob.multilabel]
            for enc in encoders:
                x_train = embed(enc, prob.store, train_keys)
                sets = {n: (embed(enc, prob.held_out[n][0], ks), y) for n, (ks, y) in held.items() if ks}
                table = probe_table(
                    (x_train, y_train), sets, o.fractions, prob.multilabel, o.probe_repeats, o.probe_c,
                    int(self.cfg.train.seed),
                )  # fmt: skip
                tables.setdefault(prob.label, {})[enc] = table
                for set_name, by_fraction in table.items():
                    row = scores[enc].setdefault(set_name, {})
                    for frac, vals in by_fraction.items():
                        row[f"{prob.label}_{short}@{frac}"] = vals[metric]
                    row.setdefault("items", float(len(held[set_name][0])))
                    if prob is problems[0]:
                        z = torch.from_numpy(sets[set_name][0])
                        z = z - z.mean(dim=0)  # centred: a constant offset is not spread
                        row["embedding_std"] = float(embedding_std(z)) if len(z) > 1 else float("nan")
                        row["uniformity"] = float(uniformity(z)) if len(z) > 1 else float("nan")
                if prob is problems[0] and "test" in sets:
                    examples["embeddings"][enc] = {
                        "x": sets["test"][0],
                        "labels": [
                            vocab.to_list()[int(i)] if not prob.multilabel else "" for i in held["test"][1]
                        ],
                        "label": prob.label,
                    }
        return scores, tables, examples

    @classmethod
    def summary(cls, result: EvalResult) -> str:
        """One line: the primary probe score on every set, and the random encoder's."""
        base = (result.extras.get("baselines") or {}).get("random_init") or {}
        parts = []
        for name, s in result.sets.items():
            text = f"{name} {result.primary} {s[result.primary]:.3f}"
            if name in base and result.primary in base[name]:
                text += f" (random_init {base[name][result.primary]:.3f})"
            parts.append(text + f" ({int(s.get('items', 0))} items)")
        return " | ".join(parts) or "no evaluation set"

    def report_sections(self, result: EvalResult, run_dir: Path) -> list[str]:
        from mir101.tasks.ssl.report import ssl_sections

        return ssl_sections(self, result, run_dir)

    # ------------------------------------------------------------------ prediction
    def predict(self, model: nn.Module, run_dir: Path, audio_path: Path, out_dir: Path) -> dict[str, Any]:
        """Write the item embedding and the patch embeddings of a user's file (``.npz`` + ``.json``)."""
        audio = load_audio(audio_path, int(self.input.sr))
        try:
            res = embed_audio(self, self.encoder(model).eval(), audio)
        except AudioError as err:
            raise AudioError(f"{audio_path}: {err}") from err
        return write_embeddings(res, Path(audio_path), Path(out_dir), str(run_dir))


def write_embeddings(
    res: Mapping[str, Any], audio_path: Path, out_dir: Path, run_dir: str, stem: str | None = None
) -> dict[str, Any]:
    """``<stem>.embedding.npz`` (``item``, ``patches``, ``times``) and a JSON summary in ``out_dir``
    (``stem``: the audio file's by default)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = stem or audio_path.stem
    npz = out_dir / f"{stem}.embedding.npz"
    np.savez(npz, item=res["item"], patches=res["patches"], times=res["times"])
    doc = {
        "audio": str(audio_path),
        "run": run_dir,
        "dim": int(res["item"].shape[-1]),
        "patches": int(len(res["patches"])),
        "item": [round(float(v), 6) for v in res["item"]],
    }
    js = out_dir / f"{stem}.embedding.json"
    js.write_text(json.dumps(doc))
    return {"dim": doc["dim"], "patches": doc["patches"], "npz": str(npz), "json": str(js)}
