"""Scoring generated notes against held-out real ones, between the codec's ceiling and a random floor.

For the held-out notes (``test``: (family, pitch) pairs never trained on), one note is generated
per real note, with its pitch and family. Four sets of audio are scored against the real notes:
``test`` (generated), ``ceiling`` (the codec's reconstructions of the real notes: the best a
generator on this codec can do), ``floor`` (decoded random tokens / latents) and, for every
``data.test_stores`` store (e.g. the same notes rendered with another SoundFont), the generated
notes against that store's real notes of the held-out pairs.

Metrics per set (Frechet distance and KID: :mod:`mir101.metrics`; lower is better):
``fd_mfcc``, ``kid_mfcc`` (MFCC statistics, standardised by the real notes' mean and deviation
so that every statistic weighs alike); ``fd_encoder``, ``kid_encoder``, ``inception_score``,
``family_accuracy`` (a mir101 family classifier, ``task.evaluator_run``); ``pitch_accuracy``
(PESTO within 50 cents of the requested pitch). A flow also gets FD and pitch accuracy at each
of ``task.eval_steps`` ODE step counts (``extras.by_steps``).

Book page: ``book/generation.md``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from mir101.errors import AudioError
from mir101.metrics import frechet_distance, inception_score, kernel_inception_distance
from mir101.metrics.pitch import note_pitches, pitch_accuracy
from mir101.tasks.generation.judge import TaggingJudge, mfcc_statistics
from mir101.tasks.result import EvalResult

if TYPE_CHECKING:
    from mir101.tasks.generation.task import Generation

__all__ = ["evaluate_generation", "Judges", "condition_from_audio"]

log = logging.getLogger(__name__)


class Judges:
    """Features of a set of notes for every metric the task's options ask for."""

    def __init__(self, task: Generation):
        self.task, self.sr = task, task.sr
        o = task.options
        self.tagger = TaggingJudge(o.evaluator_run) if o.evaluator_run else None
        self.pitch = o.pitch_tracker == "pesto"

    def features(self, audio: list[np.ndarray]) -> dict[str, np.ndarray]:
        out = {"mfcc": mfcc_statistics(audio, self.sr)}
        if self.tagger is not None:
            res = self.tagger(audio, self.sr)
            out["embeddings"], out["probs"] = res["embeddings"], res["probs"]
        if self.pitch:
            out["pitch"] = note_pitches(audio, self.sr)
        return out

    def scores(
        self, fake: Mapping[str, np.ndarray], real: Mapping[str, np.ndarray], conditions: torch.Tensor
    ) -> dict[str, float]:
        """The metrics of a set (``fake``) against the real notes (``real``), for ``(items, 2)`` conditions."""
        from mir101.tasks.generation.task import FAMILIES

        mu, sd = real["mfcc"].mean(axis=0), real["mfcc"].std(axis=0) + 1e-6
        real_mfcc, fake_mfcc = (
            (real["mfcc"] - mu) / sd,
            (fake["mfcc"] - mu) / sd,
        )  # each statistic weighs alike
        s = {
            "fd_mfcc": frechet_distance(real_mfcc, fake_mfcc),
            "kid_mfcc": kernel_inception_distance(real_mfcc, fake_mfcc),
        }
        if "embeddings" in fake:
            s["fd_encoder"] = frechet_distance(real["embeddings"], fake["embeddings"])
            s["kid_encoder"] = kernel_inception_distance(real["embeddings"], fake["embeddings"])
            s["inception_score"] = inception_score(fake["probs"])
            classes = self.tagger.classes if self.tagger is not None else []
            wanted = [FAMILIES[int(f)] for f in conditions[:, 1]]
            heard = [classes[int(i)] for i in fake["probs"].argmax(axis=1)]
            s["family_accuracy"] = float(np.mean([w == h for w, h in zip(wanted, heard)]))
        if "pitch" in fake:
            s["pitch_accuracy"] = pitch_accuracy(fake["pitch"], conditions[:, 0].numpy())
        s["items"] = float(len(fake["mfcc"]))
        return {k: round(float(v), 5) for k, v in s.items()}


def _subset(keys: list[str], n: int, seed: int) -> list[str]:
    if len(keys) <= n:
        return list(keys)
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(keys, n, replace=False).tolist())


def evaluate_generation(task: Generation, model: nn.Module, split: Mapping[str, list[str]]) -> EvalResult:
    """Generate for the held-out notes and score them (see the module docstring)."""
    o = task.options
    keys = _subset(list(split["test"]), o.max_eval_items, o.seed)
    if len(keys) < 2:
        from mir101.errors import ConfigError

        raise ConfigError(f"{len(keys)} held-out note(s): at least 2 are needed; enlarge data.split.test")
    judges = Judges(task)
    conditions = task.conditions_of(task.store, keys)
    real_audio = task.audio_items(keys)
    started = time.perf_counter()
    generated = task.generate(model, conditions)
    gen_seconds = time.perf_counter() - started
    ceiling = task.decode(task.encode(real_audio))
    floor = task.random_floor(len(keys), seed=o.seed + 1)

    real = judges.features(real_audio)
    gen = judges.features(generated)
    sets = {
        "test": judges.scores(gen, real, conditions),
        "ceiling": judges.scores(judges.features(ceiling), real, conditions),
        "floor": judges.scores(judges.features(floor), real, conditions),
    }
    pairs = {(int(p), int(f)) for p, f in conditions.tolist()}
    for name, (store, store_keys) in task.test_stores().items():
        other = [k for k in store_keys if tuple(task.conditions_of(store, [k])[0].tolist()) in pairs]
        if len(other) < 2:
            log.warning("data.test_stores.%s: fewer than 2 notes of the held-out pairs; skipped", name)
            continue
        other_real = judges.features(task.audio_items(other, store))
        sets[name] = judges.scores(gen, other_real, conditions)
    extras: dict[str, Any] = {
        "paradigm": o.paradigm,
        "codec": task.codec.describe(),
        "speed": {
            "notes_per_s": round(len(keys) / max(gen_seconds, 1e-9), 2),
            "audio_s_per_s": round(len(keys) * task.n_samples / task.sr / max(gen_seconds, 1e-9), 3),
            "threads": torch.get_num_threads(),
        },
        "families": sorted({str(task.store.value(k, "family")) for k in keys}),
    }
    if "pitch" in real:
        extras["real_pitch_accuracy"] = round(pitch_accuracy(real["pitch"], conditions[:, 0].numpy()), 5)
    if o.paradigm == "flow" and o.eval_steps:
        extras["by_steps"] = _by_steps(task, model, judges, real, conditions)
    n = min(o.report_items, len(keys))
    examples = {
        "audio": [
            (keys[i], {"real": real_audio[i], "generated": generated[i], "codec": ceiling[i]})
            for i in range(n)
        ]
    }
    log.info("generation: %s", " | ".join(f"{k} FD(mfcc) {v['fd_mfcc']:.1f}" for k, v in sets.items()))
    return EvalResult(task.name, "fd_mfcc", sets, extras, higher_is_better=False, examples=examples)


def _by_steps(
    task: Generation, model: nn.Module, judges: Judges, real: dict, conditions: torch.Tensor
) -> dict:
    """FD and pitch accuracy of the flow at each of ``task.eval_steps`` ODE step counts."""
    out = {}
    for steps in sorted({int(s) for s in task.options.eval_steps}):
        feats = judges.features(task.generate(model, conditions, steps=steps))
        s = judges.scores(feats, real, conditions)
        out[str(steps)] = {
            k: v for k, v in s.items() if k in ("fd_mfcc", "fd_encoder", "kid_encoder", "pitch_accuracy")
        }
    return out


def condition_from_audio(task: Generation, audio: np.ndarray) -> tuple[int, str]:
    """A user's note -> ``(MIDI pitch, family)``: PESTO's pitch (rounded) and the evaluator's family
    (``keyboard`` without ``task.evaluator_run``, 60 without a pitch tracker)."""
    if len(audio) < task.sr // 50:
        raise AudioError(f"{len(audio)} samples is too short to read a note's pitch from")
    pitch = 60
    if task.options.pitch_tracker == "pesto":
        est = note_pitches([audio[: 4 * task.sr]], task.sr)[0]
        if np.isfinite(est):
            pitch = int(np.clip(round(est), 0, 127))
    family = "keyboard"
    if task.options.evaluator_run:
        judge = TaggingJudge(task.options.evaluator_run)
        family = judge.classes[int(judge([audio[: 4 * task.sr]], task.sr)["probs"][0].argmax())]
    return pitch, family
