"""``mir101 model show|layers``: print a network built from YAML, or the layer names a YAML may use."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mir101.errors import ConfigError

__all__ = ["register", "resolve_model_path", "model_and_input_shape"]

MODELS_DIR = Path("configs") / "models"
#: the repository's configs/models, found from this file (an editable install run from elsewhere)
_REPO_MODELS = next(
    (p / "configs" / "models" for p in Path(__file__).resolve().parents if (p / "configs" / "models").is_dir()),
    None,
)


def resolve_model_path(config: str) -> Path:
    """``CONFIG`` as given, or ``configs/models/CONFIG[.yaml]`` (so ``mir101 model show deep_salience_small`` works)."""
    candidates = [Path(config), MODELS_DIR / config, MODELS_DIR / f"{config}.yaml"]
    if _REPO_MODELS is not None:
        candidates += [_REPO_MODELS / config, _REPO_MODELS / f"{config}.yaml"]
    for path in candidates:
        if path.is_file():
            return path
    folders = [d for d in (MODELS_DIR, _REPO_MODELS) if d is not None and d.is_dir()]
    available = sorted({p.stem for d in folders for p in d.glob("*.yaml")})
    looked = ", ".join(str(d) for d in [Path("."), MODELS_DIR, *([_REPO_MODELS] if _REPO_MODELS else [])])
    raise ConfigError(f"model config not found: '{config}' (looked in {looked}); models: {available}")


def _experiment_input_shape(cfg: Any) -> tuple[int, ...]:
    """One training patch's shape, batch excluded, from the experiment's input and ``data.patch_frames``."""
    from mir101.config import to_container

    try:
        from mir101.inputs import build_input
    except ImportError as err:  # pragma: no cover - inputs are part of the package
        raise ConfigError(f"cannot build the input module ({err}); pass --input-shape C F T") from err
    if not cfg.input:
        raise ConfigError("the experiment has no 'input' section: pass --input-shape C F T")
    module = build_input(to_container(cfg.input))
    frames = int(cfg.data.patch_frames)
    shape = tuple(module.output_shape((frames - 1) * module.hop_length))
    return shape[:-1] + (frames,)  # frames of one patch, as the tasks cut them


def model_and_input_shape(
    config: str, input_shape: list[int] | None
) -> tuple[Path, dict[str, Any], tuple[int, ...]]:
    """Read ``config`` (a model YAML or an experiment YAML): its model mapping and the input shape to use."""
    from mir101.config import load_config, load_yaml, to_container
    from mir101.models import load_model_file

    path = resolve_model_path(config)
    raw = load_yaml(path)
    is_experiment = (
        isinstance(raw, Mapping)
        and not {"layers", "parts"} & set(raw)
        and ("model" in raw or "extends" in raw)
    )
    if is_experiment:
        cfg = load_config(path)
        model = to_container(cfg.model)
        if not isinstance(model, Mapping) or not {"layers", "parts"} & set(model):
            raise ConfigError(f"{path}: the experiment's 'model' section has no 'layers' list nor 'parts'")
        shape = tuple(input_shape) if input_shape else _experiment_input_shape(cfg)
    else:
        model = load_model_file(path)
        given = input_shape or model.get("input_shape")
        if not given:
            raise ConfigError(f"{path}: no 'input_shape' in the file; pass --input-shape C F T")
        shape = tuple(int(s) for s in given)
    return path, dict(model), shape


def _variables(pairs: list[str]) -> dict[str, Any]:
    import yaml

    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--var {pair!r} must look like NAME=VALUE (e.g. n_classes=50)")
        key, value = pair.split("=", 1)
        out[key.strip().lstrip("$")] = yaml.safe_load(value)
    return out


def _json_rows(rows: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "index": r.index,
            "name": r.name,
            "arguments": r.arguments,
            "output_shape": list(r.output_shape),
            "params": r.params,
            "macs": r.macs,
        }
        for r in rows
    ]


def _show(args: argparse.Namespace) -> int:
    from mir101.models import ModelParts, build_model, format_summary, summarize

    path, model_cfg, shape = model_and_input_shape(args.config, args.input_shape)
    model = build_model(model_cfg, shape, variables=_variables(args.var))
    rows = summarize(model)
    if args.json:
        out: dict[str, Any] = {
            "config": str(path),
            "input_shape": list(model.input_shape),
            "output_shape": list(model.output_shape),
            "params": sum(p.numel() for p in model.parameters()),
            "macs": sum(r.macs for r in rows),
        }
        if isinstance(model, ModelParts):  # one entry per part, with its own layer rows
            out["chain"] = list(model.chain)
            out["parts"] = [
                {
                    "name": name,
                    "input": model.sources[name],
                    "input_shape": list(part.input_shape),
                    "output_shape": list(part.output_shape),
                    "params": sum(p.numel() for p in part.parameters()),
                    "macs": sum(r.macs for r in rows if r.part == name),
                    "layers": _json_rows([r for r in rows if r.part == name]),
                }
                for name, part in model.parts.items()
            ]
        else:
            out["layers"] = _json_rows(rows)
        print(json.dumps(out, indent=1))
        return 0
    print(format_summary(model, rows, title=f"model: {path}"))
    return 0


def _layers(args: argparse.Namespace) -> int:
    from mir101.models import LAYERS, SKIP_OPS

    print("layer names (case-insensitive); arguments in [] are inferred from the input shape:")
    for name in LAYERS.names():
        spec = LAYERS.get(name)
        inferred = f" [{', '.join(spec.infer)}]" if spec.infer else ""
        print(f"  {name:<26} {spec.layout}{inferred}")
    print("skip items: " + ", ".join(f"{{{op}: NAME}}" for op in SKIP_OPS))
    return 0


def register(groups: dict[str, argparse._SubParsersAction]) -> None:
    from mir101.cli import add_command

    model = groups["root"].add_parser(
        "model", help="show networks built from YAML layer lists", description="show networks built from YAML"
    )
    model.set_defaults(func=lambda args: model.print_help() or 2)  # `mir101 model` alone: its own help
    sub = model.add_subparsers(dest="model_command", metavar="ACTION")
    p = add_command(
        sub, "show", _show, "each layer's output shape, parameters and MACs (part by part), and the totals"
    )
    p.add_argument(
        "config", help="a model YAML (configs/models/NAME.yaml, or just NAME) or an experiment YAML"
    )
    p.add_argument(
        "--input-shape",
        type=int,
        nargs="+",
        metavar="N",
        help="shape of one input item without the batch, e.g. 6 216 64 (default: from the config)",
    )
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="set a $NAME variable")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_command(sub, "layers", _layers, "the layer names a YAML layer list may use")
