"""Speed of mir101.inputs against librosa (and nnAudio when installed) on the same 60 s of audio.

Usage::

    python benchmarks/inputs.py                    # CPU, torch on 1 then 2 threads
    python benchmarks/inputs.py --threads 4 --repeats 9
    python benchmarks/inputs.py --device cuda      # adds a batched GPU row (8 x 60 s)

Measured in one run, on the same audio (a 60 s mix of harmonic tones, chords and noise at
22.05 kHz): the median wall time of each transform, the speed-up of mir101 over librosa, and
the largest difference from librosa relative to librosa's maximum (a sanity check; the parity
tests in tests/inputs/ are the real check; for the HCQT it includes librosa's own error on
harmonic 5, explained in tests/inputs/test_hcqt.py). The HCQT baseline is what the tutorial does: one
``librosa.cqt`` per harmonic.

Targets (2-core CPU): HCQT >= 2x faster than librosa, log-mel at least as fast, CQT within 1.5x.
Timings on a shared machine depend on the neighbours: with 2 threads, torch's OpenMP threads wait
for each other at every operation, which costs much more when the cores are oversubscribed; the
1-thread row is the robust one.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import librosa
import numpy as np
import torch

from mir101.inputs import CQT, HarmonicCQT, LogMel

SR = 22050
SECONDS = 60
CQT_ARGS = {"hop_length": 256, "n_octaves": 6, "bins_per_semitone": 5}
HARMONICS = (0.5, 1, 2, 3, 4, 5)


def test_audio(seconds: int = SECONDS, sr: int = SR, seed: int = 0) -> np.ndarray:
    """A reproducible 'music-like' signal: a chord progression of harmonic tones over a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(seconds * sr) / sr
    y = 0.02 * rng.standard_normal(len(t))
    for start in range(0, seconds, 2):  # a new random 4-note chord every 2 s
        sl = slice(start * sr, (start + 2) * sr)
        for midi in rng.integers(36, 84, size=4):
            f0 = 440 * 2 ** ((midi - 69) / 12)
            for k in range(1, 9):
                if k * f0 < sr / 2:
                    y[sl] += 0.05 * 0.6 ** (k - 1) * np.sin(2 * np.pi * k * f0 * t[sl])
    return y.astype(np.float32)


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fid:
            for line in fid:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def median_time(fn: Callable[[], object], repeats: int, sync: Callable[[], None] = lambda: None) -> float:
    fn()  # warm-up: caches, JIT, allocator
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def librosa_fns(y: np.ndarray) -> dict[str, Callable[[], np.ndarray]]:
    fmin = librosa.note_to_hz("C1")
    bpo = 12 * CQT_ARGS["bins_per_semitone"]
    n_bins = bpo * CQT_ARGS["n_octaves"]
    hop = CQT_ARGS["hop_length"]

    def cqt(h: float = 1.0) -> np.ndarray:
        return np.abs(
            librosa.cqt(y, sr=SR, hop_length=hop, fmin=h * fmin, n_bins=n_bins, bins_per_octave=bpo)
        )

    return {
        "logmel": lambda: np.log1p(10000 * librosa.feature.melspectrogram(y=y, sr=SR)),
        "cqt": cqt,
        "hcqt": lambda: np.stack([cqt(h) for h in HARMONICS]),
    }


def nnaudio_fns(y: np.ndarray) -> dict[str, Callable[[], object]] | None:
    try:
        from nnAudio.features import CQT1992v2, MelSpectrogram
    except ImportError:
        return None
    x = torch.from_numpy(y)[None]
    fmin = librosa.note_to_hz("C1")
    bpo = 12 * CQT_ARGS["bins_per_semitone"]
    kw = {
        "sr": SR,
        "hop_length": CQT_ARGS["hop_length"],
        "n_bins": bpo * CQT_ARGS["n_octaves"],
        "bins_per_octave": bpo,
    }
    mel = MelSpectrogram(sr=SR, n_fft=2048, hop_length=512, n_mels=128, verbose=False)
    cqts = [CQT1992v2(fmin=h * fmin, output_format="Magnitude", verbose=False, **kw) for h in HARMONICS]

    def run(module: torch.nn.Module) -> torch.Tensor:
        with torch.no_grad():
            return module(x)

    return {
        "logmel": lambda: torch.log1p(10000 * run(mel)),
        "cqt": lambda: run(cqts[1]),
        "hcqt": lambda: torch.stack([run(c) for c in cqts]),
    }


def mir101_modules() -> dict[str, torch.nn.Module]:
    return {
        "logmel": LogMel(sr=SR),
        "cqt": CQT(sr=SR, **CQT_ARGS),
        "hcqt": HarmonicCQT(sr=SR, harmonics=HARMONICS, **CQT_ARGS),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--threads", default="1,2", help="torch intra-op thread counts to time, comma-separated (default 1,2)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per transform (median reported)")
    parser.add_argument("--nnaudio-repeats", type=int, default=1, help="timed runs of nnAudio (slow on CPU)")
    parser.add_argument("--no-nnaudio", action="store_true", help="skip nnAudio even if it is installed")
    parser.add_argument("--device", default="cpu", help="also time a batched run on this device (e.g. cuda)")
    args = parser.parse_args()
    threads = [int(t) for t in str(args.threads).split(",")]

    y = test_audio()
    x = torch.from_numpy(y)
    ours = mir101_modules()
    base = librosa_fns(y)
    nn_audio = None if args.no_nnaudio else nnaudio_fns(y)
    print(
        f"mir101.inputs vs librosa {librosa.__version__} on {SECONDS} s of audio at {SR} Hz; torch "
        f"{torch.__version__}; {cpu_name()}, {os.cpu_count()} cores; median of {args.repeats} runs"
        + (f" (nnAudio: {args.nnaudio_repeats}, on {threads[-1]} thread(s))" if nn_audio else "")
    )
    print(
        f"CQT/HCQT: {CQT_ARGS['n_octaves']} octaves, {CQT_ARGS['bins_per_semitone']} bins/semitone, "
        f"hop {CQT_ARGS['hop_length']}; HCQT harmonics {HARMONICS} (librosa: one cqt per harmonic)"
    )
    header = f"{'input':8s} {'librosa s':>10s} {'threads':>8s} {'mir101 s':>10s} {'speed-up':>9s} {'max|diff|':>10s}"
    print(header + (f" {'nnAudio s':>10s} {'vs nnAudio':>10s}" if nn_audio else "  (no nnAudio)"))
    for name, module in ours.items():
        ref = base[name]()
        t_ref = median_time(base[name], args.repeats)
        for n_threads in threads:
            torch.set_num_threads(n_threads)
            with torch.no_grad():
                out = module(x)[0].numpy()
                t_ours = median_time(lambda m=module: m(x), args.repeats)
            diff = np.abs(out - ref.reshape(out.shape)).max() / np.abs(ref).max()
            row = f"{name:8s} {t_ref:10.3f} {n_threads:8d} {t_ours:10.3f} {t_ref / t_ours:8.1f}x {diff:10.1e}"
            if nn_audio and n_threads == threads[-1]:
                t_nn = median_time(nn_audio[name], args.nnaudio_repeats)
                row += f" {t_nn:10.3f} {t_nn / t_ours:9.1f}x"
            print(row)

    if args.device != "cpu":
        device = torch.device(args.device)
        batch = x.repeat(8, 1).to(device)
        sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        print(
            f"\nbatched on {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else ''}): "
            f"8 x {SECONDS} s; speed-up = librosa time for 8 items / mir101 time"
        )
        for name, module in ours.items():
            module = module.to(device)
            with torch.no_grad():
                t_dev = median_time(lambda m=module: m(batch), args.repeats, sync)
            t_ref = median_time(base[name], 1) * 8
            print(f"{name:8s} {t_ref:10.3f} {t_dev:10.4f} {t_ref / t_dev:8.0f}x")


if __name__ == "__main__":
    main()
