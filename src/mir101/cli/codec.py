"""``mir101 codec encode | decode``: a trained codec run as a codec (audio -> codes file -> audio).

``mir101 codec encode RUN audio.wav --out codes.npz [--quantizers N]`` writes the tokens (VQ /
RVQ; with ``--quantizers`` an RVQ uses its first ``N`` codebooks: a lower bitrate) or latents
(AE / VAE) of an audio file; ``mir101 codec decode RUN codes.npz --out audio.wav`` writes the
audio back. A codes file from another model, at another sample rate, or corrupt is refused with
one line (:mod:`mir101.tasks.codec.codes`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["register"]


def _load_codec_run(run_dir: str):  # -> (task, model, codec, fingerprint)
    from mir101.errors import ConfigError
    from mir101.tasks.codec import fingerprint
    from mir101.tasks.runner import load_run

    task, model = load_run(run_dir)
    if task.name != "codec":
        raise ConfigError(
            f"{run_dir} holds a '{task.name}' model, not a codec (train one with configs/codec/)"
        )
    codec = task.codec(model)  # type: ignore[attr-defined]
    return task, codec, fingerprint(model)


def _output(path: str, option: str) -> Path:
    """The output file's folder created before any work (an unwritable place fails at once)."""
    from mir101.cli import output_dir

    out = Path(path)
    output_dir(out.parent if str(out.parent) else Path("."), option)
    if out.is_dir():
        from mir101.errors import ParameterError

        raise ParameterError(f"{option} {out}: is a folder; give a file name (e.g. {out / 'codes.npz'})")
    return out


def _encode(args: argparse.Namespace) -> int:
    from mir101.data.audio import load_audio

    out = _output(args.out, "--out")
    task, codec, _ = _load_codec_run(args.run_dir)
    audio = load_audio(args.audio, codec.sr)
    codes = task.encode(codec, audio, args.quantizers)
    codes.save(out)
    print(
        json.dumps(
            {
                "codes": str(out),
                "kind": codes.kind,
                "shape": list(codes.data.shape),
                "kbps": round(codes.kbps, 3),
                "seconds": round(codes.seconds, 3),
            }
        )
    )
    return 0


def _decode(args: argparse.Namespace) -> int:
    import numpy as np
    import soundfile as sf

    from mir101.tasks.codec import Codes

    out = _output(args.out, "--out")
    codes = Codes.load(args.codes)  # a corrupt file fails before the model is loaded
    _, codec, model_id = _load_codec_run(args.run_dir)
    codes.check_fits(codec, model_id, args.codes, args.run_dir)
    audio = codec.decode(codes.data, codes.n_samples)
    sf.write(out, np.clip(audio, -1, 1), codec.sr)
    print(
        json.dumps(
            {
                "audio": str(out),
                "sr": codec.sr,
                "seconds": round(codes.seconds, 3),
                "kbps": round(codes.kbps, 3),
            }
        )
    )
    return 0


def register(groups: dict[str, argparse._SubParsersAction]) -> None:
    from mir101.cli import add_command

    codec = groups["root"].add_parser(
        "codec", help="encode audio to codes and decode them with a trained codec run"
    )
    sub = codec.add_subparsers(dest="codec_command", metavar="ACTION")
    p = add_command(sub, "encode", _encode, "audio file -> codes file (.npz) with a trained codec run")
    p.add_argument("run_dir", help="a run folder of the codec task")
    p.add_argument("audio", help="audio file (wav, flac, ogg...); resampled to the codec's rate")
    p.add_argument("--out", required=True, help="codes file to write (.npz)")
    p.add_argument("--quantizers", type=int, default=None, help="RVQ: codebooks to use (a lower bitrate)")
    p = add_command(
        sub, "decode", _decode, "codes file (.npz) -> audio file (.wav) with the run that encoded it"
    )
    p.add_argument("run_dir", help="the codec run that wrote the codes")
    p.add_argument("codes", help="codes file written by `mir101 codec encode`")
    p.add_argument("--out", required=True, help="audio file to write (.wav)")
