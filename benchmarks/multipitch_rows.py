"""Train and evaluate every ``configs/multipitch`` row on the chorale corpus; write the results table.

Each row is the command ``mir101 train configs/multipitch/<row>.yaml`` with the same time budget
(``trainer.max_time``), the same corpus and split, and the held-out works also rendered with a
SoundFont never heard in training. Writes ``benchmarks/results/multipitch_rows.json`` (read by the
book's multi-pitch page) and prints a table.

    .venv/bin/python benchmarks/multipitch_rows.py --minutes 10
    .venv/bin/python benchmarks/multipitch_rows.py --rows hcqt_conv2d hcqt_unet --minutes 20
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
ROWS = ("cqt_conv2d", "hcqt_conv2d", "hcqt_depthwise", "hcqt_resnet", "hcqt_convnext", "hcqt_unet", "hcqt_context")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", nargs="*", default=list(ROWS))
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per row")
    parser.add_argument("--soundfont", default=None, help="default: FluidR3 where `make demo` finds it")
    parser.add_argument("--runs", default="runs/benchmarks", help="where the run folders go")
    parser.add_argument("--out", default=str(RESULTS / "multipitch_rows.json"))
    parser.add_argument("overrides", nargs="*", help="extra config overrides for every row")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")

    import torch
    from omegaconf import OmegaConf

    from mir101.cli.quickstart import find_other_soundfont
    from mir101.cli.run import quiet_lightning
    from mir101.config import load_config, load_yaml
    from mir101.tasks.runner import train

    quiet_lightning()
    soundfont = Path(args.soundfont) if args.soundfont else (find_other_soundfont() or Path("none"))
    out_path = Path(args.out)
    table = json.loads(out_path.read_text()) if out_path.is_file() else {"rows": {}}
    minutes = int(args.minutes)
    seconds = int(round((args.minutes - minutes) * 60))
    budget = f"trainer.max_time=00:00:{minutes:02d}:{seconds:02d}"
    for row in args.rows:
        cfg_path = ROOT / "configs" / "multipitch" / f"{row}.yaml"
        overrides = [
            f"run_dir={Path(args.runs) / row}",
            budget,
            "trainer.enable_progress_bar=false",
            *args.overrides,
        ]
        base = None
        if soundfont.is_file():
            corpus_args = dict(load_config(cfg_path, overrides).data.corpus_args)
            test_store = {
                "corpus": "chorales",
                "corpus_args": {**corpus_args, "soundfont": str(soundfont.resolve())},
            }
            base = {"data": {"test_stores": {"other_soundfont": test_store}}}
        cfg = load_config(cfg_path, overrides, base=base)
        t0 = time.perf_counter()
        result = train(cfg)
        wall = time.perf_counter() - t0
        info = json.loads((result.run_dir / "training.json").read_text())
        from mir101.tasks.runner import load_run

        task, model = load_run(result.run_dir)
        entry = {
            "command": " ".join([f"mir101 train configs/multipitch/{row}.yaml", budget, *args.overrides]),
            "input": cfg.input.name,
            "harmonics": list(cfg.input.get("harmonics") or []),
            "model": Path(str(load_yaml(cfg_path).get("model", row))).stem,
            "parameters": sum(p.numel() for p in model.parameters()),
            "output_prior": cfg.task.get("output_prior"),
            "measured": time.strftime("%Y-%m-%d"),
            "epochs": info["epochs"],
            "train_seconds": info["train_seconds"],
            "steps": info.get("steps"),
            # an "epoch" is the whole training set and the budget stops mid-epoch: time per step
            "seconds_per_step": round(info["train_seconds"] / max(info.get("steps") or 1, 1), 3),
            "wall_seconds": round(wall, 1),
            "threshold": result.evaluation.extras["threshold"],
            "speed_audio_s_per_s": result.evaluation.extras.get("speed", {}).get("audio_s_per_s"),
        }
        for name in ("test", "other_soundfont"):
            if name in result.evaluation.sets:
                m = result.evaluation.sets[name]
                entry[name] = {
                    k: round(m[k], 4) for k in ("Accuracy", "Precision", "Recall", "Chroma Accuracy")
                }
        table["rows"][row] = entry
        table.update(
            {
                "machine": f"{os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads",
                "budget_minutes": args.minutes,
                "corpus": OmegaConf.to_container(cfg.data.corpus_args, resolve=True),
                "held_out_soundfont": soundfont.name if base else None,
                "command": " ".join(
                    ["python benchmarks/multipitch_rows.py --minutes", str(args.minutes), *args.overrides]
                ),
            }
        )
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(table, indent=1))
        t, o = entry.get("test", {}), entry.get("other_soundfont", {})
        print(
            f"{row:<16} params {entry['parameters']:>8,}  steps {entry['steps']:>5}  "
            f"test Acc {t.get('Accuracy', float('nan')):.3f}  other-SF Acc {o.get('Accuracy', float('nan')):.3f}  "
            f"{entry['seconds_per_step']} s/step",
            flush=True,
        )
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
