"""The ``fser`` command: data, features, train, evaluate, predict.

Each sub-command lives in :mod:`fser_utils.commands` as a module with a
``register(subparsers)`` function; this file only wires them together and turns
:class:`~fser_utils.errors.FserError` into a one-line message.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading

from fser_utils.errors import FserError

__all__ = ["main", "build_parser"]

COMMANDS = ("data", "features", "train", "evaluate", "predict", "export", "leak")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every sub-command, or of ``only`` (what ``fser COMMAND`` needs: a
    sub-command's options can import heavy modules, and scoring must start fast)."""
    parser = argparse.ArgumentParser(
        prog="fser", description="Speech emotion recognition after the FSER paper.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS if only not in COMMANDS else (only,):
        try:
            module = importlib.import_module(f"fser_utils.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"fser_utils.commands.{name}":
                raise
            continue
        module.register(sub)
    return parser


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised as Ctrl-C is: the same clean-up runs (checkpoints kept, worker
    processes ended, temporaries removed)."""


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """While a command runs, SIGTERM raises :class:`_Terminated` in the main thread.

    Left to its default, SIGTERM ends the process at once: no ``finally`` runs, so
    feature extraction's worker processes outlive it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise _Terminated

    old = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if old is None else old)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=argv[0] if argv else None)
    args = parser.parse_args(argv)
    try:
        with _sigterm_as_interrupt():
            status = args.func(args)
    except FserError as exc:
        print(f"fser: error: {exc}", file=sys.stderr)
        return 2
    except _Terminated:
        print("fser: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("fser: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
