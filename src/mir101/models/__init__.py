"""Networks from YAML layer lists (one, or one per part): the factory, its registry of layer names, and model summaries.

Examples:
    >>> from mir101.models import build_model, format_summary
    >>> model = build_model("configs/models/deep_salience_small.yaml")  # doctest: +SKIP
    >>> print(format_summary(model))  # doctest: +SKIP

Book: "Models from YAML".
"""

from mir101.models.factory import (
    LayerModel,
    ModelOutput,
    Step,
    build_model,
    load_model_file,
    normalise_layers,
)
from mir101.models.init import init_output_prior
from mir101.models.parts import ModelParts, build_parts
from mir101.models.registry import LAYERS, SKIP_OPS, LayerSpec, layer_names
from mir101.models.summary import SummaryRow, count_macs, format_summary, receptive_field, summarize

__all__ = [
    "build_model",
    "init_output_prior",
    "LayerModel",
    "ModelParts",
    "ModelOutput",
    "build_parts",
    "Step",
    "load_model_file",
    "normalise_layers",
    "LAYERS",
    "LayerSpec",
    "SKIP_OPS",
    "layer_names",
    "summarize",
    "format_summary",
    "SummaryRow",
    "count_macs",
    "receptive_field",
]
