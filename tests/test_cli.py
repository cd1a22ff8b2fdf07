import json
import subprocess
import sys

import h5py
import numpy as np

from mir101.cli import main


def test_help_lists_commands(capsys):
    assert main([]) == 0
    assert "data" in capsys.readouterr().out


def test_data_info_and_validate(note_store, tag_store, capsys):
    assert main(["data", "info", str(note_store)]) == 0
    out = capsys.readouterr().out
    assert "items        1" in out and "pitchmidi" in out and "segment" in out
    assert main(["data", "info", "--json", str(tag_store)]) == 0
    assert json.loads(capsys.readouterr().out)["annotations"]["tag"]["annotations"] == 7
    assert main(["data", "validate", str(note_store)]) == 0


def test_validate_broken_store_prints_one_line_per_problem(note_store, capsys):
    with h5py.File(note_store.with_suffix(".hdf5"), "a") as f:
        f["orphan.wav"] = np.zeros(10, np.float32)
        f["MAPS_test.wav"][0] = np.nan
    assert main(["data", "validate", str(note_store)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert all(line.startswith("error: ") for line in err)
    assert any("orphan.wav" in line and "no annotation entry" in line for line in err)


def test_error_is_one_line_and_debug_shows_traceback(tmp_path):
    cmd = [sys.executable, "-m", "mir101", "data", "info", str(tmp_path / "missing")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "not found" in r.stderr
    r = subprocess.run(cmd[:3] + ["--debug"] + cmd[3:], capture_output=True, text=True)
    assert "Traceback" in r.stderr
