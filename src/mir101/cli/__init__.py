"""The ``mir101`` command line: data, model, train, evaluate, predict, quickstart.

Every mir101 error is printed as one readable line (one per problem for a store) and the
command exits with status 2; ``--debug`` shows the full traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from mir101 import __version__
from mir101.errors import Mir101Error, StoreValidationError

__all__ = ["main", "build_parser", "output_dir", "configure_logging"]

log = logging.getLogger("mir101")

EXIT_ERROR = 2


# --------------------------------------------------------------------------- parser
#: command modules, in the order they appear in ``mir101 --help``; each has ``register(groups)``
COMMAND_MODULES = ("data", "corpora", "model", "run", "quickstart", "codec", "generate", "embed", "cover", "separate", "transcribe")


def add_command(
    sub: argparse._SubParsersAction, name: str, fn: Callable[[argparse.Namespace], int], help: str
) -> argparse.ArgumentParser:
    """Add a sub-command whose handler ``fn(args) -> exit status``."""
    p = sub.add_parser(name, help=help, description=help)
    p.set_defaults(func=fn)
    return p


def output_dir(path: str | os.PathLike, option: str) -> Path:
    """Create the output folder ``path`` (given with ``option``, e.g. ``--out``) before any work is
    done, so that an unwritable place fails at once with one line, not after a long computation.

    Raises:
        ParameterError: naming the option, the path and why it cannot be written.
    """
    from mir101.errors import ParameterError

    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"{option} {out}: is a file, not a folder; give a folder to write into")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".mir101-write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as err:
        raise ParameterError(
            f"{option} {out}: cannot write there ({err.strerror or err}); give a writable folder"
        ) from err
    return out


#: the one handler :func:`configure_logging` installs (replaced on each call, never another's)
_HANDLER: logging.Handler | None = None


def configure_logging(verbose: int) -> None:
    """mir101's INFO messages by default; ``-vv`` its DEBUG messages; ``-vvv`` every library's.

    Other libraries (numba, matplotlib, h5py...) stay at WARNING below ``-vvv``: their debug
    output is hundreds of lines that say nothing about the run. The handler goes to the current
    ``sys.stderr``; handlers installed by others (pytest's caplog, a notebook's) are left alone.
    """
    global _HANDLER
    root = logging.getLogger()
    if _HANDLER is not None:
        root.removeHandler(_HANDLER)
    _HANDLER = logging.StreamHandler(sys.stderr)
    _HANDLER.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(_HANDLER)
    root.setLevel(logging.DEBUG if verbose >= 3 else logging.WARNING)
    logging.getLogger("mir101").setLevel(logging.DEBUG if verbose >= 2 else logging.INFO)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mir101",
        description="Deep Learning 101 for audio-based MIR: data, models, training, evaluation.",
    )
    parser.add_argument("--version", action="version", version=f"mir101 {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more logging: -v Lightning's messages too, -vv mir101's debug messages, -vvv every library's",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    data = sub.add_parser("data", help="build, inspect and validate data stores")
    groups = {"root": sub, "data": data.add_subparsers(dest="data_command", metavar="ACTION")}
    for name in COMMAND_MODULES:
        importlib.import_module(f"mir101.cli.{name}").register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else EXIT_ERROR
    try:
        return int(args.func(args) or 0)
    except Mir101Error as err:
        if args.debug:
            raise
        if isinstance(err, StoreValidationError):
            for p in err.problems:
                print(f"error: {p}", file=sys.stderr)
        else:
            print(f"error: {str(err).splitlines()[0] if str(err) else type(err).__name__}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as err:
        # a path the user gave cannot be read or written (missing, a file where a folder is
        # expected, no permission, disk full): one line, as for a mir101 error
        if args.debug:
            raise
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt as err:
        # a training names its run folder: "interrupted; resume with mir101 train --resume RUN"
        hint = getattr(err, "hint", None)
        print(f"interrupted; {hint}" if hint else "interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
