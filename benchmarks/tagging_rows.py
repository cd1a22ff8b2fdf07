"""Train and evaluate the ``configs/tagging`` rows on the embedded corpora; write the results table.

Each row is the command ``mir101 train configs/tagging/<row>.yaml`` with the same time budget
(``trainer.max_time``) and, when the SoundFont is found, its held-out works (or, for the notes,
its held-out instruments) rendered again with a SoundFont never heard in training: the set
``other_soundfont``. Every row's metrics (and its baseline's, from the same evaluation),
parameters, training steps and time, and inference speed go to
``benchmarks/results/tagging_rows.json`` (read by the book's tagging page); a table is printed.

    .venv/bin/python benchmarks/tagging_rows.py --minutes 2
    .venv/bin/python benchmarks/tagging_rows.py --rows ensemble_lms_conv2d chords_cqt_conv_bilstm --minutes 10
    .venv/bin/python benchmarks/tagging_rows.py --rows ensemble_lms_conv2d task.pooling=attention --name attention
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
ROWS = (
    "ensemble_lms_conv2d",
    "ensemble_waveform_conv1d",
    "ensemble_waveform_samplecnn",
    "ensemble_waveform_tcn",
    "ensemble_waveform_sincnet",
    "instruments_lms_conv2d",
    "instruments_waveform_sincnet",
    "chords_cqt_conv_bilstm",
    "chords_chroma_conv_bilstm",
    "family_lms_conv2d",
)
#: the metrics kept per evaluation set, by task
METRICS = {
    "macro_recall": ("macro_recall", "accuracy", "macro_f1"),
    "roc_auc_macro": ("roc_auc_macro", "pr_auc_macro", "macro_f1"),
    "majmin": ("majmin", "root", "frame_accuracy"),
}
#: an "epoch" of 100 batches, then a validation (the best checkpoint is chosen on it)
DEFAULT_OVERRIDES = ("trainer.limit_train_batches=100", "trainer.max_epochs=1000", "train.patience=0")


def other_soundfont_store(cfg: Any, soundfont: Path) -> dict[str, Any]:
    """``data.test_stores.other_soundfont``: the corpus of ``cfg`` with another SoundFont, reduced to
    the held-out works (chorales) or held-out instruments (notes) of its split."""
    from mir101.tasks.runner import make_task

    task = make_task(cfg)
    split = task.make_split()
    args = {**dict(cfg.data.corpus_args), "soundfont": str(soundfont.resolve())}
    if cfg.data.corpus == "chorales":
        args["chorales"] = sorted({str(task.store.value(k, "chorale")) for k in split["test"]})
        args.pop("n", None)
    else:  # notes: the held-out programs
        args["programs"] = sorted({int(task.store.value(k, "program")) for k in split["test"]})
    return {"corpus": cfg.data.corpus, "corpus_args": args}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", nargs="*", default=list(ROWS))
    parser.add_argument("--minutes", type=float, default=2.0, help="training budget per row")
    parser.add_argument("--soundfont", default=None, help="default: FluidR3 where `make demo` finds it")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--runs", default="runs/benchmarks", help="where the run folders go")
    parser.add_argument("--out", default=str(RESULTS / "tagging_rows.json"))
    parser.add_argument("--name", default="", help="suffix of the row names in the table (variants)")
    parser.add_argument("overrides", nargs="*", help="extra config overrides for every row")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")

    import torch
    from omegaconf import OmegaConf

    from mir101.cli.quickstart import find_other_soundfont
    from mir101.cli.run import quiet_lightning
    from mir101.config import load_config, load_yaml
    from mir101.tasks.runner import load_run, train

    quiet_lightning()
    out_path = Path(args.out)
    table = json.loads(out_path.read_text()) if out_path.is_file() else {"rows": {}}
    minutes = int(args.minutes)
    seconds = int(round((args.minutes - minutes) * 60))
    budget = f"trainer.max_time=00:00:{minutes:02d}:{seconds:02d}"
    soundfont = Path(args.soundfont) if args.soundfont else (find_other_soundfont() or Path("none"))
    if args.threads:
        torch.set_num_threads(args.threads)
    for row in args.rows:
        name = f"{row}-{args.name}" if args.name else row
        cfg_path = ROOT / "configs" / "tagging" / f"{row}.yaml"
        overrides = [
            f"run_dir={Path(args.runs) / name}",
            budget,
            *DEFAULT_OVERRIDES,
            "trainer.enable_progress_bar=false",
            *args.overrides,
        ]
        cfg = load_config(cfg_path, overrides)
        base = None
        if soundfont.is_file() and cfg.data.corpus:
            base = {"data": {"test_stores": {"other_soundfont": other_soundfont_store(cfg, soundfont)}}}
            cfg = load_config(cfg_path, overrides, base=base)
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        result = train(cfg)
        wall = time.perf_counter() - t0
        info = json.loads((result.run_dir / "training.json").read_text())
        _task, model = load_run(result.run_dir)
        ev = result.evaluation
        keep = METRICS[ev.primary]
        entry: dict[str, Any] = {
            "command": " ".join(
                [f"mir101 train configs/tagging/{row}.yaml", budget, *DEFAULT_OVERRIDES, *args.overrides]
            ),
            "task": cfg.task.name,
            "label": cfg.task.get("label") or cfg.task.get("target"),
            "input": cfg.input.name,
            "model": Path(str(load_yaml(cfg_path).get("model", row))).stem,
            "pooling": cfg.task.get("pooling") or ("model's own" if cfg.task.name == "tagging" else None),
            "parameters": sum(p.numel() for p in model.parameters()),
            "measured": time.strftime("%Y-%m-%d"),
            "load_average_at_start": round(load, 2),
            "epochs": info["epochs"],
            "steps": info.get("steps"),
            "train_seconds": info["train_seconds"],
            "seconds_per_step": round(info["train_seconds"] / max(info.get("steps") or 1, 1), 3),
            "wall_seconds": round(wall, 1),
            "speed_audio_s_per_s": (ev.extras.get("speed") or {}).get("audio_s_per_s"),
            "primary": ev.primary,
        }
        for set_name, scores in ev.sets.items():
            entry[set_name] = {k: round(float(scores[k]), 4) for k in keep if k in scores}
            entry[set_name]["items"] = int(scores["items"])
        for base_name, sets in (ev.extras.get("baselines") or {}).items():
            entry[f"baseline_{base_name}"] = {
                s: {k: round(float(v[k]), 4) for k in keep if k in v} for s, v in sets.items()
            }
        table["rows"][name] = entry
        table.update(
            {
                "machine": f"{os.cpu_count()} CPU cores (shared), torch {torch.__version__}, "
                f"{torch.get_num_threads()} threads",
                "budget_minutes": args.minutes,
                "held_out_soundfont": soundfont.name if soundfont.is_file() else None,
                "command": " ".join(
                    ["python benchmarks/tagging_rows.py --minutes", str(args.minutes)]
                    + (["--threads", str(args.threads)] if args.threads else [])
                ),
            }
        )
        table.setdefault("corpora", {})[str(cfg.data.corpus)] = OmegaConf.to_container(
            cfg.data.corpus_args, resolve=True
        )
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(table, indent=1))
        t, o = entry.get("test", {}), entry.get("other_soundfont", {})
        p = ev.primary
        print(
            f"{name:<30} params {entry['parameters']:>8,}  steps {entry['steps']:>5}  "
            f"test {p} {t.get(p, float('nan')):.3f}  other-SF {o.get(p, float('nan')):.3f}  "
            f"{entry['seconds_per_step']} s/step",
            flush=True,
        )
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
