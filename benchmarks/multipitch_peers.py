"""mir101's multi-pitch model against Spotify's basic-pitch, on the same held-out chorales.

The held-out works of a run's split are rendered with a SoundFont the model never heard (default:
Debian's FluidR3), then both systems transcribe the same audio files; both outputs are turned into
frame-level pitches on one time grid and scored with ``mir_eval.multipitch``, and their notes with
``mir_eval.transcription`` (onset F-measure; onset-offset F-measure). Prints Accuracy, Precision,
Recall, note F-measures and seconds of audio processed per second for each (both on ``--threads``
CPU threads: torch's and onnxruntime's), and writes ``benchmarks/results/multipitch_peers.json``.

Without a run folder, the model shipped inside the package (``mir101 transcribe``'s) is measured,
on the held-out works of the split it was trained with.

basic-pitch (Bittner et al., ICASSP 2022) is an optional benchmark dependency, never a runtime one;
it runs offline through onnxruntime:

    .venv/bin/pip install --no-deps basic-pitch && .venv/bin/pip install onnxruntime 'resampy<0.4.3'
    .venv/bin/python benchmarks/multipitch_peers.py                  # the shipped model
    .venv/bin/python benchmarks/multipitch_peers.py runs/quickstart  # a run

basic-pitch's notes come from its default post-processing (``predict``'s note events), which is
how users get frame-level pitches and MIDI from it; mir101's from peak picking at the run's
threshold, and its notes from the runs of active frames (what ``mir101 transcribe`` writes as MIDI).
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


def _basic_pitch(threads: int):
    try:
        import onnxruntime as ort
        from basic_pitch import ICASSP_2022_MODEL_PATH
        from basic_pitch.inference import Model, predict
    except ImportError as err:
        raise SystemExit(f"basic-pitch is not installed ({err}); see this file's docstring") from None
    onnx = Path(ICASSP_2022_MODEL_PATH)
    onnx = onnx if onnx.suffix == ".onnx" else onnx.with_suffix(".onnx")
    model = Model(onnx)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    model.model = ort.InferenceSession(str(onnx), sess_options=opts, providers=["CPUExecutionProvider"])
    return model, predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "run_dir", nargs="?", default=None, help="a multipitch run folder (default: the shipped model)"
    )
    parser.add_argument("--soundfont", default=None, help="held-out SoundFont (default: FluidR3, found)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of each system")
    parser.add_argument("--max-items", type=int, default=None)
    parser.add_argument("--out", default=str(RESULTS / "multipitch_peers.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")

    import soundfile as sf
    import torch

    from mir101.cli.quickstart import find_other_soundfont
    from mir101.data.corpora import get_corpus_store
    from mir101.data.splits import load_split
    from mir101.data.store import Store
    from mir101.data.targets import pitch_roll_from_segments
    from mir101.metrics.multipitch import mir_eval_multipitch, mir_eval_notes
    from mir101.tasks.multipitch.decoding import frames_to_notes
    from mir101.tasks.multipitch.pretrained import PRETRAINED_DIR, load_pretrained
    from mir101.utils.pitch import midi_to_hz

    torch.set_num_threads(args.threads)
    run = Path(args.run_dir) if args.run_dir else PRETRAINED_DIR
    task, model, threshold = load_pretrained(run)
    split = load_split(run / "split.json")
    # the held-out chorales, rendered as in training (same seed, same performances), with the test font
    main_store = Store(get_corpus_store("chorales", **dict(task.cfg.data.corpus_args)))
    held_out = sorted({str(main_store.value(k, "chorale")) for k in split["test"]})
    test_works = {task.groups(main_store, [k])[k] for k in split["test"]}
    soundfont = Path(args.soundfont) if args.soundfont else find_other_soundfont()
    if soundfont is None:
        raise SystemExit("no held-out SoundFont found: give --soundfont (make soundfonts fetches FluidR3)")
    corpus_args = {**dict(task.cfg.data.corpus_args), "soundfont": str(soundfont), "chorales": held_out}
    store = Store(get_corpus_store("chorales", **corpus_args))
    keys = [
        k for k in store.keys if store.value(k, "role") == "mix" and store.value(k, "work_id") in test_works
    ]
    keys = keys[: args.max_items] if args.max_items else keys
    print(f"{len(keys)} held-out mixes rendered with {soundfont.name}; {args.threads} threads each")

    grid = task.grid
    bin_hz = midi_to_hz(grid.midi())
    bp_model, bp_predict = _basic_pitch(args.threads)
    refs, ours, theirs = [], [], []
    ref_notes, our_notes, their_notes, durations = [], [], [], []
    t_ours = t_theirs = audio_s = 0.0
    cpu_ours = cpu_theirs = 0.0  # CPU seconds (all threads): robust to other jobs on a shared box
    with tempfile.TemporaryDirectory() as tmp:
        for key in keys:
            audio, sr = store.audio(key)
            audio_s += len(audio) / sr
            t0, c0 = time.perf_counter(), time.process_time()
            res = task.transcribe(model, audio, threshold)
            t_ours += time.perf_counter() - t0
            cpu_ours += time.process_time() - c0
            times = res["times"]
            ref = store.segments(key, "pitchmidi")
            refs.append((times, pitch_roll_from_segments(ref, times, grid) > 0.5))
            ref_notes.append(
                [(float(t), float(t + d), float(v)) for t, d, v in zip(ref.time, ref.duration, ref.value)]
            )
            ours.append((times, res["active"]))
            our_notes.append(frames_to_notes(res["active"], times, grid, task.options.min_note_frames))
            durations.append(len(audio) / sr)
            wav = os.path.join(tmp, f"{key}.wav")
            sf.write(wav, audio, sr)
            t0, c0 = time.perf_counter(), time.process_time()
            _out, _midi, notes = bp_predict(wav, bp_model)
            t_theirs += time.perf_counter() - t0
            cpu_theirs += time.process_time() - c0
            their_notes.append([(float(n[0]), float(n[1]), float(n[2])) for n in notes])
            from mir101.data.store import Segments

            seg = Segments(
                time=np.array([n[0] for n in notes], float),
                duration=np.array([n[1] - n[0] for n in notes], float),
                value=np.array([n[2] for n in notes], float),
            )
            theirs.append((times, pitch_roll_from_segments(seg, times, grid) > 0.5))
    rows = {}
    for name, est, est_notes, secs, cpu in (
        ("mir101", ours, our_notes, t_ours, cpu_ours),
        ("basic-pitch", theirs, their_notes, t_theirs, cpu_theirs),
    ):
        scores = mir_eval_multipitch(refs, est, bin_hz)
        notes_scores = mir_eval_notes(ref_notes, est_notes, durations)
        rows[name] = {
            "Accuracy": scores["Accuracy"],
            "Precision": scores["Precision"],
            "Recall": scores["Recall"],
            "Chroma Accuracy": scores["Chroma Accuracy"],
            "Note onset F": notes_scores["Note onset F"],
            "Note onset-offset F": notes_scores["Note onset-offset F"],
            "audio_s_per_s": audio_s / secs,
            "audio_s_per_cpu_s": audio_s / cpu,
        }
    print(
        f"{'system':<12} {'Accuracy':>9} {'Precision':>9} {'Recall':>7} {'onset F':>8} {'on-off F':>9} {'audio s/s':>10} {'per CPU s':>10}"
    )
    for name, r in rows.items():
        print(
            f"{name:<12} {r['Accuracy']:9.3f} {r['Precision']:9.3f} {r['Recall']:7.3f} "
            f"{r['Note onset F']:8.3f} {r['Note onset-offset F']:9.3f} {r['audio_s_per_s']:10.1f} {r['audio_s_per_cpu_s']:10.1f}"
        )
    out = {
        "run": "shipped model (mir101/pretrained/multipitch)" if args.run_dir is None else str(run),
        "soundfont": soundfont.name,
        "items": len(keys),
        "audio_seconds": round(audio_s, 1),
        "threads": args.threads,
        "machine": f"{os.cpu_count()} CPU cores",
        "command": "python benchmarks/multipitch_peers.py" + (f" {args.run_dir}" if args.run_dir else ""),
        "systems": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
