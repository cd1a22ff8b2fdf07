"""mir101's multi-pitch model against Spotify's basic-pitch, on the same held-out chorales.

The held-out works of a run's split are rendered with a SoundFont the model never heard (default:
Debian's FluidR3), then both systems transcribe the same audio files; both outputs are turned into
frame-level pitches on one time grid and scored with ``mir_eval.multipitch``. Prints Accuracy,
Precision, Recall and seconds of audio processed per second for each, and writes
``benchmarks/results/multipitch_peers.json``.

basic-pitch (Bittner et al., ICASSP 2022) is an optional benchmark dependency, never a runtime one;
it runs offline through onnxruntime:

    .venv/bin/pip install --no-deps basic-pitch && .venv/bin/pip install onnxruntime 'resampy<0.4.3'
    .venv/bin/python benchmarks/multipitch_peers.py runs/quickstart

basic-pitch's notes come from its default post-processing (``predict``'s note events), which is
how users get frame-level pitches from it; mir101's from peak picking at the run's threshold.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def _basic_pitch():
    try:
        from basic_pitch import ICASSP_2022_MODEL_PATH
        from basic_pitch.inference import Model, predict
    except ImportError as err:
        raise SystemExit(f"basic-pitch is not installed ({err}); see this file's docstring") from None
    onnx = Path(ICASSP_2022_MODEL_PATH)
    return Model(onnx if onnx.suffix == ".onnx" else onnx.with_suffix(".onnx")), predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="a multipitch run folder (e.g. runs/quickstart)")
    parser.add_argument(
        "--soundfont", default="/usr/share/sounds/sf2/FluidR3_GM.sf2", help="held-out SoundFont"
    )
    parser.add_argument("--max-items", type=int, default=None)
    parser.add_argument("--out", default=str(RESULTS / "multipitch_peers.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")

    import soundfile as sf
    import torch

    from mir101.data.corpora import get_corpus_store
    from mir101.data.splits import load_split
    from mir101.data.store import Store
    from mir101.data.targets import pitch_roll_from_segments
    from mir101.metrics.multipitch import mir_eval_multipitch
    from mir101.tasks import EvalResult
    from mir101.tasks.runner import load_run
    from mir101.utils.pitch import midi_to_hz

    run = Path(args.run_dir)
    task, model = load_run(run)
    threshold = EvalResult.load(run / "metrics.json").extras["threshold"]
    split = load_split(run / "split.json")
    test_works = {task.groups(task.store, [k])[k] for k in split["test"]}
    corpus_args = dict(task.cfg.data.corpus_args)
    corpus_args["soundfont"] = str(Path(args.soundfont).resolve())
    store = Store(get_corpus_store("chorales", **corpus_args))
    keys = [
        k for k in store.keys if store.value(k, "role") == "mix" and store.value(k, "work_id") in test_works
    ]
    keys = keys[: args.max_items] if args.max_items else keys
    print(
        f"{len(keys)} held-out mixes rendered with {Path(args.soundfont).name}; torch threads {torch.get_num_threads()}"
    )

    grid = task.grid
    bin_hz = midi_to_hz(grid.midi())
    bp_model, bp_predict = _basic_pitch()
    refs, ours, theirs = [], [], []
    t_ours = t_theirs = audio_s = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for key in keys:
            audio, sr = store.audio(key)
            audio_s += len(audio) / sr
            t0 = time.perf_counter()
            res = task.transcribe(model, audio, threshold)
            t_ours += time.perf_counter() - t0
            times = res["times"]
            refs.append(
                (times, pitch_roll_from_segments(store.segments(key, "pitchmidi"), times, grid) > 0.5)
            )
            ours.append((times, res["active"]))
            wav = os.path.join(tmp, f"{key}.wav")
            sf.write(wav, audio, sr)
            t0 = time.perf_counter()
            _out, _midi, notes = bp_predict(wav, bp_model)
            t_theirs += time.perf_counter() - t0
            from mir101.data.store import Segments

            seg = Segments(
                time=np.array([n[0] for n in notes], float),
                duration=np.array([n[1] - n[0] for n in notes], float),
                value=np.array([n[2] for n in notes], float),
            )
            theirs.append((times, pitch_roll_from_segments(seg, times, grid) > 0.5))
    rows = {}
    for name, est, secs in (("mir101", ours, t_ours), ("basic-pitch", theirs, t_theirs)):
        scores = mir_eval_multipitch(refs, est, bin_hz)
        rows[name] = {
            "Accuracy": scores["Accuracy"],
            "Precision": scores["Precision"],
            "Recall": scores["Recall"],
            "Chroma Accuracy": scores["Chroma Accuracy"],
            "audio_s_per_s": audio_s / secs,
        }
    print(f"{'system':<12} {'Accuracy':>9} {'Precision':>9} {'Recall':>7} {'audio s/s':>10}")
    for name, r in rows.items():
        print(
            f"{name:<12} {r['Accuracy']:9.3f} {r['Precision']:9.3f} {r['Recall']:7.3f} {r['audio_s_per_s']:10.1f}"
        )
    out = {
        "run": str(run),
        "soundfont": Path(args.soundfont).name,
        "items": len(keys),
        "audio_seconds": round(audio_s, 1),
        "threads": torch.get_num_threads(),
        "machine": f"{os.cpu_count()} CPU cores",
        "command": f"python benchmarks/multipitch_peers.py {args.run_dir}",
        "systems": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
