"""Loading is safe and offline: checkpoints hold weights only, YAML is read safely, no user string
is evaluated, and the main commands never touch the network. ``--debug`` still shows tracebacks.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import mir101
from mir101.cli import main
from mir101.config import load_config
from mir101.errors import AudioError, ConfigError
from tinyrun import SR, tone, write_config

SRC = Path(mir101.__file__).parent
SOURCES = sorted(SRC.rglob("*.py"))


def _calls(predicate):
    """``file:line`` of every call in src/mir101 for which ``predicate(call node)`` is true."""
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and predicate(node):
                found.append(f"{path.relative_to(SRC.parent)}:{node.lineno}")
    return found


def _dotted(func: ast.expr) -> str:
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return ".".join(reversed(parts))


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


def test_the_source_scan_sees_the_source():
    assert len(SOURCES) > 50 and _calls(lambda n: _dotted(n.func) == "torch.load")


def test_every_torch_load_is_weights_only():
    def unsafe(node):
        value = _keyword(node, "weights_only")
        return _dotted(node.func).endswith("torch.load") and not (
            isinstance(value, ast.Constant) and value.value is True
        )

    assert _calls(unsafe) == []


def test_every_resume_from_a_lightning_checkpoint_is_weights_only():
    """``trainer.fit(..., ckpt_path=...)`` (and validate/test/predict) load with weights_only."""

    def unsafe(node):
        if _keyword(node, "ckpt_path") is None:
            return False
        value = _keyword(node, "weights_only")
        return value is None or (isinstance(value, ast.Constant) and value.value is False)

    calls = _calls(lambda n: _keyword(n, "ckpt_path") is not None)
    assert calls, "no Lightning ckpt_path call found: update this test"
    assert _calls(unsafe) == []


def test_no_unsafe_deserialisers():
    """No pickle, no yaml.load / unsafe_load / full_load, no non-safe YAML Loader in the library."""
    risky = {
        "pickle.load",
        "pickle.loads",
        "yaml.load",
        "yaml.load_all",
        "yaml.unsafe_load",
        "yaml.full_load",
        "marshal.loads",
        "dill.load",
        "joblib.load",
    }
    assert _calls(lambda n: _dotted(n.func) in risky) == []
    assert (
        _calls(
            lambda n: (
                _dotted(_keyword(n, "Loader") or ast.Constant(None)).split(".")[-1]
                in {"Loader", "UnsafeLoader", "FullLoader"}
            )
        )
        == []
    )


def test_no_eval_or_exec_in_the_library():
    assert (
        _calls(
            lambda n: isinstance(n.func, ast.Name) and n.func.id in {"eval", "exec", "compile", "__import__"}
        )
        == []
    )


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
        "!!python/name:os.system",
    ],
    ids=["apply", "new", "name"],
)
def test_python_tags_in_an_experiment_are_refused(tmp_path, tag, cli_error):
    marker = tmp_path / "pwned"
    path = tmp_path / "exp.yaml"
    path.write_text(f"task: {{name: multipitch}}\ntrainer: {tag.format(marker=marker)}\n")
    with pytest.raises(
        ConfigError, match=r"exp\.yaml, line 2, column 10: invalid YAML: could not determine a constructor"
    ):
        load_config(path)
    assert "Python tags are refused" in cli_error(["train", path])
    assert not marker.exists()


class _Payload:
    """Pickles to a call of os.system: what a malicious checkpoint would hold."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_model_pt_with_pickled_code_is_refused(run_copy, tmp_path, cli_error):
    run = run_copy()
    marker = tmp_path / "pwned"
    state = torch.load(run / "model.pt", weights_only=True)
    torch.save({**state, "extra": _Payload(marker)}, run / "model.pt")
    wav = tmp_path / "a.wav"
    sf.write(wav, tone(60, 0.5), SR)
    msg = cli_error(["predict", "multipitch", run, wav])
    assert (
        msg.startswith(f"{run / 'model.pt'}: cannot load the checkpoint: refused") and "posix.system" in msg
    ), msg
    assert not marker.exists()


def test_a_lightning_checkpoint_with_pickled_code_is_refused_on_resume(run_copy, tmp_path, cli_error):
    run = run_copy()
    marker = tmp_path / "pwned"
    last = run / "checkpoints" / "last.ckpt"
    ckpt = torch.load(last, weights_only=True)
    torch.save({**ckpt, "callbacks": _Payload(marker)}, last)
    msg = cli_error(["train", "--resume", run])
    assert msg.startswith(f"{last}: cannot load the checkpoint: refused"), msg
    assert not marker.exists()


OFFLINE = """
import json, socket, sys
attempts = []

def refuse(self, address, *args):
    if self.family != socket.AF_UNIX:
        attempts.append(repr(address))
        raise OSError("network access attempted: " + repr(address))
    return real_connect(self, address, *args)

def refuse_create(address, *args, **kwargs):
    attempts.append(repr(address))
    raise OSError("network access attempted: " + repr(address))

real_connect = socket.socket.connect
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse_create
try:
    socket.create_connection(("example.com", 80))
except OSError:
    pass
assert attempts == ["('example.com', 80)"], attempts  # the guard works
attempts.clear()

from mir101.cli import main
commands = json.loads(sys.argv[1])
status = {" ".join(c[:2]): main(c) for c in commands}
print("RESULT " + json.dumps({"status": status, "attempts": attempts}))
"""


def test_the_main_commands_run_without_network(tiny_store, tmp_path):
    cfg = write_config(tmp_path / "exp.yaml", tiny_store, tmp_path / "run", trainer={"max_epochs": 1})
    wav = tmp_path / "a.wav"
    sf.write(wav, tone(60, 1.0), SR)
    corpus = tmp_path / "corpus"
    commands = [
        [
            "data",
            "chorales",
            "--n",
            "2",
            "--tempo",
            "180,200",
            "--sr",
            "8000",
            "--workers",
            "1",
            "--quiet",
            "--out",
            str(corpus),
        ],
        ["data", "info", str(corpus / "chorales")],
        ["data", "validate", str(corpus / "chorales")],
        ["model", "show", str(cfg)],
        ["train", str(cfg)],
        ["evaluate", str(tmp_path / "run")],
        ["predict", "multipitch", str(tmp_path / "run"), str(wav), "--out", str(tmp_path / "pred")],
    ]
    env = {
        **os.environ,
        "NO_PROXY": "",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
    }
    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(OFFLINE), json.dumps(commands)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    line = next((x for x in r.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert r.returncode == 0 and line, r.stderr[-3000:]
    result = json.loads(line[len("RESULT ") :])
    assert result["attempts"] == [], result
    assert set(result["status"].values()) == {0}, (result, r.stderr[-3000:])
    assert (tmp_path / "run" / "metrics.json").is_file() and (tmp_path / "pred" / "a.mid").is_file()


def test_debug_shows_the_traceback(trained_run, tmp_path, monkeypatch):
    """``--debug``: the exception propagates (Python prints the whole traceback) instead of one
    line, for a mir101 error and for an OSError alike (tests/test_cli.py runs it in a subprocess)."""
    wav = tmp_path / "nan.wav"
    sf.write(wav, np.full(SR, np.nan, np.float32), SR, subtype="FLOAT")
    argv = ["predict", "multipitch", str(trained_run), str(wav)]
    assert main(argv) == 2
    with pytest.raises(AudioError, match="NaN or inf"):
        main(["--debug", *argv])

    def disk_error(*args, **kwargs):
        raise OSError(5, "Input/output error", str(trained_run / "model.pt"))

    monkeypatch.setattr("mir101.tasks.runner.load_run", disk_error)
    assert main(argv) == 2
    with pytest.raises(OSError, match="Input/output error"):
        main(["--debug", *argv])
