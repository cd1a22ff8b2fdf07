"""Source separation: the four voices of a chorale (or a MUSDB18 track's stems) out of the mixture.

A :class:`~mir101.models.separator.MaskSeparator` masks the mixture's STFT with one mask per
source predicted by a network from YAML: a magnitude U-Net (Jansson et al., ISMIR 2017), the same
on real / imaginary channels with a complex mask, a FiLM-conditioned U-Net told which source to
extract (Meseguer-Brocal & Peeters, ISMIR 2019), or a BLSTM over frames (Open-Unmix, Stöter et
al. 2019). The loss (``task.loss``) compares the estimated stems with the true ones: spectrogram
L1 / L2, waveform L1, negative SI-SDR or multi-resolution STFT (:mod:`mir101.losses.separation`).

Evaluation, on an excerpt of each held-out mixture (``task.eval_seconds``; the whole item with
``0``), separated chunk by chunk with overlap-add: BSS-eval v4 (museval; SDR / SIR / SAR / ISR, the
median over 1-second frames, then over tracks, per source; the headline ``sdr`` is the mean of the
four voices' medians) and SI-SDR. The same table holds, for the same excerpts, the oracles of
masking (IRM1, IRM2, IBM), the mixture itself and supervised NMF (:mod:`.masks`).

Book page: ``book/separation.md``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import ConcatDataset

from mir101.config import to_container
from mir101.data.audio import load_audio
from mir101.data.store import Store
from mir101.errors import AudioError, ConfigError
from mir101.losses.separation import SEPARATION_LOSSES, SeparationLoss
from mir101.metrics.separation import aggregate_tracks, bss_eval, si_sdr_db
from mir101.models.separator import MASK_MODES, MaskSeparator
from mir101.paradigms import Supervised
from mir101.tasks.base import TASKS, EvalResult, Task
from mir101.tasks.datamodule import SupervisedDataModule
from mir101.tasks.separation.data import FixedPatches, SeparationPatches, load_sources, stem_index
from mir101.tasks.separation.masks import ORACLES, NMFSeparator, oracle_masks, wiener
from mir101.utils.io import atomic_path, cache_dir, stable_hash

__all__ = ["Separation", "SeparationOptions", "BASELINES"]

log = logging.getLogger(__name__)

#: the reference methods a run scores beside its model
BASELINES = ("mixture", "irm1", "irm2", "ibm", "nmf")


@dataclass
class SeparationOptions:
    """Options of the ``separation`` task (the config's ``task`` section).

    Args:
        sources: the stems' ``role`` values to separate, in the output's order.
        n_fft, hop_length: the STFT the network masks (and the oracles use).
        max_bin: bins the network sees (from 0 Hz); the bins above take the highest one's mask.
        mode: ``magnitude`` (a real mask, the mixture's phase) or ``complex`` (a complex mask
            on the real / imaginary STFT).
        activation: of magnitude masks: ``sigmoid``, ``softmax`` (over sources) or ``relu``.
        loss: ``spec_l1``, ``spec_l2``, ``wave_l1``, ``si_sdr`` or ``mrstft``.
        patch_seconds: training patch length.
        patches_per_epoch: random patches per training epoch.
        remix: probability that a patch mixes sources of different items of the same key.
        remix_by: the annotation grouping the items that may be remixed (``key``).
        gain: per-source gain drawn in ``[1 - gain, 1 + gain]``.
        valid_patches: validation patches per validation mixture.
        eval_seconds: excerpt of each held-out mixture scored (from its start); 0: the whole item.
        eval_items: mixtures scored per evaluation set (evenly spread); 0: all.
        chunk_seconds, overlap_seconds: the chunks of inference on long recordings.
        wiener: iterations of the Wiener post-filter at evaluation and prediction (0: none).
        baselines: the reference methods scored beside the model (see :data:`BASELINES`).
        nmf_components: NMF templates per source; nmf_items: training mixtures they are learned on.
        report_items: held-out mixtures whose excerpts the report plays and draws.
        train_stores: more training mixtures, ``{name: {corpus: chorales, corpus_args: {...}}}``
            or ``{name: {store: PATH}}``: other works and renditions (other SoundFonts, ensembles,
            keys). Their items of the split's validation and test works never join training
            (:meth:`~mir101.tasks.base.Task.training_stores`); ``null`` switches one off. Each
            store draws a share of ``patches_per_epoch`` proportional to its mixtures, and
            remixes within itself.
    """

    sources: list[str] = field(default_factory=lambda: ["soprano", "alto", "tenor", "bass"])
    n_fft: int = 1024
    hop_length: int = 256
    max_bin: int | None = 256
    mode: str = "magnitude"
    activation: str = "sigmoid"
    loss: str = "spec_l1"
    patch_seconds: float = 2.0
    patches_per_epoch: int = 512
    remix: float = 0.5
    remix_by: str = "key"
    gain: float = 0.25
    valid_patches: int = 4
    eval_seconds: float = 10.0
    eval_items: int = 8
    chunk_seconds: float = 6.0
    overlap_seconds: float = 0.5
    wiener: int = 0
    baselines: list[str] = field(default_factory=lambda: list(BASELINES))
    nmf_components: int = 16
    nmf_items: int = 12
    report_items: int = 1
    train_stores: dict[str, Any] = field(default_factory=dict)


@TASKS.register("separation")
class Separation(Task):
    """Mask-based source separation (see the module docstring)."""

    name = "separation"
    title = "Source separation report"
    Options = SeparationOptions
    report_columns = ("sdr", "sir", "sar", "isr", "si_sdr", "items")

    def __init__(self, cfg: Any):
        super().__init__(cfg)
        o = self.options
        SEPARATION_LOSSES.get(o.loss)  # an unknown name fails here, listing the valid ones
        if o.mode not in MASK_MODES:
            raise ConfigError(f"task.mode={o.mode!r} must be one of {list(MASK_MODES)}")
        if len(o.sources) < 2 or len(set(o.sources)) != len(o.sources):
            raise ConfigError(f"task.sources={o.sources} must name at least two distinct sources")
        unknown = sorted(set(o.baselines) - set(BASELINES))
        if unknown:
            raise ConfigError(f"task.baselines: unknown {unknown}; allowed: {list(BASELINES)}")
        if o.patch_seconds <= 0 or o.chunk_seconds <= 0 or not 0 <= o.overlap_seconds < o.chunk_seconds:
            raise ConfigError(
                f"task.patch_seconds={o.patch_seconds}, chunk_seconds={o.chunk_seconds}, overlap_seconds="
                f"{o.overlap_seconds}: need positive lengths and 0 <= overlap < chunk"
            )
        if o.eval_seconds < 0 or o.eval_items < 0 or o.wiener < 0 or not 0 <= o.remix <= 1:
            raise ConfigError("task.eval_seconds, eval_items, wiener must be >= 0 and task.remix in [0, 1]")

    # ------------------------------------------------------------------ input and model
    @property
    def sr(self) -> int:
        if (self.cfg.input or {}).get("name") != "waveform":
            raise ConfigError("the separation task reads the waveform: input: {name: waveform, sr: 22050}")
        return int(self.input.sr)

    @property
    def patch(self) -> int:
        return int(round(self.options.patch_seconds * self.sr))

    def separator(self, network: nn.Module) -> MaskSeparator:
        o = self.options
        return MaskSeparator(network, len(o.sources), o.n_fft, o.hop_length, o.max_bin, o.mode,
                             "linear" if o.mode == "complex" else o.activation)  # fmt: skip

    def build_model(self) -> nn.Module:
        from mir101.models import build_model

        if not self.cfg.model or "layers" not in self.cfg.model:
            raise ConfigError(
                "the separation task needs a 'model' section with a 'layers' list (the mask network)"
            )
        o = self.options
        n_bins = o.n_fft // 2 + 1
        max_bin = n_bins if o.max_bin is None else o.max_bin
        if not 1 <= max_bin <= n_bins:
            raise ConfigError(f"task.max_bin={o.max_bin} must lie in [1, {n_bins}] for n_fft={o.n_fft}")
        c_in, per = MASK_MODES[o.mode]
        model = dict(to_container(self.cfg.model))
        model.pop("input_shape", None)
        variables = {**(model.pop("variables", None) or {}), "n_sources": len(o.sources),
                     "mask_channels": len(o.sources) * per, "per_source": per}  # fmt: skip
        network = build_model(model, (c_in, max_bin, 1 + self.patch // o.hop_length), variables=variables)
        return self.separator(network)

    # ------------------------------------------------------------------ data
    def index(self, store: Store, keys: list[str]) -> dict[str, list[str]]:
        return stem_index(store, keys, self.options.sources)

    def datamodule(self, split: Mapping[str, list[str]]) -> SupervisedDataModule:
        o, d = self.options, self.cfg.data
        seed = int(self.cfg.train.seed or 0)
        stores = [(self.store, self.index(self.store, split["train"]))]
        stores += [
            (st, self.index(st, keys))
            for _, st, keys in self.training_stores(o.train_stores, split, new_works=True)
        ]
        total = sum(len(index) for _, index in stores)
        parts = []
        for i, (store, index) in enumerate(stores):
            groups = {k: str(store.value(k, o.remix_by, default="")) for k in index}
            length = max(1, round(o.patches_per_epoch * len(index) / total))
            parts.append(
                SeparationPatches(
                    store, index, self.patch, length, o.remix, o.gain, groups, seed=seed + 1000 * i
                )
            )
        train_ds = parts[0] if len(parts) == 1 else ConcatDataset(parts)
        valid = (
            FixedPatches(self.store, self.index(self.store, split["valid"]), self.patch, o.valid_patches)
            if split["valid"]
            else None
        )
        return SupervisedDataModule(train_ds, valid, batch_size=d.batch_size, num_workers=d.num_workers,
                                    seed=int(self.cfg.train.seed or 0))  # fmt: skip

    def system(self, model: nn.Module) -> Supervised:
        o = self.options
        loss = SeparationLoss(o.loss, o.n_fft, o.hop_length, self.sr)
        return Supervised(model, loss, optim=dict(self.cfg.optim), input_key="mix", target_key="stems")

    # ------------------------------------------------------------------ separating
    def run_separator(self, model: MaskSeparator, audio: np.ndarray) -> np.ndarray:
        """Mono audio at the task's rate -> ``(n_sources, samples)``: chunked overlap-add, then
        the Wiener post-filter if ``task.wiener``."""
        o = self.options
        est = model.eval().separate(audio, int(o.chunk_seconds * self.sr), int(o.overlap_seconds * self.sr))
        if o.wiener:
            stft = model.stft.cpu()
            x = stft(torch.from_numpy(np.asarray(audio, np.float32))).numpy()
            s = stft(torch.from_numpy(est)).numpy()
            est = stft.inverse(torch.from_numpy(wiener(x, s, o.wiener)), len(audio)).numpy()
        return est

    def excerpt(self, store: Store, stems: list[str]) -> np.ndarray:
        """The true sources ``(n_sources, samples)`` of an evaluation excerpt, at the task's rate."""
        sr = store.sr(stems[0])
        stop = int(self.options.eval_seconds * sr) if self.options.eval_seconds else None
        refs = load_sources(store, stems, 0, stop)
        if sr != self.sr:
            from mir101.inputs.resample import resample

            refs = resample(torch.from_numpy(refs), sr, self.sr).numpy()
        return refs

    # ------------------------------------------------------------------ evaluation
    def evaluation_sets(self, split: Mapping[str, list[str]]) -> dict[str, tuple[Store, list[str]]]:
        from mir101.tasks.tagging.common import held_out_sets

        sets = held_out_sets(self, dict(split))
        n = self.options.eval_items
        out = {}
        for name, (store, keys) in sets.items():
            keys = sorted(keys)
            if n and len(keys) > n:
                keys = [keys[int(i)] for i in np.linspace(0, len(keys) - 1, n).round()]
            if keys:
                out[name] = (store, keys)
        return out

    def nmf(self, split: Mapping[str, list[str]]) -> NMFSeparator:
        """NMF templates per source, learned on the stems of ``task.nmf_items`` training mixtures."""
        o = self.options
        memo = self.__dict__.setdefault("_nmf", {})
        ident = tuple(sorted(split["train"]))
        if ident not in memo:
            keys = sorted(split["train"])[: o.nmf_items]
            index = self.index(self.store, keys)
            stft = self.separator(nn.Identity()).stft
            mags: list[list[np.ndarray]] = [[] for _ in o.sources]
            for mix in keys:
                refs = load_sources(self.store, index[mix], 0, int(30 * self.store.sr(mix)))
                spec = stft(torch.from_numpy(refs)).abs().numpy()
                for k in range(len(o.sources)):
                    mags[k].append(spec[k])
            memo[ident] = NMFSeparator(o.nmf_components, seed=int(self.cfg.data.split.seed)).fit(
                [np.concatenate(m, axis=1) for m in mags]
            )
        return memo[ident]

    def baseline_estimates(
        self, method: str, refs: np.ndarray, stft: Any, split: Mapping[str, list[str]]
    ) -> np.ndarray:
        """``(n_sources, samples)`` estimates of a reference method on one excerpt."""
        mix = refs.sum(axis=0)
        if method == "mixture":
            return np.repeat(mix[None], len(refs), axis=0)  # every source estimated as the whole mixture
        x = stft(torch.from_numpy(mix)).numpy()
        if method in ORACLES:
            masks = oracle_masks(stft(torch.from_numpy(refs)).numpy(), method)
        else:
            masks = self.nmf(split).masks(np.abs(x))
        return stft.inverse(torch.from_numpy((masks * x[None]).astype(np.complex64)), refs.shape[1]).numpy()

    def score(self, refs: np.ndarray, est: np.ndarray) -> dict[str, np.ndarray]:
        out = bss_eval(refs, est, self.sr)
        out["si_sdr"] = np.array([si_sdr_db(r, e) for r, e in zip(refs, est)])
        return out

    def _baselines_cached(
        self, store: Store, keys: list[str], split: Mapping[str, list[str]], stft: Any
    ) -> dict[str, dict[str, float]]:
        """Scores of the reference methods on one set, from a cache keyed by everything they
        depend on (store, items, excerpt, STFT, sources, NMF settings and training items)."""
        o = self.options
        methods = [m for m in BASELINES if m in o.baselines]
        if not methods:
            return {}
        ident = {"store": str(store.pyjama_path), "mtime": store.pyjama_path.stat().st_mtime, "keys": keys,
                 "eval_seconds": o.eval_seconds, "sr": self.sr, "n_fft": o.n_fft, "hop": o.hop_length,
                 "sources": o.sources, "nmf": [o.nmf_components, o.nmf_items, sorted(split["train"])[: o.nmf_items]],
                 "methods": methods, "version": 1}  # fmt: skip
        path = cache_dir("separation") / f"baselines-{stable_hash(ident)}.json"
        with open(path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two runs scoring the same set: the second reads the first's
            if path.is_file():
                try:
                    return json.loads(path.read_text())
                except (OSError, ValueError):
                    pass
            index = self.index(store, keys)
            per: dict[str, list[dict[str, np.ndarray]]] = {m: [] for m in methods}
            for mix in keys:
                refs = self.excerpt(store, index[mix])
                for m in methods:
                    per[m].append(self.score(refs, self.baseline_estimates(m, refs, stft, split)))
            scores = {m: aggregate_tracks(per[m], o.sources) for m in methods}
            with atomic_path(path) as tmp:
                tmp.write_text(json.dumps(scores))
        return scores

    def evaluate(self, model: nn.Module, split: Mapping[str, list[str]], run_dir: Path) -> EvalResult:
        o = self.options
        model = model.cpu().eval()
        stft = model.stft
        sets, baselines, examples = {}, {}, []
        audio_s = elapsed = 0.0
        for name, (store, keys) in self.evaluation_sets(split).items():
            index = self.index(store, keys)
            per = []
            for i, mix in enumerate(keys):
                refs = self.excerpt(store, index[mix])
                t0 = time.perf_counter()
                est = self.run_separator(model, refs.sum(axis=0))
                elapsed += time.perf_counter() - t0
                audio_s += refs.shape[1] / self.sr
                per.append(self.score(refs, est))
                if i < o.report_items:
                    examples.append({"set": name, "key": mix, "refs": refs, "est": est})
            sets[name] = aggregate_tracks(per, o.sources)
            sets[name]["items"] = float(len(keys))
            baselines[name] = self._baselines_cached(store, keys, split, stft)
            log.info("%s: SDR %.2f dB (%d items); %s", name, sets[name]["sdr"], len(keys),
                     ", ".join(f"{m} {s['sdr']:.2f}" for m, s in baselines[name].items()))  # fmt: skip
        if not sets:
            raise ConfigError("the split leaves no held-out mixture to evaluate: check data.split")
        extras = {
            "baselines": baselines,
            "sources": list(o.sources),
            "bss_eval": "museval.metrics (BSS-eval v4), 1 s frames, median over frames then over tracks",
            "eval_seconds": o.eval_seconds,
            "loss_library": SeparationLoss(o.loss, o.n_fft, o.hop_length, self.sr).library,
            "speed": {"realtime_factor": round(elapsed / max(audio_s, 1e-9), 4),
                      "audio_s_per_s": round(audio_s / max(elapsed, 1e-9), 1), "threads": torch.get_num_threads()},
        }  # fmt: skip
        return EvalResult(self.name, "sdr", sets, extras, examples={"items": examples})

    @classmethod
    def summary(cls, result: EvalResult) -> str:
        """One line: the model's SDR on every set, and the IRM2 / NMF baselines beside it."""
        parts = []
        for name, s in result.sets.items():
            base = (result.extras.get("baselines") or {}).get(name) or {}
            refs = ", ".join(f"{m.upper()} {base[m]['sdr']:.2f}" for m in ("irm2", "nmf") if m in base)
            parts.append(
                f"{name} sdr {s['sdr']:.2f} dB"
                + (f" ({refs})" if refs else "")
                + f" ({int(s['items'])} items)"
            )
        return " | ".join(parts)

    def report_sections(self, result: EvalResult, run_dir: Path) -> list[str]:
        from mir101.tasks.separation.report import separation_sections

        return separation_sections(result, run_dir, self.sr)

    # ------------------------------------------------------------------ prediction
    def predict(self, model: nn.Module, run_dir: Path, audio_path: Path, out_dir: Path) -> dict[str, Any]:
        """Separate a user's file: one ``NAME.<source>.wav`` per source, at the file's own sample rate."""
        return self.separate_file(model, Path(audio_path), Path(out_dir))

    def separate_file(
        self, model: nn.Module, audio_path: Path, out_dir: Path, overwrite: bool = True
    ) -> dict[str, Any]:
        import soundfile as sf

        audio = load_audio(audio_path, self.sr)  # checks the file: one line naming what is wrong
        if len(audio) == 0:
            raise AudioError(f"{audio_path}: no audio to separate (0 samples)")
        info = sf.info(str(audio_path))
        file_sr, file_frames = int(info.samplerate), int(info.frames)
        t0 = time.perf_counter()
        est = self.run_separator(model, audio)
        seconds = time.perf_counter() - t0
        if file_sr != self.sr:  # back to the file's rate and length
            from mir101.inputs.resample import resample

            est = resample(torch.from_numpy(est), self.sr, file_sr).numpy()
            est = np.pad(est, ((0, 0), (0, max(0, file_frames - est.shape[1]))))[:, :file_frames]
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = Path(audio_path).stem
        written = {}
        peak = max(1.0, float(np.abs(est).max()))
        for name, signal in zip(self.options.sources, est):
            path = out_dir / f"{stem}.{name}.wav"
            if path.exists() and not overwrite:
                raise ConfigError(f"{path} exists: give another --out or --overwrite")
            sf.write(path, signal / peak, file_sr)
            written[name] = str(path)
        return {**written, "sr": file_sr, "seconds": round(len(audio) / self.sr, 3),
                "realtime_factor": round(seconds / max(len(audio) / self.sr, 1e-9), 4)}  # fmt: skip
