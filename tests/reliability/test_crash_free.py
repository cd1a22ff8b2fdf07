"""The crash-free guarantee: whatever file a user hands mir101 in place of a config, a store, an
audio file, a SoundFont or a file of a run folder, every command ends with exit 0 or with exit 2
and one ``error:`` line: never a traceback, a signal (SIGSEGV in a C library) or a hang.

The other files of this suite test one cause each; here the same hostile payloads go everywhere,
all in one child process (a crash ends the child, and the progress file names the case), each
case under its own alarm. Every case of tests/reliability also runs under a timeout (conftest).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tinyrun import SR, tone, write_config


def _zip() -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    return buf.getvalue()


#: what a user may give by mistake, or what a disk may leave: name -> bytes
PAYLOADS = {
    "empty": b"",
    "random bytes": np.random.default_rng(15).bytes(3000),
    "deep brackets": b"[" * 100_000,
    "a JSON list": b"[1, 2, 3]\n",
    "a zip": _zip(),
}

RUNNER = """
import contextlib, io, json, signal, sys, time, traceback
from mir101.cli import main

class Hang(BaseException):
    pass

def alarm(signum, frame):
    raise Hang()

signal.signal(signal.SIGALRM, alarm)
cases = json.loads(open(sys.argv[1]).read())
progress = open(sys.argv[2], "w")
results = []
for name, argv in cases:
    progress.write(name + "\\n")
    progress.flush()
    err = io.StringIO()
    t0 = time.perf_counter()
    signal.alarm(120)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status = main(argv)
    except Hang:
        status = "hang"
    except BaseException:
        status = "exception"
        err.write(traceback.format_exc())
    finally:
        signal.alarm(0)
    results.append([name, status, err.getvalue()[-3000:], time.perf_counter() - t0])
open(sys.argv[3], "w").write(json.dumps(results))
"""


def _cases(trained_run: Path, tiny_store: Path, root: Path) -> list[tuple[str, list[str]]]:
    cases = []
    wav = root / "ok.wav"
    sf.write(wav, tone(60, 0.5), SR)
    for pname, payload in PAYLOADS.items():
        base = root / pname.replace(" ", "_")
        base.mkdir()
        bad = base / "bad"
        bad.write_bytes(payload)
        out = base / "out"
        cases += [
            (f"{pname}: config of train", ["train", str(bad)]),
            (f"{pname}: config of model show", ["model", "show", str(bad)]),
            (
                f"{pname}: audio of predict",
                ["predict", "multipitch", str(trained_run), str(bad), "--out", str(out)],
            ),
            (f"{pname}: audio of transcribe", ["transcribe", str(bad), "--out", str(out)]),
            (f"{pname}: audio of embed", ["embed", str(trained_run), str(bad), "--out", str(out)]),
            (
                f"{pname}: soundfont",
                [
                    "data",
                    "notes",
                    "--n",
                    "1",
                    "--programs",
                    "0",
                    "--pitch-range",
                    "60,61",
                    "--sr",
                    "8000",
                    "--quiet",
                    "--soundfont",
                    str(bad),
                    "--out",
                    str(out),
                ],
            ),  # fmt: skip
        ]
        for ext in (".pyjama", ".hdf5"):
            store = base / f"store{ext[1:]}" / "s"
            store.parent.mkdir()
            for e in (".pyjama", ".hdf5"):
                shutil.copy(tiny_store.with_suffix(e), store.with_suffix(e))
            store.with_suffix(ext).write_bytes(payload)
            cfg = write_config(
                base / f"exp{ext[1:]}.yaml", store, base / f"run{ext[1:]}", trainer={"max_epochs": 1}
            )
            cases += [
                (f"{pname}: store {ext} of data info", ["data", "info", str(store)]),
                (f"{pname}: store {ext} of data validate", ["data", "validate", str(store)]),
                (f"{pname}: store {ext} of train", ["train", str(cfg)]),
            ]
        reads = {
            "config.yaml": "per",
            "model.pt": "pe",
            "metrics.json": "p",
            "split.json": "er",
            "training.json": "er",
            "checkpoints/last.ckpt": "r",
            "logs/metrics.csv": "e",
        }
        for i, (name, commands) in enumerate(reads.items()):
            for c in commands:
                run = base / f"run-{i}-{c}"
                shutil.copytree(trained_run, run)
                (run / name).write_bytes(payload)
                argv = {
                    "p": ["predict", "multipitch", str(run), str(wav), "--out", str(run / "pred")],
                    "e": ["evaluate", str(run)],
                    "r": [
                        "train",
                        "--resume",
                        str(run),
                        "trainer.max_epochs=4",
                        "trainer.limit_train_batches=1",
                    ],
                }[c]
                cases.append((f"{pname}: {name} of {argv[0]}{' --resume' if c == 'r' else ''}", argv))
    return cases


@pytest.mark.timeout(900)
def test_no_input_ends_in_a_traceback_a_signal_or_a_hang(trained_run, tiny_store, tmp_path):
    cases = _cases(trained_run, tiny_store, tmp_path)
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    progress, results = tmp_path / "progress.txt", tmp_path / "results.json"
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(RUNNER),
            str(tmp_path / "cases.json"),
            str(progress),
            str(results),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=850,
        env={**os.environ, "MIR101_CACHE": os.environ.get("MIR101_CACHE", str(tmp_path / "cache"))},
    )
    last = progress.read_text().splitlines()[-1:] if progress.is_file() else []
    assert r.returncode == 0, f"the child ended with {r.returncode} during {last}: {r.stderr[-2000:]}"
    bad = []
    for name, status, err, _seconds in json.loads(results.read_text()):
        errors = [line for line in err.splitlines() if line.startswith("error: ")]
        one_line = len(errors) == 1 or (status == 2 and "validate" in name and errors)
        if status not in (0, 2) or "Traceback" in err or (status == 2 and not one_line):
            bad.append(f"{name}: exit {status}: {err[-600:]}")
    assert not bad, f"{len(bad)} of {len(cases)} cases:\n" + "\n".join(bad)
    assert len(cases) > 100
