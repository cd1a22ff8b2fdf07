"""The tutorial's bricks as plain ``nn.Module``: front-ends, projections, pooling, architectures, shape helpers.

Each brick takes keyword arguments, documents its input and output shapes with named axes
(``(batch, channels, freq, time)``, ``(batch, time, features)``), cites its paper, and returns
its constructor arguments with ``get_config()``. The model factory (:mod:`mir101.models`)
exposes every brick by a lower-case name in YAML layer lists. String arguments (``norm``,
``positions``, ``activation``, ``cell``, ``upsample``) are names in one
:class:`~mir101.utils.registry.Registry` each, so an unknown one always raises
:class:`~mir101.errors.UnknownNameError` listing the valid names.

Book: "Bricks" chapter (front-ends, projections, pooling, architectures).
"""

from mir101.bricks._base import ACTIVATIONS, Brick, check_ndim, make_activation
from mir101.bricks.causal import CausalConv1d
from mir101.bricks.conv import ConvBlock2d, DepthwiseSeparableConv2d
from mir101.bricks.film import FiLM
from mir101.bricks.frontends import SampleCNN, WaveformConv, WaveNet
from mir101.bricks.mlp import MLP
from mir101.bricks.norms import NORMS, ChannelNorm, TimeDistributedBatchNorm, group_norm, make_norm
from mir101.bricks.pooling import AttentionPool, AutoPool, GlobalMaxPool, GlobalMeanPool, SplitAttentionPool
from mir101.bricks.positions import (
    POSITIONS,
    LearnedPositions,
    RotaryEmbedding,
    SinusoidalPositions,
    make_positions,
)
from mir101.bricks.recurrent import CELLS, Recurrent
from mir101.bricks.residual import BottleneckBlock, ConvNeXtBlock, DropPath, ResidualBlock
from mir101.bricks.shape import Abs, Flatten, Permute, RepeatChannels, Reshape, Squeeze, Transpose, Unsqueeze
from mir101.bricks.sincnet import SincConv
from mir101.bricks.tcn import TCN, TemporalBlock
from mir101.bricks.transformer import (
    KVCache,
    LayerKV,
    MultiHeadAttention,
    TransformerBlock,
    TransformerDecoder,
    TransformerEncoder,
)
from mir101.bricks.unet import UPSAMPLING, UNet

__all__ = [
    # base
    "Brick",
    "ACTIVATIONS",
    "make_activation",
    "check_ndim",
    # string choices, each a Registry (one error message for an unknown name)
    "NORMS",
    "make_norm",
    "POSITIONS",
    "make_positions",
    "CELLS",
    "UPSAMPLING",
    # normalisations
    "ChannelNorm",
    "TimeDistributedBatchNorm",
    "group_norm",
    # front-ends
    "WaveformConv",
    "SampleCNN",
    "CausalConv1d",
    "WaveNet",
    "TemporalBlock",
    "TCN",
    "SincConv",
    # projections
    "ConvBlock2d",
    "DepthwiseSeparableConv2d",
    "MLP",
    "ResidualBlock",
    "BottleneckBlock",
    "ConvNeXtBlock",
    "DropPath",
    "Recurrent",
    "MultiHeadAttention",
    "TransformerBlock",
    "TransformerEncoder",
    "TransformerDecoder",
    "KVCache",
    "LayerKV",
    "SinusoidalPositions",
    "LearnedPositions",
    "RotaryEmbedding",
    # pooling
    "GlobalMeanPool",
    "GlobalMaxPool",
    "AttentionPool",
    "AutoPool",
    "SplitAttentionPool",
    # architectures
    "UNet",
    "FiLM",
    # shape helpers
    "Squeeze",
    "Unsqueeze",
    "Permute",
    "Transpose",
    "Flatten",
    "Reshape",
    "RepeatChannels",
    "Abs",
]
