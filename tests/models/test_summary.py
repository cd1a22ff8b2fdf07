"""Model summaries: exact MAC counts per layer type, totals, the table."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mir101.bricks import MultiHeadAttention, SincConv
from mir101.models import build_model, count_macs, format_summary, summarize


def _macs(module: nn.Module, *inputs: torch.Tensor) -> int:
    with count_macs(module) as counter, torch.no_grad():
        module(*inputs)
    return counter.total


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_conv2d_macs(groups):
    conv = nn.Conv2d(4, 8, (5, 3), padding="same", groups=groups)
    assert _macs(conv, torch.zeros(1, 4, 10, 7)) == 8 * 10 * 7 * (4 // groups) * 5 * 3


def test_transposed_conv_and_conv1d_macs():
    assert _macs(nn.ConvTranspose2d(4, 6, 2, stride=2), torch.zeros(1, 4, 5, 5)) == 4 * 25 * 6 * 4
    assert _macs(nn.Conv1d(2, 3, 7, stride=2), torch.zeros(1, 2, 41)) == 3 * 18 * 2 * 7


def test_linear_macs_count_every_frame():
    assert _macs(nn.Linear(5, 3), torch.zeros(1, 10, 5)) == 10 * 3 * 5


@pytest.mark.parametrize("mode,gates", [(nn.LSTM, 4), (nn.GRU, 3), (nn.RNN, 1)])
def test_recurrent_macs(mode, gates):
    rnn = mode(6, 4, num_layers=2, bidirectional=True, batch_first=True)
    per_step = gates * ((6 + 4) * 4 + (8 + 4) * 4) * 2
    assert _macs(rnn, torch.zeros(1, 9, 6)) == 9 * per_step


def test_attention_and_sinc_macs():
    attn = MultiHeadAttention(d_model=8, n_heads=2)
    projections = 7 * 8 * 24 + 7 * 8 * 8
    assert _macs(attn, torch.zeros(1, 7, 8)) == projections + 2 * 7 * 7 * 8
    sinc = SincConv(out_channels=4, kernel_size=11, sample_rate=8000)
    assert _macs(sinc, torch.zeros(1, 1, 50)) == 4 * 40 * 11


def test_counting_stops_when_the_context_closes():
    lin = nn.Linear(2, 2)
    with count_macs(lin) as counter:
        lin(torch.zeros(1, 2))
    lin(torch.zeros(1, 2))
    assert counter.total == 4 and not lin._forward_hooks


def test_summarize_rows_and_totals():
    layers = [
        "batchnorm2d",
        {"conv2d": {"out_channels": 4, "kernel_size": 3, "padding": "same"}},
        {"store": "E"},
        {"concat": "E"},
        {"conv2d": {"out_channels": 1, "kernel_size": 1}},
    ]
    model = build_model(layers, (2, 6, 5))
    rows = summarize(model)
    assert [r.name for r in rows] == ["batchnorm2d", "conv2d", "store E", "concat E", "conv2d"]
    assert [r.output_shape for r in rows] == [(2, 6, 5), (4, 6, 5), (4, 6, 5), (8, 6, 5), (1, 6, 5)]
    assert sum(r.params for r in rows) == sum(p.numel() for p in model.parameters())
    assert rows[1].macs == 4 * 30 * 2 * 9 and rows[4].macs == 30 * 8
    assert rows[1].arguments == "out_channels=4, kernel_size=3, padding=same"
    assert model.training  # restored


def test_format_summary_table():
    model = build_model([{"conv1d": {"out_channels": 3, "kernel_size": [5]}}, "relu"], (2, 20))
    text = format_summary(model, title="model: test")
    lines = text.splitlines()
    assert lines[0] == "model: test" and lines[1] == "input (2, 20) -> output (3, 16)"
    assert lines[2].split() == ["#", "layer", "arguments", "output", "shape", "params", "MACs"]
    assert lines[3].split()[:3] == ["0", "conv1d", "out_channels=3,"] and "kernel_size=[5]" in lines[3]
    assert lines[3].split()[-2:] == ["33", f"{3 * 16 * 2 * 5:,}"]
    assert lines[-1] == "total: 33 parameters (33 trainable), 480 MACs per input item"
