"""The names a YAML layer list may use: every brick and the common torch layers, with what the factory infers.

Each name maps to a :class:`LayerSpec`: the class to build, the keyword arguments the factory
reads from the incoming tensor's shape (``in_channels`` from axis 1, ``in_features`` from the
last axis...), and the input layout the layer expects, used in error messages.

Book: "Models from YAML".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from torch import nn

import mir101.bricks as B
from mir101.bricks.bottleneck import AutoEncoderBottleneck
from mir101.bricks.conditioned_unet import ConditionedUNet
from mir101.bricks.discriminator import MultiScaleSTFTDiscriminator, STFTDiscriminator
from mir101.bricks.rvq import ResidualVectorQuantizer
from mir101.bricks.seanet import SLSTM, SEANetDecoderBlock, SEANetEncoderBlock, SEANetResidualUnit
from mir101.bricks.umx import OpenUnmix
from mir101.bricks.vae import VAEBottleneck
from mir101.bricks.vocos import ConvNeXt1d, ISTFTHead, STFTAnalysis
from mir101.bricks.vq import VectorQuantizer
from mir101.utils.registry import Registry

__all__ = ["LayerSpec", "LAYERS", "layer_names", "SKIP_OPS", "IMAGE", "SIGNAL", "SEQUENCE", "FEATURES", "ANY"]

#: input layouts, in words, for error messages
IMAGE = "(batch, channels, freq, time)"
SIGNAL = "(batch, channels, time)"
SEQUENCE = "(batch, time, features)"
ANY = "(batch, ...)"
FEATURES = "(batch, ..., features)"

#: the special items of a layer list: keep a tensor, concatenate it on channels, or add it
SKIP_OPS = ("store", "concat", "add")

#: how to read an inferred argument from the input shape (batch included): an axis, or a function
Infer = int | Callable[[tuple[int, ...], Mapping[str, Any]], Any]


@dataclass(frozen=True)
class LayerSpec:
    """How the factory builds the layers of one name.

    Args:
        factory: the class (or function) called with the layer's keyword arguments.
        infer: argument name -> the axis of the input shape it equals (``1`` for channels,
            ``-1`` for features), or a function ``(shape, kwargs) -> value``.
        layout: the expected input, in words (``"(batch, channels, time)"``).
        ndim: the accepted numbers of input axes, batch included (``None``: any).
        condition: the argument filled from the last axis of a conditioning tensor named by
            the layer's ``condition:`` entry (FiLM's ``cond_dim``), or ``None``.
    """

    factory: Callable[..., nn.Module]
    infer: Mapping[str, Infer] = field(default_factory=dict)
    layout: str = ANY
    ndim: tuple[int, ...] | None = None
    condition: str | None = None


LAYERS: Registry[LayerSpec] = Registry("layer")


def _add(names: str | tuple[str, ...], factory: Callable[..., nn.Module], **spec: Any) -> None:
    for name in (names,) if isinstance(names, str) else names:
        LAYERS.add(name, LayerSpec(factory, **spec))


def _channels(**extra: Any) -> dict[str, Any]:
    return {"infer": {"in_channels": 1}, **extra}


# ---------------------------------------------------------------- torch layers
_add("conv1d", nn.Conv1d, **_channels(layout=SIGNAL, ndim=(3,)))
_add("conv2d", nn.Conv2d, **_channels(layout=IMAGE, ndim=(4,)))
_add("convtranspose1d", nn.ConvTranspose1d, **_channels(layout=SIGNAL, ndim=(3,)))
_add("convtranspose2d", nn.ConvTranspose2d, **_channels(layout=IMAGE, ndim=(4,)))
_add(
    "batchnorm1d",
    nn.BatchNorm1d,
    infer={"num_features": 1},
    layout="(batch, features) or " + SIGNAL,
    ndim=(2, 3),
)
_add("batchnorm2d", nn.BatchNorm2d, infer={"num_features": 1}, layout=IMAGE, ndim=(4,))
_add(
    "instancenorm2d",
    partial(nn.InstanceNorm2d, affine=True),
    infer={"num_features": 1},
    layout=IMAGE,
    ndim=(4,),
)
# torch's nn.GroupNorm, built by a function that checks num_groups divides num_channels (torch's own
# message names neither) and defaults num_groups to the largest divisor of the channels <= 8
_add("groupnorm", B.group_norm, infer={"num_channels": 1}, layout="(batch, channels, ...)")
_add("layernorm", nn.LayerNorm, infer={"normalized_shape": -1}, layout=FEATURES)
_add("linear", nn.Linear, infer={"in_features": -1}, layout=FEATURES)
_add("dropout", nn.Dropout)
_add("dropout1d", nn.Dropout1d, layout=SIGNAL, ndim=(3,))
_add("dropout2d", nn.Dropout2d, layout=IMAGE, ndim=(4,))
for _name in B.ACTIVATIONS:
    _add(_name, B.ACTIVATIONS.get(_name))
_add("softmax", partial(nn.Softmax, dim=1))
_add("logsoftmax", partial(nn.LogSoftmax, dim=1))
_add("maxpool1d", nn.MaxPool1d, layout=SIGNAL, ndim=(3,))
_add("maxpool2d", nn.MaxPool2d, layout=IMAGE, ndim=(4,))
_add("avgpool1d", nn.AvgPool1d, layout=SIGNAL, ndim=(3,))
_add("avgpool2d", nn.AvgPool2d, layout=IMAGE, ndim=(4,))
_add("adaptivemaxpool1d", nn.AdaptiveMaxPool1d, layout=SIGNAL, ndim=(3,))
_add("adaptivemaxpool2d", nn.AdaptiveMaxPool2d, layout=IMAGE, ndim=(4,))
_add("adaptiveavgpool1d", nn.AdaptiveAvgPool1d, layout=SIGNAL, ndim=(3,))
_add("adaptiveavgpool2d", nn.AdaptiveAvgPool2d, layout=IMAGE, ndim=(4,))
_add("circularpad1d", nn.CircularPad1d, layout=SIGNAL, ndim=(3,))
_add("circularpad2d", nn.CircularPad2d, layout=IMAGE, ndim=(4,))
_add("zeropad1d", nn.ZeroPad1d, layout=SIGNAL, ndim=(3,))
_add("zeropad2d", nn.ZeroPad2d, layout=IMAGE, ndim=(4,))
_add("upsample", nn.Upsample, layout="(batch, channels, [freq,] time)", ndim=(3, 4))
_add("embedding", nn.Embedding, layout="(batch, time) token indices", ndim=(2,))

# ---------------------------------------------------------------- bricks: shapes
_add("squeeze", B.Squeeze)
_add("unsqueeze", B.Unsqueeze)
_add("permute", B.Permute)
_add("transpose", B.Transpose)
_add("flatten", B.Flatten)
_add("reshape", B.Reshape)
_add("repeatchannels", B.RepeatChannels, layout="(batch, channels, ...)")
_add("abs", B.Abs)

# ---------------------------------------------------------------- bricks: front-ends
_add("waveformconv", B.WaveformConv, **_channels(layout=SIGNAL, ndim=(3,)))
_add("samplecnn", B.SampleCNN, **_channels(layout=SIGNAL, ndim=(3,)))
_add("causalconv1d", B.CausalConv1d, **_channels(layout=SIGNAL, ndim=(3,)))
_add("wavenet", B.WaveNet, **_channels(layout=SIGNAL, ndim=(3,)))
_add("temporalblock", B.TemporalBlock, **_channels(layout=SIGNAL, ndim=(3,)))
_add("tcn", B.TCN, **_channels(layout=SIGNAL, ndim=(3,)))
_add(("sincconv", "sincnet"), B.SincConv, **_channels(layout="(batch, 1, samples)", ndim=(3,)))

# ---------------------------------------------------------------- bricks: projections
_add("convblock2d", B.ConvBlock2d, **_channels(layout=IMAGE, ndim=(4,)))
_add(
    ("depthwiseseparableconv2d", "dsconv2d"), B.DepthwiseSeparableConv2d, **_channels(layout=IMAGE, ndim=(4,))
)
_add(("residualblock", "resblock"), B.ResidualBlock, **_channels(layout=IMAGE, ndim=(4,)))
_add("bottleneckblock", B.BottleneckBlock, **_channels(layout=IMAGE, ndim=(4,)))
_add("convnextblock", B.ConvNeXtBlock, infer={"channels": 1}, layout=IMAGE, ndim=(4,))
_add("droppath", B.DropPath)
_add("channelnorm", B.ChannelNorm, infer={"num_channels": 1}, layout="(batch, channels, ...)")
_add("mlp", B.MLP, infer={"in_features": -1}, layout=FEATURES)
for _cell in ("lstm", "gru", "rnn"):
    _add(_cell, partial(B.Recurrent, cell=_cell), infer={"input_size": -1}, layout=SEQUENCE, ndim=(3,))
_add("recurrent", B.Recurrent, infer={"input_size": -1}, layout=SEQUENCE, ndim=(3,))
_add("multiheadattention", B.MultiHeadAttention, infer={"d_model": -1}, layout=SEQUENCE, ndim=(3,))
_add("transformerblock", B.TransformerBlock, infer={"d_model": -1}, layout=SEQUENCE, ndim=(3,))
_add("transformerencoder", B.TransformerEncoder, infer={"d_model": -1}, layout=SEQUENCE, ndim=(3,))
# the decoder may take token indices (batch, time): d_model cannot be read from them
_add("transformerdecoder", B.TransformerDecoder, layout=SEQUENCE + " or (batch, time) tokens", ndim=(2, 3))
_add("sinusoidalpositions", B.SinusoidalPositions, infer={"d_model": -1}, layout=SEQUENCE, ndim=(3,))
_add("learnedpositions", B.LearnedPositions, infer={"d_model": -1}, layout=SEQUENCE, ndim=(3,))

# ---------------------------------------------------------------- bricks: pooling
_add(("globalmeanpool", "mean"), B.GlobalMeanPool, layout="(batch, channels, ..., time)")
_add(("globalmaxpool", "max"), B.GlobalMaxPool, layout="(batch, channels, ..., time)")
_add(
    "attentionpool",
    B.AttentionPool,
    infer={"channels": 1},
    layout="(batch, channels, [freq,] time)",
    ndim=(3, 4),
)
_add("autopool", B.AutoPool, layout="(batch, channels, ..., time)")
_add("splitattentionpool", B.SplitAttentionPool, layout="(batch, 2 * channels, [freq,] time)", ndim=(3, 4))
_add(
    ("timedistributedbatchnorm", "batchnorm1dt"),
    B.TimeDistributedBatchNorm,
    infer={"num_features": -1},
    layout=SEQUENCE,
    ndim=(3,),
)

# ---------------------------------------------------------------- bricks: architectures
_add("unet", B.UNet, **_channels(layout=IMAGE, ndim=(4,)))
_add(
    "film",
    B.FiLM,
    infer={"num_features": lambda shape, kwargs: shape[kwargs.get("dim", 1)]},
    layout="(batch, channels, ...) and a condition (batch, cond_dim)",
    condition="cond_dim",
)
# source separation (book/separation.md): one FiLM-conditioned U-Net for every source; a BLSTM peer
_add(("conditionedunet", "cunet"), ConditionedUNet, **_channels(layout=IMAGE, ndim=(4,)))
_add(("openunmix", "umx"), OpenUnmix, infer={"in_channels": 1, "n_bins": 2}, layout=IMAGE, ndim=(4,))


# ---------------------------------------------------------------- bricks: bottlenecks and codecs
# (imported from their modules: the bottlenecks, SEANet blocks and discriminator of the codec chapter)
_add(("ae", "autoencoderbottleneck"), AutoEncoderBottleneck, **_channels(layout="(batch, channels, ...)"))
_add(("vae", "vaebottleneck"), VAEBottleneck, **_channels(layout="(batch, channels, ...)"))
_add(("vq", "vectorquantizer"), VectorQuantizer, **_channels(layout="(batch, channels, ...)"))
_add(("rvq", "residualvectorquantizer"), ResidualVectorQuantizer, **_channels(layout="(batch, channels, ...)"))
_add("seanetresidualunit", SEANetResidualUnit, infer={"channels": 1}, layout=SIGNAL, ndim=(3,))
_add("seanetencoderblock", SEANetEncoderBlock, **_channels(layout=SIGNAL, ndim=(3,)))
_add("seanetdecoderblock", SEANetDecoderBlock, **_channels(layout=SIGNAL, ndim=(3,)))
_add("slstm", SLSTM, infer={"channels": 1}, layout=SIGNAL, ndim=(3,))
_add("stftanalysis", STFTAnalysis, layout="(batch, 1, samples)", ndim=(3,))
_add("convnext1d", ConvNeXt1d, infer={"channels": 1}, layout=SIGNAL, ndim=(3,))
_add("istfthead", ISTFTHead, **_channels(layout=SIGNAL, ndim=(3,)))
_add("stftdiscriminator", STFTDiscriminator, layout="(batch, 1, samples)", ndim=(2, 3))
_add("multiscalestftdiscriminator", MultiScaleSTFTDiscriminator, layout="(batch, 1, samples)", ndim=(2, 3))


def layer_names() -> list[str]:
    """Every name a layer list may use (lower case; names are case-insensitive), plus the skip items."""
    return LAYERS.names() + list(SKIP_OPS)
