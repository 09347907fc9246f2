"""``python -m nst_core CONTENT STYLE [STYLE ...] -o OUT.png``: the command-line front-end.

``python -m nst_core compare CONTENT STYLE --vary optimizer --values lbfgs adam gd -o sheet.png``
runs the same picture under several settings and writes a comparison sheet.

``python -m nst_core video CLIP STYLE [STYLE ...] -o OUT.mp4`` paints a short clip, coherent from frame to frame.

The run options are derived from the fields of :class:`~nst_core.config.TransferConfig`
(name, type, default, help), with one small map of renames: a new parameter is
added to the config once and appears here.
Exit status: 0 on success, 2 on bad arguments or bad input (``error: ...``
on stderr, no traceback), 130 when interrupted.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import TextIO

from ..errors import NSTError
from .commands import _batch, _compare, _paint, _video
from .parsers import (
    DIMENSIONS,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    NOT_OPTIONS,
    build_batch_parser,
    build_compare_parser,
    build_parser,
    build_video_parser,
    config_from_args,
    options_table,
)

__all__ = ["DIMENSIONS", "EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "NOT_OPTIONS", "build_parser",
           "config_from_args", "main", "options_table", "run"]  # fmt: skip


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the CLI; returns the exit status instead of exiting."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = arguments[0] if arguments and arguments[0] in ("compare", "video", "batch") else "paint"
    parsers = {"compare": build_compare_parser, "video": build_video_parser, "batch": build_batch_parser,
               "paint": build_parser}  # fmt: skip
    runs = {"compare": _compare, "video": _video, "batch": _batch, "paint": _paint}
    try:
        args = parsers[command]().parse_args(arguments if command == "paint" else arguments[1:])
    except SystemExit as stop:  # argparse exits on --help, --version and usage errors
        return int(stop.code or 0)
    try:
        with _interruptible() as cancel:
            records = runs[command](args, err, cancel)
    except NSTError as error:
        print(f"error: {error}", file=err)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=err)
        return EXIT_INTERRUPTED
    if args.json:
        for record in records:
            print(json.dumps(record), file=out)
    if cancel.is_set():
        print("interrupted: what was painted before Ctrl-C is written above", file=err)
        return EXIT_INTERRUPTED
    return EXIT_ERROR if any(record.get("error") for record in records) else EXIT_OK


def run() -> None:
    """The ``nst`` command (installed with the package): :func:`main` with the process's arguments."""
    sys.exit(main())


@contextlib.contextmanager
def _interruptible() -> Iterator[threading.Event]:
    """Ctrl-C sets the event (the run ends after its step and keeps its best so far); a second Ctrl-C ends at
    once (KeyboardInterrupt). Outside the main thread (a test calling ``main``) Ctrl-C is left alone."""
    cancel = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    def first(*_: object) -> None:
        cancel.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)
