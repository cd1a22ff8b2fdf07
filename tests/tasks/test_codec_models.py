"""The codec model files: they build, keep the length, and `mir101 model show` prints them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mir101.cli import main
from mir101.config import load_model_file
from mir101.models import build_model

MODELS = Path(__file__).resolve().parents[2] / "configs" / "codec" / "models"


@pytest.mark.parametrize(
    "name",
    ["codec_seanet_small", "codec_vocos_small", pytest.param("codec_seanet", marks=pytest.mark.slow)],  # 15M parameters
)
def test_codec_model_files_show_and_keep_the_length(name, capsys):
    path = MODELS / f"{name}.yaml"
    assert main(["model", "show", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "part 'encoder'" in printed and "rvq" in printed and "(1, 16000)" in printed
    if name in ("codec_seanet_small", "codec_vocos_small"):
        model = build_model(load_model_file(path), (1, 3200)).eval()
        with torch.no_grad():
            out = model(torch.randn(2, 1, 3200), return_results=True)
        assert out.output.shape == (2, 1, 3200) and out.parts["encoder"].shape == (2, 32, 10)
