"""Generation benchmark: KV-cache speed, then both generators on trained codecs, scored against held-out notes.

1. **Speed**: tokens per second of the ``ar_rvq`` Transformer (random weights: speed does not depend
   on them) sampling a batch of notes with the key/value cache and with full recomputation at
   every step, for the delay and the flatten patterns (and a check that both give the same tokens).
2. **Quality**: the runs it needs, each a ``mir101 train`` command with a time budget (or given
   with ``--codec-rvq`` / ``--codec-vae`` / ``--evaluator``): an RVQ and a VAE codec
   (``configs/codec/rvq.yaml``, ``vae.yaml``), a family classifier
   (``configs/tagging/family_lms_conv2d.yaml``), then ``configs/generation/ar_rvq.yaml`` and
   ``flow_vae.yaml``. Their ``metrics.json``: generated vs held-out real notes (held-out (family,
   pitch) pairs), the codec ceiling and the random floor, FD / KID on MFCC statistics and on the
   classifier's embeddings, Inception Score, family accuracy, PESTO pitch accuracy, and the flow's
   FD / pitch accuracy against ODE steps.

Writes ``benchmarks/results/generation.json`` (after each stage) and prints the tables.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/generation.py --speed-only
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/generation.py --codec-minutes 6 --minutes 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def speed(batch: int = 16, n_frames: int = 50, repeats: int = 1) -> dict[str, Any]:
    """Tokens/s of the ar_rvq model with and without the KV cache, both patterns."""
    import torch

    from mir101.bricks.codec_lm import CodecTransformer
    from mir101.config import load_config

    model_cfg = dict(load_config(ROOT / "configs" / "generation" / "ar_rvq.yaml").model)
    model_cfg.pop("pattern")
    out: dict[str, Any] = {"batch": batch, "n_frames": n_frames, "threads": torch.get_num_threads()}
    for pattern in ("delay", "flatten"):
        torch.manual_seed(0)
        lm = CodecTransformer(
            n_codebooks=4,
            codebook_size=1024,
            n_frames=n_frames,
            n_classes=(128, 12),
            pattern=pattern,
            **model_cfg,
        ).eval()
        cond = torch.tensor([[60, 3]] * batch)
        row: dict[str, Any] = {"steps": lm.n_steps}
        tokens = {}
        for cached in (True, False):
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                tokens[cached] = lm.generate(
                    cond, generator=torch.Generator().manual_seed(0), use_cache=cached, top_k=50
                )
                best = min(best, time.perf_counter() - t0)
            row["cache" if cached else "full"] = {
                "seconds": round(best, 3),
                "tokens_per_s": round(batch * 4 * n_frames / best, 1),
            }
        row["speedup"] = round(row["full"]["seconds"] / row["cache"]["seconds"], 2)
        row["same_tokens"] = bool(torch.equal(tokens[True], tokens[False]))
        out[pattern] = row
        print(
            f"{pattern:8s} {lm.n_steps:4d} steps: cache {row['cache']['tokens_per_s']:8.1f} tok/s, "
            f"full {row['full']['tokens_per_s']:8.1f} tok/s -> {row['speedup']:.1f}x, same tokens {row['same_tokens']}",
            flush=True,
        )
    return out


def held_out_losses(run: Path) -> dict[str, float]:
    """The generator's loss on the held-out notes' codes, against its untrained self (and, for
    tokens, a per-codebook unigram model of the training tokens): learning, whatever the codec."""
    import torch

    from mir101.paradigms.autoregressive import Autoregressive
    from mir101.paradigms.flow import RectifiedFlow
    from mir101.tasks import load_run

    task, model = load_run(run)
    split = task.make_split()
    test = split["test"][:256]
    data = task.encode(task.audio_items(test))
    cond = task.conditions_of(task.store, test)
    torch.manual_seed(0)
    untrained = task.build_model()
    if task.options.paradigm == "autoregressive":

        def loss(m) -> float:
            return (
                Autoregressive(m.eval())
                .common_step({"codes": data, "conditions": cond}, False)["loss"]
                .item()
            )

        train_codes = task.encode(task.audio_items(split["train"]))
        counts = torch.stack(
            [
                torch.bincount(train_codes[:, k].flatten(), minlength=task.codec.codebook_size)
                for k in range(train_codes.shape[1])
            ]
        )
        logp = torch.log((counts + 1.0) / (counts + 1.0).sum(dim=1, keepdim=True))
        k = torch.arange(data.shape[1])[None, :, None].expand_as(data)
        out = {"unigram_cross_entropy": float(-logp[k, data].mean())}
        names = ("cross_entropy", "untrained_cross_entropy")
    else:
        untrained.load_state_dict({**untrained.state_dict(), "mean": model.mean, "std": model.std})
        x0 = model.normalise(data)

        def loss(m) -> float:
            torch.manual_seed(0)
            return (
                RectifiedFlow(m.eval(), p_uncond=0.0)
                .common_step({"x": x0, "conditions": cond}, False)["loss"]
                .item()
            )

        out = {}
        names = ("flow_loss", "untrained_flow_loss")
    with torch.no_grad():
        out[names[0]], out[names[1]] = loss(model), loss(untrained)
    return {k: round(v, 4) for k, v in out.items()}


def mir101(args: list[str]) -> float:
    """Run ``mir101 ARGS`` (this interpreter); returns the wall time."""
    t0 = time.perf_counter()
    print("$ mir101 " + " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "mir101", *args], check=True, cwd=ROOT)
    return time.perf_counter() - t0


def budget(minutes: float) -> str:
    s = int(round(minutes * 60))
    return f"trainer.max_time=00:00:{s // 60:02d}:{s % 60:02d}"


def train_once(
    config: str, run: Path, minutes: float, extra: list[str], evaluate: bool = True
) -> dict[str, Any]:
    if (run / "model.pt").is_file() and (not evaluate or (run / "metrics.json").is_file()):
        print(f"reusing {run}", flush=True)
        return {"command": None, "run": str(run)}
    args = ["train", config, budget(minutes), *extra, "--out", str(run)] + ([] if evaluate else ["--no-eval"])
    wall = mir101(args)
    return {
        "command": "mir101 " + " ".join(a for a in args if not a.startswith("--out") and a != str(run)),
        "wall_s": round(wall, 1),
        "run": str(run),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--skip-speed", action="store_true", help="keep the stored KV-cache speed")
    parser.add_argument("--runs", default="/tmp/mir101-generation-bench", help="folder of the runs it trains")
    parser.add_argument("--codec-rvq", help="a trained rvq codec run (else trained here)")
    parser.add_argument("--codec-vae", help="a trained vae codec run (else trained here)")
    parser.add_argument("--evaluator", help="a trained family classifier run (else trained here)")
    parser.add_argument("--codec-minutes", type=float, default=6.0)
    parser.add_argument("--tagging-minutes", type=float, default=2.0)
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget of each generator")
    parser.add_argument("--rows", nargs="+", default=["ar_rvq", "flow_vae"])
    parser.add_argument("--out", default=str(RESULTS / "generation.json"))
    args, overrides = parser.parse_known_args()

    out_path = Path(args.out)
    table: dict[str, Any] = json.loads(out_path.read_text()) if out_path.is_file() else {}
    import torch

    table["machine"] = (
        f"{platform.machine()}, {platform.processor() or '?'}, {os.cpu_count()} cores, "
        f"{torch.get_num_threads()} threads; load average at the start {os.getloadavg()[0]:.1f}"
    )

    def save() -> None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(table, indent=1))

    if not args.skip_speed:
        table["kv_cache_speed"] = speed()
        save()
    if args.speed_only:
        return
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    stages: dict[str, Any] = table.setdefault("stages", {})
    codec = {"rvq": args.codec_rvq, "vae": args.codec_vae}
    for kind in ("rvq", "vae"):
        if codec[kind] is None and any(r.endswith(kind) for r in args.rows):
            stages[f"codec_{kind}"] = train_once(
                f"configs/codec/{kind}.yaml", runs / f"codec-{kind}", args.codec_minutes, [], evaluate=False
            )
            codec[kind] = str(runs / f"codec-{kind}")
            save()
    evaluator = args.evaluator
    if evaluator is None:
        stages["evaluator"] = train_once(
            "configs/tagging/family_lms_conv2d.yaml", runs / "family", args.tagging_minutes, []
        )
        evaluator = str(runs / "family")
        save()
    rows = table.setdefault("rows", {})
    for row in args.rows:
        kind = "rvq" if row.endswith("rvq") or "rvq" in row else "vae"
        run = runs / row
        extra = [f"task.codec_run={codec[kind]}", f"task.evaluator_run={evaluator}", *overrides]
        info = train_once(f"configs/generation/{row}.yaml", run, args.minutes, extra)
        metrics = json.loads((run / "metrics.json").read_text())
        training = (
            json.loads((run / "training.json").read_text()) if (run / "training.json").is_file() else {}
        )
        rows[row] = {
            **info,
            "sets": metrics["sets"],
            "by_steps": metrics.get("extras", {}).get("by_steps"),
            "real_pitch_accuracy": metrics.get("extras", {}).get("real_pitch_accuracy"),
            "speed": metrics.get("extras", {}).get("speed"),
            "train": {k: training.get(k) for k in ("train_seconds", "steps", "epochs") if k in training},
            "held_out": held_out_losses(run),
        }
        save()
        print_row(row, rows[row])


def print_row(name: str, row: dict[str, Any]) -> None:
    cols = (
        "fd_mfcc",
        "kid_mfcc",
        "fd_encoder",
        "kid_encoder",
        "inception_score",
        "family_accuracy",
        "pitch_accuracy",
    )
    print(f"\n{name}: " + " ".join(f"{c:>15s}" for c in cols))
    for set_name, s in row["sets"].items():
        print(f"{set_name:>15s}  " + " ".join(f"{s.get(c, float('nan')):15.3f}" for c in cols))
    for steps, s in sorted((row.get("by_steps") or {}).items(), key=lambda kv: int(kv[0])):
        print(f"  {int(steps):3d} steps: " + ", ".join(f"{k} {v:.3f}" for k, v in s.items()))
    print("  held-out loss: " + ", ".join(f"{k} {v:.3f}" for k, v in (row.get("held_out") or {}).items()))


if __name__ == "__main__":
    main()
