"""Cover-song identification: metric learning with online triplet mining, against a classic baseline.

The tutorial identifies versions of one work by *metric learning*: a network maps a chroma-like
input to an embedding in which versions of one work are close (Yesiler et al.'s MOVE), trained
with a triplet loss whose triplets are mined online inside batches of P works x K versions, and
evaluated by ranking. mir101 poses the problem on the chorale corpus's melody cliques: the
chorales that harmonise one hymn melody are versions of one work (different harmonisations),
each rendered several times (other keys, tempi, ensembles); splits hold out whole cliques.

Two ranking protocols on the held-out cliques (:mod:`mir101.metrics.ranking`):

- **(i)** every other version of the query's clique is relevant (its own chorale's other
  renditions included);
- **(ii)** harmonisation covers, the hard case: only the *other chorales* of the query's melody
  are relevant, and the query chorale's own renditions are removed from the candidates.

Both report MAP, MRR, MR1, P@1 and P@10, beside the classic key-invariant baseline of the same
run (:mod:`mir101.tasks.cover.classic`: chroma, optimal transposition index, DTW).

References:
    F. Yesiler, J. Serrà, E. Gómez, "Accurate and Scalable Version Identification Using
    Musically-Motivated Embeddings", ICASSP 2020, https://arxiv.org/abs/1910.12551
    G. Doras, G. Peeters, "Cover detection using dominant melody embeddings", ISMIR 2019.
    F. Schroff, D. Kalenichenko, J. Philbin, "FaceNet", CVPR 2015, https://arxiv.org/abs/1503.03832

Book page: ``book/cover.md``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.utils.data import ConcatDataset, DataLoader

from mir101.config import to_container
from mir101.data.audio import load_audio
from mir101.data.datasets import PatchDataset
from mir101.data.samplers import PKSampler
from mir101.data.store import Store
from mir101.errors import AnnotationError, AudioError, ConfigError, StoreError
from mir101.losses.triplet import MINING_STRATEGIES, TripletLoss
from mir101.metrics.ranking import evaluate_ranking
from mir101.paradigms import MetricLearning
from mir101.tasks.base import TASKS, EvalResult, Task
from mir101.tasks.cover.classic import classic_distances
from mir101.tasks.cover.search import EmbeddingIndex
from mir101.tasks.datamodule import SupervisedDataModule
from mir101.tasks.tagging.common import held_out_sets

__all__ = ["Cover", "CoverOptions", "protocol_scores"]

log = logging.getLogger(__name__)


@dataclass
class CoverOptions:
    """Options of the ``cover`` task (the config's ``task`` section).

    Args:
        label: the annotation naming an item's work (clique).
        version_of: the annotation naming the recording an item renders (``chorale``); items
            sharing it are renditions of one version, removed from each other's candidates in
            protocol (ii). ``None`` (or absent from the store): protocol (ii) equals (i).
        mining: ``random``, ``semihard`` or ``hard`` (:class:`~mir101.losses.TripletMiner`).
        margin: the triplet margin (embeddings are L2-normalised: distances in [0, 2]).
        p, k: works per batch and versions (patches) per work (:class:`~mir101.data.samplers.PKSampler`).
        batches_per_epoch: training batches per epoch (``None``: every work once).
        baseline: also score the classic baseline (chroma + OTI + DTW) on every set; when the
            row's input is another 12-bin one (a deep chroma), the same alignment on that input
            is scored beside it (``classic_input``): what the input gives without learning.
        baseline_block: frames of chroma averaged into one block of the baseline.
        ks: cut-offs of precision at k.
        top_k: works ``predict`` lists.
        train_stores: more training items, ``{name: {corpus: chorales, corpus_args: {...}}}`` or
            ``{name: {store: PATH}}``: other works and renditions. An item joins training unless its
            work is one of the split's validation or test works
            (:meth:`~mir101.tasks.base.Task.training_stores`); a work with one chorale teaches
            through its renditions (other ensembles, keys, tempi). ``null`` switches one off.
    """

    label: str = "work_id"
    version_of: str | None = "chorale"
    mining: str = "semihard"
    margin: float = 0.3
    p: int = 8
    k: int = 4
    batches_per_epoch: int | None = 32
    baseline: bool = True
    baseline_block: int = 4
    ks: list[int] = field(default_factory=lambda: [1, 10])
    top_k: int = 10
    train_stores: dict[str, Any] = field(default_factory=dict)


def embedding_distances(emb: np.ndarray) -> np.ndarray:
    """``(n, n)`` Euclidean distances between L2-normalised embeddings ``(n, dim)`` (diagonal 0)."""
    dist = np.sqrt(np.maximum(2.0 - 2.0 * emb @ emb.T, 0.0))  # unit vectors: |a - b|
    np.fill_diagonal(dist, 0.0)
    return dist


def protocol_scores(
    dist: np.ndarray, works: list[str], versions: list[str] | None, ks: tuple[int, ...] = (1, 10)
) -> dict[str, float]:
    """The ranking scores of both protocols from one ``(n, n)`` distance matrix.

    Keys are the metric names of :func:`~mir101.metrics.ranking.evaluate_ranking` suffixed by
    ``_i`` (every other version relevant) and ``_ii`` (the query's own renditions removed).
    """
    out: dict[str, float] = {}
    first = evaluate_ranking(dist, works, ks=ks)
    out.update({f"{k}_i": v for k, v in first.items()})
    if versions is not None:
        v = np.asarray(versions)
        exclude = v[:, None] == v[None, :]
        second = evaluate_ranking(dist, works, ks=ks, exclude=exclude)
    else:
        second = first
    out.update({f"{k}_ii": v for k, v in second.items()})
    return out


class _CoverDataModule(SupervisedDataModule):
    """Training and validation batches of P works x K patches (both through a :class:`PKSampler`)."""

    def __init__(self, train: PatchDataset, valid: PatchDataset | None, train_batches: PKSampler,
                 valid_batches: PKSampler | None, num_workers: int = 0, seed: int = 0):  # fmt: skip
        super().__init__(train, valid, num_workers=num_workers, seed=seed, train_batch_sampler=train_batches)
        self.valid_batches = valid_batches

    def val_dataloader(self) -> DataLoader | list:
        if self.valid is None or self.valid_batches is None:
            return []
        return DataLoader(self.valid, batch_sampler=self.valid_batches, num_workers=self.num_workers)


class ValidationRanking(L.Callback):
    """A Lightning callback: after each validation, embed the whole validation items and log their
    ranking scores (``val/MAP_ii``, ``val/MAP_i``), the metric the task is judged on, so that the
    best checkpoint and early stopping follow it rather than the noisy triplet loss of a few P x K
    batches (measured on ``deepmelody_semihard``: validation loss between 0.22 and 0.28 over 12
    epochs, lowest at epoch 2)."""

    def __init__(self, task: Cover, keys: list[str]):
        self.task, self.keys = task, list(keys)
        self.works = task.works(task.store, self.keys)
        self.versions = task.versions(task.store, self.keys)

    def scores(self, model: nn.Module) -> dict[str, float]:
        was_training = model.training
        emb = self.task.embed_items(model.eval(), self.task.store, self.keys)
        model.train(was_training)
        return protocol_scores(embedding_distances(emb), self.works, self.versions, ks=(1,))

    def on_validation_epoch_end(self, trainer: Any, system: Any) -> None:
        if trainer.sanity_checking:
            return
        s = self.scores(system.model)
        system.log("val/MAP_ii", s["MAP_ii"], prog_bar=True)
        system.log("val/MAP_i", s["MAP_i"])


@TASKS.register("cover")
class Cover(Task):
    """Cover-song identification by metric learning (see the module docstring)."""

    name = "cover"
    title = "Cover-song identification report"
    Options = CoverOptions
    report_columns = ("MAP_ii", "MRR_ii", "MR1_ii", "P@1_ii", "P@10_ii", "MAP_i", "MRR_i", "P@10_i", "items")

    @property
    def monitor(self) -> tuple[str, str]:  # type: ignore[override]
        """The best checkpoint and early stopping follow the validation ranking
        (:class:`ValidationRanking`), or the validation triplet loss when the validation items
        hold fewer than two works."""
        if self._ranks_validation(self.make_split()["valid"]):
            return ("val/MAP_ii", "max")
        return ("val/loss", "min")

    def _ranks_validation(self, keys: list[str]) -> bool:
        """Whether the validation items can be ranked: they hold two works or more."""
        return len(set(self.works(self.store, list(keys)))) >= 2

    def __init__(self, cfg: Any):
        super().__init__(cfg)
        o = self.options
        if o.mining not in MINING_STRATEGIES:
            raise ConfigError(f"task.mining={o.mining!r} must be one of {list(MINING_STRATEGIES)}")
        if o.margin <= 0:
            raise ConfigError(f"task.margin={o.margin} must be positive")
        if o.p < 2 or o.k < 2:
            raise ConfigError(
                f"task.p={o.p} and task.k={o.k} must be >= 2 (a triplet needs two works, two versions)"
            )
        if o.baseline_block < 1:
            raise ConfigError(f"task.baseline_block={o.baseline_block} must be >= 1 frame")

    # ------------------------------------------------------------------ input (deep chroma)
    @cached_property
    def input(self) -> nn.Module:
        node = to_container(self.cfg.input) or {}
        if isinstance(node, dict) and node.get("name") == "deepchroma":
            from mir101.tasks.cover.deepchroma import DeepChroma

            args = {k: v for k, v in node.items() if k != "name"}
            unknown = sorted(set(args) - {"run", "pool", "voice", "threshold"})
            if unknown or "run" not in args:
                raise ConfigError(
                    "input 'deepchroma' takes 'run' (a multipitch run folder, or 'pretrained'), 'pool', "
                    f"'voice' and 'threshold'; got {sorted(args)}"
                )
            return DeepChroma(**args)
        return super().input

    # ------------------------------------------------------------------ labels
    def works(self, store: Store, keys: list[str]) -> list[str]:
        """The work (clique) of each item; an item without one is a one-line error."""
        out = []
        for key in keys:
            w = store.value(key, self.options.label, default=None)
            if w is None:
                raise AnnotationError(
                    f"{store.pyjama_path}: item '{key}' has no '{self.options.label}' annotation "
                    f"(task.label): cover-song identification needs the work of every item"
                )
            out.append(str(w))
        return out

    def versions(self, store: Store, keys: list[str]) -> list[str] | None:
        """The recording each item renders (``task.version_of``), or ``None`` when the store has none."""
        name = self.options.version_of
        if not name or name not in store.annotation_kinds():
            return None
        return [str(store.value(k, name, default=k)) for k in keys]

    def groups(self, store: Store, keys: list[str]) -> dict[str, str]:
        by = self.cfg.data.split.by
        if by != self.options.label:
            log.warning("data.split.by=%s, not the work label '%s': works may leak", by, self.options.label)
        return super().groups(store, keys)

    # ------------------------------------------------------------------ training
    def datamodule(self, split: dict[str, list[str]]) -> _CoverDataModule:
        cache = self.features(self.store)
        d, o = self.cfg.data, self.options
        if not split["train"]:
            raise ConfigError("the split leaves no training items: lower data.split.valid / data.split.test")

        def dataset(
            store: Store, keys: list[str], features: Any, ids: dict[str, int]
        ) -> tuple[PatchDataset, list[int]]:
            works = dict(zip(keys, self.works(store, keys)))
            ds = PatchDataset(
                keys, features=features, targets=lambda k: ids[works[k]], n_frames=features.n_frames,
                patch_frames=d.patch_frames, hop_frames=d.patch_hop_frames, frame_targets=False,
            )  # fmt: skip
            return ds, [ids[works[k]] for k, _ in ds.index]

        def work_ids(*sets: tuple[Store, list[str]]) -> dict[str, int]:
            names = sorted({w for store, keys in sets for w in self.works(store, keys)})
            return {w: i for i, w in enumerate(names)}

        more = [(st, keys) for _, st, keys in self.training_stores(o.train_stores, split, new_works=True)]
        sets = [(self.store, list(split["train"])), *more]
        ids = work_ids(*sets)
        parts, labels = [], []
        for store, keys in sets:
            features = cache if store is self.store else self.features(store, keys)
            part, part_labels = dataset(store, keys, features, ids)
            parts.append(part)
            labels += part_labels
        train = parts[0] if len(parts) == 1 else ConcatDataset(parts)
        n_works = len(set(labels))
        if n_works < 2:
            raise ConfigError(f"the training split holds {n_works} work(s): triplets need at least 2")
        seed = int(self.cfg.train.seed)
        p = min(o.p, n_works)
        batches = PKSampler(labels, p=p, k=o.k, num_batches=o.batches_per_epoch, seed=seed)
        valid = valid_batches = None
        if split["valid"]:
            valid_keys = list(split["valid"])
            valid, vlabels = dataset(self.store, valid_keys, cache, work_ids((self.store, valid_keys)))
            if len(set(vlabels)) < 2 and int(self.cfg.train.patience) > 0:
                raise ConfigError(
                    f"the validation split holds {len(set(vlabels))} work(s): validation triplets need 2 "
                    "(early stopping watches them); raise data.split.valid or set train.patience=0"
                )
            if len(set(vlabels)) >= 2:
                nb = max(1, (o.batches_per_epoch or 8) // 4)
                valid_batches = PKSampler(
                    vlabels, p=min(o.p, len(set(vlabels))), k=o.k, num_batches=nb, seed=seed + 1
                )
        return _CoverDataModule(train, valid, batches, valid_batches, num_workers=d.num_workers, seed=seed)

    def callbacks(self, split: dict[str, list[str]]) -> list[Any]:
        """:class:`ValidationRanking` on the validation items (none when they hold fewer than 2 works)."""
        keys = list(split.get("valid") or [])
        return [ValidationRanking(self, keys)] if self._ranks_validation(keys) else []

    def system(self, model: nn.Module) -> MetricLearning:
        o = self.options
        return MetricLearning(
            model, TripletLoss(margin=o.margin, strategy=o.mining), optim=dict(self.cfg.optim),
            channels_last=self.cfg.train.channels_last,
        )  # fmt: skip

    def build_model(self) -> nn.Module:
        model = super().build_model()
        out = tuple(model.output_shape)
        if len(out) != 1:
            raise ConfigError(
                f"a cover model must output one embedding vector per patch, (dim,); this model outputs "
                f"{out} (end it with a pooling over time and a linear layer)"
            )
        return model

    # ------------------------------------------------------------------ embedding
    @property
    def min_frames(self) -> int:
        """Frames an item is zero-padded to when shorter: one training patch (the model's receptive
        field fits in a patch, so any longer item goes through whole)."""
        return int(self.cfg.data.patch_frames)

    def embed(self, model: nn.Module, features: np.ndarray) -> np.ndarray:
        """The L2-normalised embedding ``(dim,)`` of one whole item's features ``(channels, freq, frames)``.

        The model pools over time, so a whole item goes through at once; an item shorter than a
        patch is zero-padded to one.
        """
        x = torch.from_numpy(np.asarray(features, np.float32))
        if x.shape[-1] < self.min_frames:
            x = nn.functional.pad(x, (0, self.min_frames - x.shape[-1]))
        device = next(model.parameters(), torch.empty(0)).device
        with torch.no_grad():
            emb = model(x[None].to(device))[0]
        return nn.functional.normalize(emb, dim=-1).cpu().numpy()

    def embed_items(self, model: nn.Module, store: Store, keys: list[str]) -> np.ndarray:
        """``(n, dim)`` embeddings of items of a store (features cached)."""
        cache = self._cache(store, keys)
        return np.stack([self.embed(model, cache(k)) for k in keys])

    def _cache(self, store: Store, keys: list[str]) -> Any:
        """The feature cache holding ``keys``: the task's whole one for its own store's items."""
        if store is self.store and set(keys) <= set(self.keys):
            return self.features(store)
        return self.features(store, keys)

    def embed_audio(self, model: nn.Module, audio: np.ndarray) -> np.ndarray:
        """The embedding of a mono waveform at the input's sample rate."""
        if len(audio) < self.input.hop_length:
            raise AudioError(f"{len(audio)} samples is shorter than one frame ({self.input.hop_length})")
        with torch.no_grad():
            feats = self.input(torch.from_numpy(np.asarray(audio, np.float32))[None])[0].numpy()
        return self.embed(model, feats)

    # ------------------------------------------------------------------ evaluation
    def _baseline_chroma(self, store: Store, keys: list[str]) -> list[np.ndarray]:
        from mir101.inputs import FeatureCache
        from mir101.inputs.chroma import Chroma

        inp = self.input
        if isinstance(inp, Chroma) and inp.n_chroma == 12:
            cache = self._cache(store, keys)
        else:
            chroma = Chroma(sr=int(inp.sr), hop_length=int(inp.hop_length))
            cache = FeatureCache(store, chroma, dtype=self.cfg.data.feature_dtype, keys=keys, progress=False)
        return [np.asarray(cache(k), np.float32) for k in keys]

    def _input_is_other_pitch_classes(self) -> bool:
        """Whether the row's input is 12 pitch classes other than the classic chroma (a deep chroma)."""
        from mir101.inputs.chroma import Chroma

        return not isinstance(self.input, Chroma) and int(getattr(self.input, "n_bins", 0)) == 12

    def evaluate(self, model: nn.Module, split: dict[str, list[str]], run_dir: Path) -> EvalResult:
        """Rank the held-out items of every set by embedding distance, both protocols, beside the
        classic baseline of the same items."""
        model = model.cpu().eval()
        o = self.options
        ks = tuple(int(k) for k in o.ks)
        sets: dict[str, dict[str, float]] = {}
        extras: dict[str, Any] = {"baselines": {"classic": {}}, "times": {}}
        on_input = o.baseline and self._input_is_other_pitch_classes()
        if on_input:
            extras["baselines"]["classic_input"] = {}
        examples: dict[str, Any] = {}
        for name, (store, keys) in held_out_sets(self, split).items():
            if len(keys) < 2:
                log.warning("'%s' holds %d item(s): nothing to rank", name, len(keys))
                continue
            works, versions = self.works(store, keys), self.versions(store, keys)
            t0 = time.perf_counter()
            emb = self.embed_items(model, store, keys)
            t_embed = time.perf_counter() - t0
            dist = embedding_distances(emb)
            scores = protocol_scores(dist, works, versions, ks)
            scores["items"] = float(len(keys))
            scores["cliques"] = float(len(set(works)))
            sets[name] = scores
            extras["times"][name] = {"embed_s_per_item": round(t_embed / len(keys), 4)}
            if o.baseline:
                t0 = time.perf_counter()
                base = classic_distances(self._baseline_chroma(store, keys), block=o.baseline_block)
                extras["times"][name]["classic_s"] = round(time.perf_counter() - t0, 2)
                extras["baselines"]["classic"][name] = {
                    **protocol_scores(base, works, versions, ks),
                    "items": float(len(keys)),
                }
            if on_input:
                cache = self._cache(store, keys)
                base = classic_distances(
                    [np.asarray(cache(k), np.float32) for k in keys], block=o.baseline_block
                )
                extras["baselines"]["classic_input"][name] = {
                    **protocol_scores(base, works, versions, ks),
                    "items": float(len(keys)),
                }
            examples.setdefault("sets", {})[name] = {"dist": dist, "emb": emb, "works": works, "keys": keys}
            log.info("%s: MAP (ii) %.3f, MAP (i) %.3f", name, scores["MAP_ii"], scores["MAP_i"])
        if not sets:
            raise StoreError(
                "no held-out set holds 2 items or more: nothing to rank (lower data.split.test?)"
            )
        return EvalResult(self.name, "MAP_ii", sets, extras, examples=examples)

    @classmethod
    def summary(cls, result: EvalResult) -> str:
        """One line: MAP of both protocols on every set, and the classic baseline's."""
        base = (result.extras.get("baselines") or {}).get("classic") or {}
        parts = []
        for name, s in result.sets.items():
            text = f"{name} {result.primary} {s[result.primary]:.3f} MAP_i {s.get('MAP_i', float('nan')):.3f}"
            if name in base:
                text += f" (classic {base[name].get(result.primary, float('nan')):.3f})"
            same = (result.extras.get("baselines") or {}).get("classic_input") or {}
            if name in same:
                text += f" (classic on this input {same[name].get(result.primary, float('nan')):.3f})"
            parts.append(text + f" ({int(s['items'])} items)")
        return " | ".join(parts) or "no evaluation set"

    def report_sections(self, result: EvalResult, run_dir: Path) -> list[str]:
        from mir101.tasks.cover.report import cover_sections

        return cover_sections(self, result, run_dir)

    # ------------------------------------------------------------------ index and prediction
    def index(
        self, model: nn.Module, store: Store, keys: list[str] | None = None, run_dir: Path | None = None
    ) -> EmbeddingIndex:
        """Embed a collection once (every item of ``store``, or ``keys``) for searches."""
        if keys is None:
            where = to_container(self.cfg.data.where) or {}
            kinds = store.annotation_kinds()
            keys = [
                k
                for k in store.keys
                if all(n not in kinds or str(store.value(k, n)) == str(v) for n, v in where.items())
            ]
        if not keys:
            raise StoreError(f"{store.pyjama_path}: no item to index")
        emb = self.embed_items(model.cpu().eval(), store, keys)
        works = [str(store.value(k, self.options.label, default="")) for k in keys]
        titles = [str(store.value(k, "title", default=k)) for k in keys]
        meta = {
            "run": str(run_dir) if run_dir else "",
            "store": str(store.pyjama_path),
            "dim": int(emb.shape[1]),
        }
        return EmbeddingIndex(emb, list(keys), works, titles, meta)

    def _candidates(self, model: nn.Module, run_dir: Path, against: Path | None) -> EmbeddingIndex:
        if against is None:
            own = Path(run_dir) / "index.npz"
            if own.is_file():
                return EmbeddingIndex.load(own)
            return self.index(model, self.store, self.keys, run_dir)
        against = Path(against)
        if against.suffix == ".npz":
            return EmbeddingIndex.load(against)
        return self.index(model, Store(against), None, run_dir)

    def search(
        self, model: nn.Module, audio: np.ndarray, index: EmbeddingIndex, top: int, backend: str = "auto"
    ) -> list[dict[str, Any]]:
        """The nearest works of a query waveform: one entry per work, its closest item first."""
        query = self.embed_audio(model, audio)
        if query.shape[0] != index.embeddings.shape[1]:
            raise StoreError(
                f"the index holds embeddings of dimension {index.embeddings.shape[1]}, this model makes "
                f"{query.shape[0]}: index the collection with this run (mir101 cover index RUN STORE)"
            )
        dist, idx = index.search(query[None], k=len(index), backend=backend)
        seen: dict[str, dict[str, Any]] = {}
        for d, i in zip(dist[0], idx[0]):
            work = index.works[i] or index.keys[i]
            if work not in seen:
                seen[work] = {
                    "work": work,
                    "title": index.titles[i],
                    "key": index.keys[i],
                    "distance": round(float(d), 4),
                }
            if len(seen) >= top:
                break
        return list(seen.values())

    def predict(
        self, model: nn.Module, run_dir: Path, audio_path: Path, out_dir: Path, against: Path | None = None
    ) -> dict[str, Any]:
        """List the nearest works of a query recording among a collection (``against``: a store or
        an index file, ``mir101 predict cover RUN q.wav --against PATH``; default: the run's own
        ``index.npz``, else its store)."""
        index = self._candidates(model, run_dir, against)
        audio = load_audio(audio_path, int(self.input.sr))
        try:
            nearest = self.search(model.cpu().eval(), audio, index, self.options.top_k)
        except AudioError as err:
            raise AudioError(f"{audio_path}: {err}") from err
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{Path(audio_path).stem}.cover.json"
        path.write_text(
            json.dumps({"audio": str(audio_path), "candidates": len(index), "nearest": nearest}, indent=1)
        )
        return {
            "nearest": ", ".join(f"{n['work']} {n['distance']:.3f}" for n in nearest[:3]),
            "candidates": len(index),
            "json": str(path),
        }
