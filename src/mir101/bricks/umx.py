"""A recurrent separator in the Open-Unmix style: a BLSTM over spectrogram frames predicts masks.

Paper: Stöter, Uhlich, Liutkus & Mitsufuji, "Open-Unmix - A Reference Implementation for Music
Source Separation", JOSS 2019, https://doi.org/10.21105/joss.01667 (after Uhlich et al.,
"Improving music source separation based on deep neural networks through data augmentation and
network blending", ICASSP 2017)

Each frame's spectrum (all channels and bins at once) is projected to a small hidden size,
a 3-layer bidirectional LSTM reads the sequence of frames in both directions, its output is
concatenated with its input (a skip connection) and two linear layers map it back to one mask
value per bin and source. Where a U-Net sees a local patch of the time-frequency plane, the BLSTM
sees whole spectra and the whole excerpt in time. (The ``openunmix`` package's own class needs
torchaudio, which this project does not install; this brick is written from the paper.)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mir101.bricks._base import Brick, check_ndim
from mir101.errors import ParameterError

__all__ = ["OpenUnmix"]


class OpenUnmix(Brick):
    """Frame projection + BLSTM + skip + two linear layers: ``(batch, C, F, T) -> (batch, K, F, T)``.

    Args:
        in_channels: input channels ``C`` (1 magnitude, 2 real / imaginary).
        n_bins: frequency bins ``F`` of the input (the projection reads whole frames).
        out_channels: output maps ``K`` (one mask per source, two per source for a complex mask).
        hidden_size: width of the projection and of the LSTM's output (``hidden_size // 2`` per
            direction).
        num_layers: stacked BLSTM layers.

    Shape:
        - input: ``(batch, in_channels, n_bins, time)``
        - output: ``(batch, out_channels, n_bins, time)`` (linear: the caller applies the mask's
          activation)

    Examples:
        >>> net = OpenUnmix(in_channels=1, n_bins=32, out_channels=4, hidden_size=16)
        >>> net(torch.randn(2, 1, 32, 10)).shape
        torch.Size([2, 4, 32, 10])

    References:
        Stöter et al., "Open-Unmix", JOSS 2019, https://doi.org/10.21105/joss.01667
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        n_bins: int = 256,
        out_channels: int = 4,
        hidden_size: int = 128,
        num_layers: int = 3,
    ):
        super().__init__()
        if hidden_size % 2:
            raise ParameterError(f"hidden_size={hidden_size} must be even (half per direction)")
        self.n_bins, self.out_channels = n_bins, out_channels
        self.project = nn.Sequential(
            nn.Linear(in_channels * n_bins, hidden_size, bias=False), nn.BatchNorm1d(hidden_size), nn.Tanh()
        )
        self.lstm = nn.LSTM(
            hidden_size, hidden_size // 2, num_layers=num_layers, bidirectional=True, batch_first=True
        )
        self.fc1 = nn.Sequential(
            nn.Linear(2 * hidden_size, hidden_size, bias=False), nn.BatchNorm1d(hidden_size), nn.ReLU()
        )
        self.fc2 = nn.Linear(hidden_size, out_channels * n_bins)

    def forward(self, x: Tensor) -> Tensor:
        check_ndim(x, 4, "(batch, channels, freq, time)", "OpenUnmix")
        b, c, f, t = x.shape
        if f != self.n_bins:
            raise ParameterError(f"OpenUnmix(n_bins={self.n_bins}) got {f} bins (input {tuple(x.shape)})")
        frames = x.permute(0, 3, 1, 2).reshape(b * t, c * f)  # one row per frame
        h = self.project(frames).reshape(b, t, -1)
        out, _ = self.lstm(h)
        h = torch.cat([h, out], dim=-1).reshape(b * t, -1)  # skip connection around the BLSTM
        y = self.fc2(self.fc1(h))  # (b * t, K * F)
        return y.reshape(b, t, self.out_channels, f).permute(0, 2, 3, 1)
