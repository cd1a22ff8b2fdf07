"""``mir101 cover index | search``: embed a collection once with a trained cover run, then query it.

``mir101 cover index RUN STORE [--out FILE]`` embeds every item of a store (its mixes, when the
run selects them with ``data.where``) and writes an index file (default ``RUN/index.npz``, which
``mir101 predict cover RUN query.wav`` then searches by default); ``mir101 cover search RUN
query.wav [--against FILE_OR_STORE] [--backend faiss|numpy]`` lists the nearest works. Search
uses faiss when installed (``pip install 'mir101[cover]'``), exact numpy otherwise.
``mir101 predict cover RUN query.wav --against STORE`` does the same as ``search``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["register"]


def _load_cover_run(run_dir: str):  # -> (task, model)
    from mir101.errors import ConfigError
    from mir101.tasks.runner import load_run

    task, model = load_run(run_dir)
    if task.name != "cover":
        raise ConfigError(
            f"{run_dir} holds a '{task.name}' model, not a cover one (train one with configs/cover/)"
        )
    return task, model


def _index(args: argparse.Namespace) -> int:
    import time

    from mir101.cli import output_dir
    from mir101.data.store import Store

    out = Path(args.out) if args.out else Path(args.run_dir) / "index.npz"
    output_dir(out.parent, "--out")
    store = Store(args.store)  # a bad store fails before the model is loaded
    task, model = _load_cover_run(args.run_dir)
    t0 = time.perf_counter()
    index = task.index(model, store, None, Path(args.run_dir))
    index.save(out)
    print(json.dumps({"index": str(out), "items": len(index), "dim": int(index.embeddings.shape[1]),
                      "seconds": round(time.perf_counter() - t0, 2)}))  # fmt: skip
    return 0


def _search(args: argparse.Namespace) -> int:
    from mir101.data.audio import load_audio
    from mir101.errors import ParameterError

    if args.top < 1:
        raise ParameterError(f"--top {args.top} must be >= 1")
    task, model = _load_cover_run(args.run_dir)
    index = task._candidates(model, Path(args.run_dir), Path(args.against) if args.against else None)
    audio = load_audio(args.audio, int(task.input.sr))
    nearest = task.search(model.cpu().eval(), audio, index, args.top, backend=args.backend)
    print(json.dumps({"audio": args.audio, "candidates": len(index), "nearest": nearest}))
    return 0


def register(groups: dict[str, argparse._SubParsersAction]) -> None:
    from mir101.cli import add_command

    cover = groups["root"].add_parser("cover", help="index a collection with a cover run and search it")
    sub = cover.add_subparsers(dest="cover_command", metavar="ACTION")
    p = add_command(sub, "index", _index, "embed every item of a store once into an index file")
    p.add_argument("run_dir", help="a run folder of the cover task")
    p.add_argument("store", help="the store to index (PATH/NAME of NAME.hdf5 + NAME.pyjama)")
    p.add_argument("--out", help="index file to write (default RUN_DIR/index.npz)")
    p = add_command(sub, "search", _search, "the nearest works of a recording in an index or a store")
    p.add_argument("run_dir", help="a run folder of the cover task")
    p.add_argument("audio", help="the query recording (wav, flac, ogg...)")
    p.add_argument(
        "--against", help="an index file (.npz) or a store (default RUN_DIR/index.npz, else the run's store)"
    )
    p.add_argument("--top", type=int, default=10, help="works to list")
    p.add_argument(
        "--backend", choices=["auto", "faiss", "numpy"], default="auto", help="nearest-neighbour search"
    )
