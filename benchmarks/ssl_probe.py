"""Self-supervision judged by linear probes: SSL encoder vs random encoder vs supervised encoder.

One table (``benchmarks/results/ssl_probe.json``, read by the book's ssl page and the README):

1. ``mir101 train configs/ssl/<row>.yaml`` pretrains the SampleCNN encoder on the unlabelled
   training works (time budget ``--minutes``); its evaluation probes it and the same encoder
   randomly initialised (logistic regression on frozen embeddings, with 1 %, 10 % and 100 % of the
   labelled training items), on the held-out works and on the same works rendered with FluidR3
   (``other_soundfont``).
2. ``mir101 train configs/tagging/ensemble_waveform_samplecnn.yaml`` trains the same network
   supervised (same corpus, same split), once with every labelled training item and once with the
   1 % subset the 1 % probes use (one item per ensemble); their encoders (the model minus its
   classifier) are probed the same way.

The 1 % probes use a single draw of the labelled subset (``task.probe_repeats=1``), the very items
the supervised 1 % encoder was trained on.

    .venv/bin/python benchmarks/ssl_probe.py --minutes 8 --supervised-minutes 4
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
SUPERVISED_ROW = "ensemble_waveform_samplecnn"


def _budget(minutes: float) -> str:
    whole = int(minutes)
    return f"trainer.max_time=00:00:{whole:02d}:{int(round((minutes - whole) * 60)):02d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--row", default="ntxent_samplecnn", help="the configs/ssl row")
    parser.add_argument("--minutes", type=float, default=8.0, help="pretraining budget")
    parser.add_argument("--supervised-minutes", type=float, default=4.0, help="budget of each supervised run")
    parser.add_argument("--soundfont", default=None, help="default: FluidR3 where `make demo` finds it")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--runs", default="runs/benchmarks")
    parser.add_argument("--out", default=str(RESULTS / "ssl_probe.json"))
    parser.add_argument("overrides", nargs="*", help="extra overrides of the ssl row")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")

    import numpy as np
    import torch
    from tagging_rows import other_soundfont_store

    from mir101.cli.quickstart import find_other_soundfont
    from mir101.cli.run import quiet_lightning
    from mir101.config import load_config
    from mir101.data.splits import save_split
    from mir101.tasks.embedding import encoder_of
    from mir101.tasks.runner import load_run, train
    from mir101.tasks.ssl import labelled_subset

    quiet_lightning()
    if args.threads:
        torch.set_num_threads(args.threads)
    runs = Path(args.runs)
    soundfont = Path(args.soundfont) if args.soundfont else (find_other_soundfont() or Path("none"))
    common = ["trainer.max_epochs=1000", "train.patience=0", "trainer.enable_progress_bar=false"]

    def with_other_soundfont(path: Path, overrides: list[str]) -> Any:
        cfg = load_config(path, overrides)
        if soundfont.is_file():
            base = {"data": {"test_stores": {"other_soundfont": other_soundfont_store(cfg, soundfont)}}}
            cfg = load_config(path, overrides, base=base)
        return cfg

    # 1. pretraining + probes of the SSL and random encoders
    ssl_overrides = [
        f"run_dir={runs / ('ssl-' + args.row)}",
        _budget(args.minutes),
        *common,
        "task.probe_repeats=1",
        *args.overrides,
    ]
    ssl_path = ROOT / "configs" / "ssl" / f"{args.row}.yaml"
    cfg = with_other_soundfont(ssl_path, ssl_overrides)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    ssl_run = train(cfg)
    ssl_wall = time.perf_counter() - t0
    ev = ssl_run.evaluation
    info = json.loads((ssl_run.run_dir / "training.json").read_text())
    ssl_task, _ = load_run(ssl_run.run_dir)
    split = json.loads((ssl_run.run_dir / "split.json").read_text())
    rows: dict[str, Any] = {
        "ssl": {
            "encoder": f"SampleCNN, {cfg.task.loss} pretraining ({args.row})",
            "labels_for_the_encoder": 0,
            "train_seconds": info["train_seconds"],
            "steps": info["steps"],
            "epochs": info["epochs"],
            "command": f"mir101 train configs/ssl/{args.row}.yaml " + " ".join(ssl_overrides[1:]),
            "sets": ev.sets,
        },
        "random_init": {
            "encoder": "SampleCNN, random weights",
            "labels_for_the_encoder": 0,
            "train_seconds": 0.0,
            "sets": ev.extras["baselines"]["random_init"],
        },
    }

    # 2. the supervised encoders: all labels, and the 1 % subset of the 1 % probes
    sup_path = ROOT / "configs" / "tagging" / f"{SUPERVISED_ROW}.yaml"
    seed = int(cfg.train.seed)
    store = ssl_task.store
    labels = [str(store.value(k, "ensemble")) for k in split["train"]]
    classes = sorted(set(labels))
    y = np.asarray([classes.index(v) for v in labels])
    subsets = {"supervised_100%": split["train"]}
    few = labelled_subset(y, 0.01, seed)
    subsets["supervised_1%"] = [split["train"][i] for i in few]
    for name, train_keys in subsets.items():
        run_dir = runs / f"ssl-{name.replace('%', 'pc')}"
        if (run_dir / "model.pt").is_file():
            import shutil

            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        save_split({**split, "train": train_keys}, run_dir / "split.json")  # the runner reads it
        overrides = [f"run_dir={run_dir}", _budget(args.supervised_minutes), *common]
        if len(train_keys) < 50:  # few items: an "epoch" is short; validate every 20 steps' worth
            overrides.append("data.patch_hop_frames=4000")
        t0 = time.perf_counter()
        sup = train(load_config(sup_path, overrides), evaluate=False)  # probed below, not evaluated
        task, model = load_run(sup.run_dir)
        scores, _tables, _ = ssl_task.probe({name: encoder_of(task, model)}, split)
        sinfo = json.loads((sup.run_dir / "training.json").read_text())
        rows[name] = {
            "encoder": f"SampleCNN trained supervised on {len(train_keys)} labelled items (its classifier dropped)",
            "labels_for_the_encoder": len(train_keys),
            "train_seconds": sinfo["train_seconds"],
            "steps": sinfo["steps"],
            "epochs": sinfo["epochs"],
            "command": f"mir101 train configs/tagging/{SUPERVISED_ROW}.yaml "
            + " ".join(overrides[1:])
            + f" (split.json: {len(train_keys)} training items)",
            "sets": scores[name],
            "wall_seconds": round(time.perf_counter() - t0, 1),
        }

    table = {
        "measured": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} CPU cores (shared, loaded), torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, load average at start {load:.1f}",
        "ssl_wall_seconds": round(ssl_wall, 1),
        "held_out_soundfont": soundfont.name if soundfont.is_file() else None,
        "probe": "logistic regression (scikit-learn) on standardised frozen embeddings; one draw per fraction; "
        f"item embedding: mean of {ssl_task.options.probe_patches or 'all'} patches per item",
        "fractions": ev.extras["fractions"],
        "train_items": len(split["train"]),
        "primary": ev.primary,
        "rows": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(table, indent=1, default=float))
    metrics = [k for k in next(iter(ev.sets.values())) if "@" in k]
    print(f"{'encoder':18s} {'set':16s} " + " ".join(f"{m:>22s}" for m in metrics))
    for name, row in rows.items():
        for set_name, s in row["sets"].items():
            print(
                f"{name:18s} {set_name:16s} " + " ".join(f"{s.get(m, float('nan')):22.3f}" for m in metrics)
            )
    print(f"pretraining {rows['ssl']['train_seconds']} s ({rows['ssl']['steps']} steps); wrote {out}")


if __name__ == "__main__":
    main()
