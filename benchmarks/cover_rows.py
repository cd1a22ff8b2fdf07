"""Train and evaluate the ``configs/cover`` rows (input x mining); time the search over 10^4-10^6 embeddings.

Each row is ``mir101 train configs/cover/<row>.yaml`` under the same budget; its evaluation ranks
the held-out cliques (test split, and the same cliques rendered with FluidR3, never trained on)
under both protocols, beside the classic baseline (chroma + OTI + DTW) of the same run. The
deep-chroma row first trains a small multi-pitch run (``--pitch-steps``) whose salience it folds
to 12 pitch classes. Every row's metrics, the baseline's, parameters and times go to
``benchmarks/results/cover_rows.json``; ``--search`` times a query against 10^4, 10^5 and 10^6
stored embeddings, exact numpy and faiss (when installed), into ``benchmarks/results/cover_search.json``.

    .venv/bin/python benchmarks/cover_rows.py --minutes 6
    .venv/bin/python benchmarks/cover_rows.py --rows chroma_hard --minutes 10
    .venv/bin/python benchmarks/cover_rows.py --search-only
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
ROWS = ("chroma_random", "chroma_semihard", "chroma_hard", "cqt_hard", "deepchroma_hard", "deepmelody_semihard", "deepmelody_more", "deepmelody_more_wide")
KEEP = ("MAP_ii", "MRR_ii", "MR1_ii", "P@1_ii", "P@10_ii", "MAP_i", "MRR_i", "MR1_i", "P@1_i", "P@10_i")
DEFAULT_OVERRIDES = ("trainer.max_epochs=1000", "trainer.enable_progress_bar=false")


def train_pitch_run(runs: Path, steps: int) -> Path:
    """A small multi-pitch run for the deep chroma (the quickstart's network, ``steps`` steps)."""
    from mir101.tasks.runner import train

    run = runs / "deepchroma-pitch"
    if not (run / "model.pt").is_file():
        train(ROOT / "configs" / "multipitch" / "quickstart.yaml",
              [f"run_dir={run}", f"trainer.max_steps={steps}", "trainer.enable_progress_bar=false"])  # fmt: skip
    return run


def search_times(
    sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000), dim: int = 32, queries: int = 20
) -> dict[str, Any]:
    """Seconds per query (k = 10) of exact numpy and faiss search over ``sizes`` stored embeddings."""
    import numpy as np

    from mir101.tasks.cover.search import faiss_available, knn

    rng = np.random.default_rng(0)
    out: dict[str, Any] = {"dim": dim, "k": 10, "queries": queries, "faiss": faiss_available(), "rows": {}}
    for n in sizes:
        base = rng.standard_normal((n, dim)).astype(np.float32)
        base /= np.linalg.norm(base, axis=1, keepdims=True)
        q = base[rng.choice(n, queries, replace=False)] + 0.01
        row: dict[str, Any] = {}
        for backend in ("numpy", "faiss") if faiss_available() else ("numpy",):
            index = None
            t0 = time.perf_counter()
            if backend == "faiss":
                import faiss

                index = faiss.IndexFlatL2(dim)
                index.add(base)
            build = time.perf_counter() - t0
            knn(base, q[:1], 10, backend, index)  # warm-up
            t0 = time.perf_counter()
            for i in range(queries):
                _, idx = knn(base, q[i : i + 1], 10, backend, index)
            per_query = (time.perf_counter() - t0) / queries
            row[backend] = {"ms_per_query": round(1000 * per_query, 3), "build_s": round(build, 3)}
        out["rows"][str(n)] = row
        print(
            f"{n:>9} stored: " + ", ".join(f"{b} {v['ms_per_query']} ms/query" for b, v in row.items()),
            flush=True,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", nargs="*", default=list(ROWS))
    parser.add_argument("--minutes", type=float, default=6.0, help="training budget per row")
    parser.add_argument(
        "--pitch-steps", type=int, default=400, help="steps of the deep chroma's multi-pitch run"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--runs", default="runs/benchmarks", help="where the run folders go")
    parser.add_argument("--out", default=str(RESULTS / "cover_rows.json"))
    parser.add_argument("--search-only", action="store_true", help="only time the search")
    parser.add_argument("--no-search", action="store_true", help="skip the search timing")
    parser.add_argument("overrides", nargs="*", help="extra config overrides for every row")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")

    import torch

    from mir101.cli.run import quiet_lightning
    from mir101.config import load_config
    from mir101.tasks.runner import load_run, train

    quiet_lightning()
    torch.set_num_threads(args.threads)
    machine = f"{os.cpu_count()} CPU cores (shared), torch {torch.__version__}, {args.threads} thread(s)"
    if not args.no_search:
        result = search_times()
        result.update(
            {
                "machine": machine,
                "load_average": round(os.getloadavg()[0], 2),
                "measured": time.strftime("%Y-%m-%d"),
            }
        )
        (RESULTS / "cover_search.json").write_text(json.dumps(result, indent=1) + "\n")
    if args.search_only:
        return
    out_path = Path(args.out)
    table = json.loads(out_path.read_text()) if out_path.is_file() else {"rows": {}}
    minutes = int(args.minutes)
    budget = f"trainer.max_time=00:00:{minutes:02d}:{int(round((args.minutes - minutes) * 60)):02d}"
    runs = Path(args.runs)
    for row in args.rows:
        cfg_path = ROOT / "configs" / "cover" / f"{row}.yaml"
        extra = []
        if row.startswith("deepchroma"):
            extra.append(f"input.run={train_pitch_run(runs, args.pitch_steps)}")
        overrides = [
            f"run_dir={runs / ('cover-' + row)}",
            budget,
            *DEFAULT_OVERRIDES,
            *extra,
            *args.overrides,
        ]
        cfg = load_config(cfg_path, overrides)
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        result = train(cfg)
        wall = time.perf_counter() - t0
        info = json.loads((result.run_dir / "training.json").read_text())
        _task, model = load_run(result.run_dir)
        ev = result.evaluation
        entry: dict[str, Any] = {
            "command": " ".join(
                [
                    f"mir101 train configs/cover/{row}.yaml",
                    budget,
                    *DEFAULT_OVERRIDES,
                    *extra,
                    *args.overrides,
                ]
            ),
            "input": cfg.input.name,
            "mining": cfg.task.mining,
            "parameters": sum(p.numel() for p in model.parameters()),
            "measured": time.strftime("%Y-%m-%d"),
            "load_average_at_start": round(load, 2),
            "epochs": info["epochs"],
            "steps": info.get("steps"),
            "train_seconds": info["train_seconds"],
            "wall_seconds": round(wall, 1),
            "times": ev.extras.get("times"),
        }
        for set_name, scores in ev.sets.items():
            entry[set_name] = {k: round(float(scores[k]), 4) for k in KEEP if k in scores}
            entry[set_name].update(items=int(scores["items"]), cliques=int(scores["cliques"]))
        for name in ("classic", "classic_input"):  # classic_input: a deep-chroma row's own input, aligned
            scored = (ev.extras.get("baselines") or {}).get(name) or {}
            if scored or name == "classic":
                entry[f"baseline_{name}"] = {
                    s: {k: round(float(v[k]), 4) for k in KEEP if k in v} for s, v in scored.items()
                }
        table["rows"][row] = entry
        table.update(machine=machine, budget_minutes=args.minutes)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(table, indent=1) + "\n")
        t = entry.get("test", {})
        b = entry["baseline_classic"].get("test", {})
        print(f"{row}: test MAP(ii) {t.get('MAP_ii')} (classic {b.get('MAP_ii')}), MAP(i) {t.get('MAP_i')} "
              f"(classic {b.get('MAP_i')}); {info.get('steps')} steps, {wall:.0f} s", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
