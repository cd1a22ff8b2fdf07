"""``mir101 embed RUN audio... --out DIR``: embeddings of audio files by the encoder of any trained run.

The encoder is what the run's task says it is (:func:`mir101.tasks.embedding.encoder_of`): the
``ssl`` task's whole model, a tagging model minus its classifier, a codec's ``encoder`` part...
Each file gets ``<stem>.embedding.npz`` (``item``: the mean embedding, ``patches``: one per patch,
``times``: the patch centres in seconds) and ``<stem>.embedding.json`` (the item embedding), and
one JSON line is printed per file.

Book page: ``book/ssl.md``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["register"]


def _embed(args: argparse.Namespace) -> int:
    from mir101.cli import output_dir
    from mir101.cli.run import output_stems
    from mir101.data.audio import load_audio
    from mir101.errors import AudioError, ParameterError
    from mir101.tasks.embedding import embed_audio, encoder_of
    from mir101.tasks.runner import load_run
    from mir101.tasks.ssl import write_embeddings

    if not 0 < args.hop <= 1:
        raise ParameterError(f"--hop {args.hop}: give a fraction of a patch in (0, 1]")
    out_dir = output_dir(args.out, "--out")
    task, model = load_run(args.run_dir, check_metrics=False)
    encoder = encoder_of(task, model)
    for audio, stem in zip(args.audio, output_stems(list(args.audio))):
        targets = [out_dir / f"{stem}.embedding.npz", out_dir / f"{stem}.embedding.json"]
        clash = [str(p) for p in targets if p.exists()]
        if clash and not args.overwrite:
            raise ParameterError(
                f"{clash[0]} exists already: give --overwrite to replace it, or another --out"
            )
        samples = load_audio(audio, int(task.input.sr))
        try:
            res = embed_audio(task, encoder, samples, hop=args.hop)
        except AudioError as err:
            raise AudioError(f"{audio}: {err}") from err
        written = write_embeddings(res, Path(audio), out_dir, str(args.run_dir), stem=stem)
        print(json.dumps({"audio": audio, "task": task.name, **written}))
    return 0


def register(groups: dict[str, argparse._SubParsersAction]) -> None:
    from mir101.cli import add_command

    p = add_command(
        groups["root"], "embed", _embed, "write the embeddings of audio files by a trained run's encoder"
    )
    p.add_argument("run_dir", help="a run folder of any task")
    p.add_argument("audio", nargs="+", help="audio files (wav, flac, ogg...)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--hop", type=float, default=0.5, help="step between patches, as a fraction of a patch")
    p.add_argument("--overwrite", action="store_true", help="replace output files that exist already")
