"""The ``svcflow`` command: validate, graph, decide, schema, simulate, demo, report, plugins,
timers.

This package is the only code that prints. Exit codes: 0 success, 1 invalid input or a failed
expectation, 2 wrong usage (argparse). Output cut short by its reader (``svcflow validate
workflows/ | head -1``) is not an error: the command stops quietly with 0, as ``cat`` would
with ``head`` in a shell without ``pipefail``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from svcflow.cli.parser import build_parser
from svcflow.errors import SvcflowError

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = _run(args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        _discard_stdout()
        return 0
    except SvcflowError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command in ("validate", "simulate"):  # workflows may use plugin extensions
        from svcflow.engine import build_plugin_host
        from svcflow.spec.extensions import using_extensions

        with using_extensions(build_plugin_host().extensions()):
            return int(args.run(args))
    return int(args.run(args))


def _discard_stdout() -> None:
    """Point standard output at the null device, so the interpreter's final flush of what is
    still buffered for the closed pipe does not raise again on the way out."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
