"""Train and evaluate every ``configs/codec`` row on the notes corpus; compare with Opus, mu-law PCM and a peer RVQ.

Each row is the command ``mir101 train configs/codec/<row>.yaml`` with the same time budget
(``trainer.max_time``), corpus and split. On the same held-out notes (instruments never heard in
training) the script also scores:

- **Opus** (libopus through ffmpeg, when ``ffmpeg`` has it) at the given bitrates: the real codec;
- **mu-law PCM** at the same bitrates: 8-bit mu-law at ``kbps * 1000 / 8`` samples per second,
  resampled back (what a naive codec gets for the same bits);
- **peer RVQ**: ``vector_quantize_pytorch.ResidualVQ`` against mir101's
  :class:`~mir101.bricks.rvq.ResidualVectorQuantizer`, same settings (codebooks, codes, EMA decay,
  dead-code threshold), fitted by EMA on the same latents (the trained ``rvq`` row's encoder
  outputs on training notes) and scored on held-out latents: squared error, codebook usage,
  seconds per step. mir101 starts its codebooks from random batch vectors, the peer from k-means
  on the first batch (``kmeans_init=True``). Skipped when the package does not import.

Writes ``benchmarks/results/codec_rows.json`` (read by ``book/bottlenecks.md``) and prints tables.

    .venv/bin/python benchmarks/codec_rows.py --minutes 10
    .venv/bin/python benchmarks/codec_rows.py --rows rvq rvq_adversarial --minutes 3 trainer.accelerator=gpu
    .venv/bin/python benchmarks/codec_rows.py --rows rvq_vocos --reuse   # score a finished run folder

``--reuse`` reads a row whose run folder (``--runs``/ROW) already holds ``metrics.json`` instead of
training it again (a long training run in the background, say); its budget is the run's own.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
ROWS = ("ae", "vae", "vq", "rvq", "rvq_adversarial", "rvq_vocos", "vae_vocos", "rvq_vocos_phase", "vae_vocos_phase")


def opus_round_trip(audio: np.ndarray, sr: int, kbps: float, folder: Path) -> tuple[np.ndarray, float]:
    """Encode with libopus at ``kbps`` and decode back to ``sr``; returns the audio and the size of
    the .opus file in kbit/s of audio (container overhead included)."""
    import soundfile as sf

    src, enc, dec = folder / "in.wav", folder / "x.opus", folder / "out.wav"
    sf.write(src, audio, sr)
    quiet = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run([*quiet, "-i", src, "-c:a", "libopus", "-b:a", f"{kbps}k", enc], check=True)
    subprocess.run([*quiet, "-i", enc, "-ar", str(sr), "-ac", "1", dec], check=True)
    out, _ = sf.read(dec, dtype="float32")
    return out, enc.stat().st_size * 8 / 1000 / (len(audio) / sr)


def mulaw_round_trip(audio: np.ndarray, sr: int, kbps: float) -> np.ndarray:
    """8-bit mu-law at ``kbps * 1000 / 8`` Hz: resample down, quantise, expand, resample up."""
    import librosa

    low = max(int(kbps * 1000 / 8), 1)
    x = librosa.resample(audio, orig_sr=sr, target_sr=low)
    codes = librosa.mu_compress(np.clip(x, -1, 1), mu=255, quantize=True)
    y = librosa.mu_expand(codes, mu=255, quantize=True).astype(np.float32)
    return librosa.resample(y, orig_sr=low, target_sr=sr)


def pitch_kept(decoded: list[np.ndarray], pitches: list[float], sr: int, n_notes: int = 32) -> dict[str, float]:
    """PESTO's pitch of a baseline's decoded notes, on the subset the codec task tracks."""
    from mir101.metrics.pitch import note_pitches, pesto_available, pitch_accuracy
    from mir101.tasks.codec.evaluation import pitch_subset

    if not pesto_available():
        return {}
    chosen = pitch_subset(len(decoded), n_notes)
    return {
        "pitch_kept": pitch_accuracy(note_pitches([decoded[i] for i in chosen], sr), [pitches[i] for i in chosen])
    }


def baselines(
    originals: list[np.ndarray], sr: int, rates: list[float], pitches: list[float] | None = None
) -> dict[str, Any]:
    from mir101.tasks.codec.evaluation import score_pairs

    out: dict[str, Any] = {}
    have_opus = shutil.which("ffmpeg") is not None
    for kbps in rates:
        out[f"mulaw_{kbps:g}kbps"] = {
            "kbps": kbps,
            **score_pairs(originals, [mulaw_round_trip(x, sr, kbps) for x in originals], sr),
        }
        if not have_opus:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            decoded, sizes = zip(*(opus_round_trip(x, sr, kbps, Path(tmp)) for x in originals))
        out[f"opus_{kbps:g}kbps"] = {
            "kbps": kbps,
            "file_kbps": round(float(np.mean(sizes)), 2),
            **score_pairs(originals, list(decoded), sr),
            **(pitch_kept(list(decoded), pitches, sr) if pitches else {}),
        }
    if not have_opus:
        out["opus"] = "not measured: no ffmpeg on this machine (apt-get install ffmpeg)"
    return out


def peer_rvq(run_dir: Path, steps: int) -> dict[str, Any]:
    """mir101's RVQ and vector_quantize_pytorch's ResidualVQ fitted on the same encoder latents."""
    try:
        from vector_quantize_pytorch import ResidualVQ
    except ImportError:
        return {"skipped": "vector_quantize_pytorch does not import (pip install vector-quantize-pytorch)"}
    import torch

    from mir101.bricks.rvq import ResidualVectorQuantizer
    from mir101.data.splits import load_split
    from mir101.tasks.runner import load_run

    task, model = load_run(run_dir)
    codec = task.codec(model)
    split = load_split(run_dir / "split.json")

    def latents(keys: list[str]) -> torch.Tensor:
        with torch.no_grad():
            z = [codec.encoder(codec.pad(torch.as_tensor(x)[None, None])) for x in task.audio_items(keys)]
        return torch.cat([v[0].t() for v in z])  # (frames, channels)

    train = latents(split["train"])
    test = latents(task.evaluation_sets(split)["test"])
    rvq = codec.bottleneck
    n, k, dim = rvq.n_quantizers, rvq.codebook_size, train.shape[1]
    ours = ResidualVectorQuantizer(
        in_channels=dim, n_quantizers=n, codebook_size=k, decay=0.99, dead_code_threshold=1.0
    )
    theirs = ResidualVQ(
        dim=dim, num_quantizers=n, codebook_size=k, decay=0.99, threshold_ema_dead_code=1, kmeans_init=True
    )
    g = torch.Generator().manual_seed(0)
    batches = [train[torch.randint(0, len(train), (1024,), generator=g)] for _ in range(steps)]
    out: dict[str, Any] = {
        "latent_frames": {"train": len(train), "test": len(test)},
        "codebooks": n,
        "codes": k,
        "steps": steps,
    }
    for name, module in (("mir101", ours), ("vector_quantize_pytorch", theirs)):
        torch.manual_seed(0)
        module.train()
        t0 = time.perf_counter()
        with torch.no_grad():
            for batch in batches:  # EMA updates only: no gradient step
                module(batch.t()[None]) if name == "mir101" else module(batch[None])
        seconds = time.perf_counter() - t0
        module.eval()
        with torch.no_grad():
            if name == "mir101":
                quantized = module(test.t()[None]).output[0].t()
                codes = module.encode(test.t()[None])[0].t()  # (frames, n)
            else:
                quantized, codes, _ = module(test[None])
                quantized, codes = quantized[0], codes[0]
        usage = [len(codes[:, q].unique()) / k for q in range(n)]
        out[name] = {
            "mse": float(((quantized - test) ** 2).mean()),
            "relative_mse": float(((quantized - test) ** 2).mean() / test.var()),
            "usage": float(np.mean(usage)),
            "usage_first_codebook": usage[0],
            "seconds_per_step": round(seconds / steps, 4),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", nargs="*", default=list(ROWS))
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per row")
    parser.add_argument("--kbps", nargs="*", type=float, default=[6.0, 3.0], help="Opus / mu-law bitrates")
    parser.add_argument("--peer-steps", type=int, default=200, help="EMA steps of the peer RVQ check")
    parser.add_argument("--runs", default="runs/benchmarks/codec", help="where the run folders go")
    parser.add_argument("--out", default=str(RESULTS / "codec_rows.json"))
    parser.add_argument("--reuse", action="store_true", help="read finished run folders instead of training")
    parser.add_argument("overrides", nargs="*", help="extra config overrides for every row")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")

    import torch

    from mir101.cli.run import quiet_lightning
    from mir101.tasks.runner import load_run, train

    quiet_lightning()
    out_path = Path(args.out)
    table = json.loads(out_path.read_text()) if out_path.is_file() else {"rows": {}}
    minutes, seconds = int(args.minutes), int(round((args.minutes - int(args.minutes)) * 60))
    budget = f"trainer.max_time=00:00:{minutes:02d}:{seconds:02d}"
    sr, originals, pitches = None, None, None
    for row in args.rows:
        run_dir = Path(args.runs) / row
        overrides = [f"run_dir={run_dir}", budget, "trainer.enable_progress_bar=false", *args.overrides]
        command = " ".join([f"mir101 train configs/codec/{row}.yaml", budget, *args.overrides])
        if args.reuse and (run_dir / "metrics.json").is_file():
            import yaml

            from mir101.tasks.result import EvalResult

            ev, finished, reused = EvalResult.load(run_dir / "metrics.json"), run_dir, True
            run_cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
            start = (run_cfg.get("task") or {}).get("init_weights")  # trained further from another run
            command = (
                f"mir101 train configs/codec/{row}.yaml trainer.max_time={run_cfg['trainer'].get('max_time')}"
                + (f" task.init_weights={start}" if start else "")
                + f" (run folder {run_dir})"
            )
        else:
            result = train(ROOT / "configs" / "codec" / f"{row}.yaml", overrides)
            ev, finished, reused = result.evaluation, result.run_dir, False
        info = json.loads((finished / "training.json").read_text())
        test = ev.sets["test"]
        table["rows"][row] = {
            "command": command,
            "budget_minutes": float(args.minutes) if not reused else None,
            "bottleneck": ev.extras["codec"]["bottleneck"],
            "paradigm": "adversarial" if "adversarial" in row else "autoencoder",
            "kbps": round(test["kbps"], 3),
            **{
                k: round(test[k], 4)
                for k in (
                    "mel_distance",
                    "stft_distance",
                    "si_sdr",
                    "codebook_usage",
                    "perplexity",
                    "pitch_kept",
                    "pitch_of_originals",
                )
                if k in test
            },
            "seen_instruments_mel_distance": round(
                ev.sets.get("seen_instruments", {}).get("mel_distance", float("nan")), 4
            ),
            "test_notes": int(test["items"]),
            "by_quantizers": ev.extras.get("by_quantizers", {}),
            "train_seconds": info["train_seconds"],
            "steps": info["steps"],
            "epochs": info["epochs"],
        }
        if originals is None:
            from mir101.data.splits import load_split

            task, _ = load_run(finished)
            sr = task.sr
            test_keys = task.evaluation_sets(load_split(finished / "split.json"))["test"]
            originals = task.audio_items(test_keys)
            pitches = [float(task.store.value(k, "pitch", default=np.nan)) for k in test_keys]
    if originals is not None:
        table["baselines"] = baselines(originals, sr, args.kbps, pitches)
    if "rvq" in args.rows:
        table["peer_rvq"] = peer_rvq(Path(args.runs) / "rvq", args.peer_steps)
    table.update(
        {
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
        }
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(table, indent=1, default=float))
    nan = float("nan")
    print(f"{'row':18} {'kbps':>6} {'mel':>7} {'SI-SDR':>7} {'usage':>6} {'pitch':>6} {'train s':>8}")
    for name, r in table["rows"].items():
        print(
            f"{name:18} {r['kbps']:6.2f} {r['mel_distance']:7.3f} {r['si_sdr']:7.2f} "
            f"{r.get('codebook_usage', nan):6.2f} {r.get('pitch_kept', nan):6.2f} {r['train_seconds']:8.0f}"
        )
    for name, r in (table.get("baselines") or {}).items():
        if isinstance(r, dict):
            print(
                f"{name:18} {r['kbps']:6.2f} {r['mel_distance']:7.3f} {r['si_sdr']:7.2f} {'':6} "
                f"{r.get('pitch_kept', nan):6.2f}"
            )
    print(json.dumps(table.get("peer_rvq", {}), indent=1))
    print(f"written: {out_path}")


if __name__ == "__main__":
    main()
