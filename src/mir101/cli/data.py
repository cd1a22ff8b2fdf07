"""``mir101 data info|validate``: inspect and check a store."""

from __future__ import annotations

import argparse
import json

from mir101.errors import StoreValidationError

__all__ = ["register"]


def _info(args: argparse.Namespace) -> int:
    from mir101.data.store import Store

    with Store(args.store) as store:
        info = store.info()
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"store        {info['store']}")
    print(f"items        {info['items']}")
    print(f"duration     {info['duration_s'] / 60:.1f} min ({info['duration_s']:.1f} s)")
    print(f"sample rates {', '.join(f'{sr} Hz x{n}' for sr, n in sorted(info['sample_rates'].items()))}")
    print("annotations:")
    for name, c in sorted(info["annotations"].items()):
        print(f"  {name:<16} {c['kind']:<8} {c['items']:>6} items {c['annotations']:>9} annotations")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from mir101.data.store import Store

    with Store(args.store, validate=False) as store:
        problems = store.validate()
        n = len(store)
    if problems:
        raise StoreValidationError(problems)
    print(f"ok: {args.store} ({n} items) is a valid store")
    return 0


def register(groups: dict[str, argparse._SubParsersAction]) -> None:
    from mir101.cli import add_command

    p = add_command(groups["data"], "info", _info, "items, duration, sample rates and annotations of a store")
    p.add_argument("store", help="store prefix (DIR/name) or its .hdf5/.pyjama file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add_command(
        groups["data"], "validate", _validate, "check a store: one line per problem, non-zero exit if any"
    )
    p.add_argument("store", help="store prefix (DIR/name) or its .hdf5/.pyjama file")
