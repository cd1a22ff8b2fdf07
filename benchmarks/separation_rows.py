"""Train and evaluate every ``configs/separation`` row, and the U-Net with each loss; write the table.

Each row is ``mir101 train configs/separation/<row>.yaml`` with the same time budget
(``trainer.max_time``), corpus and split; the held-out works are also rendered with a SoundFont
never heard in training (``other_soundfont``). The loss ablation trains the ``unet`` row with each
loss of :mod:`mir101.losses.separation`. Every run's table holds the oracles (IRM1, IRM2, IBM),
NMF and the mixture on the same excerpts. Rows are merged into
``benchmarks/results/separation_rows.json`` (several processes may run at once: the file is
locked while it is updated).

    python benchmarks/separation_rows.py --minutes 6
    python benchmarks/separation_rows.py --rows unet loss:si_sdr --minutes 6
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
ROWS = ("unet", "unet_complex", "cunet_film", "umx_blstm")
#: the loss ablation: the unet row (loss spec_l1) with each other loss
LOSSES = ("spec_l2", "wave_l1", "si_sdr", "mrstft")


def _row(name: str) -> tuple[str, list[str]]:
    """``unet`` -> (config, []); ``loss:si_sdr`` -> (the unet config, [task.loss=si_sdr])."""
    if name.startswith("loss:"):
        return "unet", [f"task.loss={name.split(':', 1)[1]}"]
    return name, []


def _fluid() -> Path:
    """FluidR3 where `make demo` finds it (Debian's, or the copy ``make soundfonts`` fetches)."""
    from mir101.cli.quickstart import find_other_soundfont

    return find_other_soundfont() or ROOT / ".cache" / "soundfonts" / "FluidR3_GM.sf2"


def _merge(out_path: Path, row: str, entry: dict, common: dict) -> None:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        table = json.loads(out_path.read_text()) if out_path.is_file() else {"rows": {}}
        table["rows"][row] = entry
        table.update(common)
        out_path.write_text(json.dumps(table, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", nargs="*", default=[*ROWS, *(f"loss:{x}" for x in LOSSES)])
    parser.add_argument("--minutes", type=float, default=6.0, help="training budget per row")
    parser.add_argument("--soundfont", default=str(_fluid()), help="the held-out SoundFont (FluidR3)")
    parser.add_argument("--runs", default="runs/benchmarks/separation", help="where the run folders go")
    parser.add_argument("--out", default=str(RESULTS / "separation_rows.json"))
    parser.add_argument("overrides", nargs="*", help="extra config overrides for every row")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")

    import torch

    torch.set_num_threads(1)
    from mir101.cli.run import quiet_lightning
    from mir101.config import load_config
    from mir101.tasks.quickstart import held_out_chorales
    from mir101.tasks.runner import train

    quiet_lightning()
    minutes = int(args.minutes)
    seconds = int(round((args.minutes - minutes) * 60))
    budget = f"trainer.max_time=00:00:{minutes:02d}:{seconds:02d}"
    for row in args.rows:
        config, extra = _row(row)
        cfg_path = ROOT / "configs" / "separation" / f"{config}.yaml"
        overrides = [f"run_dir={Path(args.runs) / row.replace(':', '_')}", budget,
                     "trainer.enable_progress_bar=false", *extra, *args.overrides]  # fmt: skip
        base = None
        if Path(args.soundfont).is_file():
            first = load_config(cfg_path, overrides)
            corpus_args = {**dict(first.data.corpus_args), "soundfont": str(Path(args.soundfont).resolve()),
                           "chorales": held_out_chorales(first)}  # fmt: skip
            base = {
                "data": {
                    "test_stores": {"other_soundfont": {"corpus": "chorales", "corpus_args": corpus_args}}
                }
            }
        cfg = load_config(cfg_path, overrides, base=base)
        t0 = time.perf_counter()
        result = train(cfg)
        wall = time.perf_counter() - t0
        info = json.loads((result.run_dir / "training.json").read_text())
        ev = result.evaluation
        entry = {
            "command": " ".join(
                [f"mir101 train configs/separation/{config}.yaml", budget, *extra, *args.overrides]
            ),
            "model": str(cfg.model.get("layers", [{}])[-1]) if "layers" in cfg.model else "",
            "mode": cfg.task.mode,
            "loss": cfg.task.loss,
            "loss_library": ev.extras.get("loss_library"),
            "measured": time.strftime("%Y-%m-%d"),
            "machine": "loaded 2-core box (four jobs sharing it), 1 torch thread",
            "epochs": info["epochs"],
            "steps": info.get("steps"),
            "train_seconds": info["train_seconds"],
            "wall_seconds": round(wall, 1),
            "realtime_factor": ev.extras["speed"]["realtime_factor"],
            "sets": {name: {k: round(v, 3) for k, v in s.items()} for name, s in ev.sets.items()},
            "baselines": {
                name: {m: {k: round(v, 3) for k, v in s.items()} for m, s in b.items()}
                for name, b in ev.extras["baselines"].items()
            },
        }
        common = {
            "budget_minutes": args.minutes,
            "torch": torch.__version__,
            "bss_eval": ev.extras.get("bss_eval"),
            "eval_seconds": ev.extras.get("eval_seconds"),
            "held_out_soundfont": Path(args.soundfont).name if base else None,
            "command": "python benchmarks/separation_rows.py --minutes " + str(args.minutes),
        }
        _merge(Path(args.out), row, entry, common)
        t = ev.sets["test"]
        b = ev.extras["baselines"].get("test", {})
        print(
            f"{row:<16} steps {entry['steps']}  test SDR {t['sdr']:.2f} dB  (IRM2 {b.get('irm2', {}).get('sdr', float('nan')):.2f}, "
            f"NMF {b.get('nmf', {}).get('sdr', float('nan')):.2f})  other-SF SDR "
            f"{ev.sets.get('other_soundfont', {}).get('sdr', float('nan')):.2f}  RTF {entry['realtime_factor']}",
            flush=True,
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
