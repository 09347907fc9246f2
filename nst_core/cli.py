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

import argparse
import contextlib
import dataclasses
import json
import signal
import sys
import tempfile
import threading
import typing
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, TextIO

from PIL import Image

from .config import DEFAULT_SIZE, INITS, TransferConfig, default_steps, field_help
from .errors import ImageError, NSTError
from .images import load_image, save_png, timelapse_gif
from .media import GIF_MAX_SECONDS, VideoLimits
from .reports import Progress, TransferResult
from .version import __version__

# The optimisation (and with it torch, 2-3 s to import) is imported only by runs that optimise:
# ``--init fast --steps 0`` paints with the instant network alone and finishes in about a second.
DIMENSIONS = ("method", "optimizer", "backbone", "style_weight")  # nst_core.compare.DIMENSIONS, held equal by a test

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

RENAMED = {"color": "preserve-colors"}  # option names that differ from the field's
NOT_OPTIONS = frozenset({"content_layer", "style_layers", "style_layer_weights", "preview_every"})  # library only
# Where the CLI accepts more than the field:
HELP = {"init": "content (the photo), fast (the instant painting), noise, or the path of a starting image"}
METAVARS = {"style_blend": "W"}


def build_parser() -> argparse.ArgumentParser:
    parser = _new_parser(
        "python -m nst_core",
        "Paint a photo in the manner of one or more paintings (Gatys et al., 2016). "
        "'python -m nst_core compare --help' and 'python -m nst_core video --help' show the other modes.",
        "where to write the PNG (recipe embedded)",
    )
    parser.add_argument("--timelapse", default=None, metavar="GIF", help="also write an animated GIF of the run")
    parser.add_argument("--masks", nargs="+", default=None, metavar="MASK",
                        help="paint by region: one mask per painting, in their order (white where that painting "
                        "applies, grey for a soft edge; any size); the photo is kept where none applies")  # fmt: skip
    _add_run_options(parser)
    return parser


def build_compare_parser() -> argparse.ArgumentParser:
    parser = _new_parser(
        "python -m nst_core compare",
        "Run the same picture under several optimisers, backbones or style strengths, "
        "and write one comparison sheet (images, loss curves against step and seconds, recipes).",
        "where to write the sheet (PNG, recipes embedded)",
    )
    parser.add_argument("--vary", choices=DIMENSIONS, required=True, help="what changes between the runs")
    parser.add_argument("--values", nargs="+", required=True, help="one run per value (2 to 6)")
    _add_run_options(parser)
    return parser


VIDEO_OPTIONS = frozenset({"size", "steps", "init", "style_blend", "strength", "color", "style_weight",
                           "content_weight", "optimizer", "device", "precision", "max_seconds"})  # fmt: skip
VIDEO_DEFAULTS = {"size": DEFAULT_SIZE, "steps": 0, "init": "fast"}
VIDEO_HELP = {"max_seconds": "begin no frame after this many seconds; the frames painted so far make the video"}


def build_video_parser() -> argparse.ArgumentParser:
    from .video import COHERENCES

    parser = argparse.ArgumentParser(
        prog="python -m nst_core video",
        description="Paint a short clip, coherent from frame to frame: with --steps 0 the instant network paints "
        "each frame, tied to the previous one by optical flow; with --steps N each frame is refined by N "
        "optimisation steps from the previous painted frame, with a temporal loss (Ruder et al. 2016).",
        formatter_class=_HelpFormatter,
    )
    _inputs_and_output(parser, "the clip (MP4, WebM, MOV or animated GIF)",
                       f"the MP4 to write; clips up to {GIF_MAX_SECONDS:g} s also get a GIF")  # fmt: skip
    _add_run_options(parser, VIDEO_OPTIONS, VIDEO_DEFAULTS, VIDEO_HELP)
    coherence = "flow: tie each frame to the previous by optical flow; none: each frame on its own; blend: an "
    coherence += "exponential blend of consecutive frames (the last two are baselines, for comparison)"
    parser.add_argument("--coherence", choices=COHERENCES, default="flow", help=coherence)
    parser.add_argument("--no-gif", dest="gif", action="store_false", help="do not write the GIF")
    parser.add_argument("--every", type=_every, default=1, metavar="N",
                        help="paint 1 frame in N, at the clip's rate divided by N (the sound whole); a clip of "
                        f"more than {VideoLimits().max_frames} frames is thinned at least so far")  # fmt: skip
    return parser


def _every(text: str) -> int:
    """``--every``: a whole number of 1 or more."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of 1 or more (1: every frame), not {text!r}")
    return int(text)


def build_batch_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m nst_core batch",
        description="Paint every photo of a folder with the same paintings and settings: one PNG each (recipe "
        "embedded), a picture already painted with the same recipe is skipped (an interrupted batch resumes), and a "
        "file that cannot be painted is named and passed over (exit status 2 at the end).",
        formatter_class=_HelpFormatter,
    )
    _inputs_and_output(parser, "the folder of photos (PNG, JPEG, WebP, GIF or BMP)",
                       "the folder to write the PNGs to (made if missing)")  # fmt: skip
    parser.add_argument("--ray", metavar="ADDRESS", default=None,
                        help="spread the pictures over the workers of the running Ray cluster at ADDRESS (its head's "
                        "host:port; a CPU or a GPU a picture; needs ray, see requirements-cluster.txt)")  # fmt: skip
    _add_run_options(parser)
    return parser


def _inputs_and_output(parser: argparse.ArgumentParser, input_help: str, output_help: str) -> None:
    """A subcommand's input, its paintings and its output."""
    parser.add_argument("input", help=input_help)
    parser.add_argument("styles", nargs="+", metavar="style", help="one or more style images")
    parser.add_argument("-o", "--output", required=True, help=output_help)


def _new_parser(prog: str, description: str, output_help: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description, formatter_class=_HelpFormatter)
    parser.add_argument("content", help="the photo (PNG, JPEG, WebP, GIF or BMP)")
    parser.add_argument("styles", nargs="+", metavar="style", help="one or more style images")
    parser.add_argument("-o", "--output", required=True, help=output_help)
    return parser


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except for flags and options whose default is "none given"."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.nargs == 0 or action.default is None:
            return action.help
        return super()._get_help_string(action)


def option_fields() -> list[dataclasses.Field[Any]]:
    """The fields of :class:`TransferConfig` that are command-line options."""
    return [item for item in dataclasses.fields(TransferConfig) if item.name not in NOT_OPTIONS]


def _add_run_options(
    parser: argparse.ArgumentParser,
    only: frozenset[str] | None = None,
    defaults: dict[str, Any] | None = None,
    helps: dict[str, str] | None = None,
) -> None:
    """An option per config field (or per field in ``only``), defaults from the config unless ``defaults`` says,
    help from the config unless ``helps`` says."""
    types = typing.get_type_hints(TransferConfig)
    for item in option_fields():
        if only is not None and item.name not in only:
            continue
        name, kind, default = item.name, types[item.name], (defaults or {}).get(item.name, item.default)
        if name == "steps" and only is None:
            default = None  # by where the run starts (config.default_steps); its help says both
        flag = "--" + RENAMED.get(name, name).replace("_", "-")
        text = (helps or {}).get(name) or HELP.get(name, field_help(name))
        if kind is bool:
            if default:
                parser.add_argument(f"--no-{flag[2:]}", dest=name, action="store_false", help=f"do not {text}")
            else:
                parser.add_argument(flag, dest=name, action="store_true", help=text)
        elif typing.get_origin(kind) is tuple:
            element = typing.get_args(kind)[0]
            parser.add_argument(flag, dest=name, type=element, nargs="+", default=None, metavar=METAVARS.get(name),
                                help=text)  # fmt: skip
        elif typing.get_origin(kind) is Literal:
            choices = None if name in HELP else typing.get_args(kind)  # an open choice also takes a path
            parser.add_argument(flag, dest=name, choices=choices, default=default, help=text)
        else:
            scalar = next((t for t in typing.get_args(kind) if t is not type(None)), kind)  # float | None -> float
            parser.add_argument(flag, dest=name, type=scalar, default=default, help=text)
    parser.add_argument("--json", action="store_true", help="print one JSON line describing the result")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no closing line")
    parser.add_argument("--version", action="version", version=f"nst_core {__version__}")


def config_from_args(args: argparse.Namespace) -> TransferConfig:
    """The run's config; raises ConfigError for values out of bounds."""
    values = {item.name: getattr(args, item.name) for item in option_fields()}
    values["style_blend"] = tuple(values["style_blend"] or ())
    if values["init"] not in INITS:
        values["init"] = "image"  # a path: the starting image
    if values["steps"] is None:
        values["steps"] = default_steps(values["init"])
    values["preview_every"] = 5 if getattr(args, "timelapse", None) else 0
    return TransferConfig(**values)


def init_image_path(args: argparse.Namespace) -> str | None:
    """The starting image's path when ``--init`` names a file."""
    return None if args.init in INITS else str(args.init)


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


def _checked_output(path: str) -> Path:
    """The output's path, refused now (before any work) when it cannot be a file we write.

    Raises:
        NSTError: it names a folder, or its folder is missing or takes no new file.
    """
    output = Path(path)
    if output.is_dir():
        raise NSTError(f"{output} is a folder; give the file to write, for example {output / 'painting.png'}.")
    if not output.parent.is_dir():
        raise NSTError(f"The folder {output.parent} does not exist.")
    try:
        with tempfile.TemporaryFile(dir=output.parent):
            pass  # the folder takes a new file: said now, not after the run
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise NSTError(f"{output} could not be written ({reason.lower()}).") from None
    return output


def _write(output: Path, write: Callable[[Path], object]) -> None:
    """Write an output with ``write(path)``; a failure is one sentence.

    Raises:
        NSTError: the file could not be written (no permission, a read-only or full disk...).
    """
    try:
        write(output)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise NSTError(f"{output} could not be written ({reason.lower()}).") from None


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


def _input(kind: str, path: str) -> Image.Image:
    """An input image, read before any work starts; the error names which input is bad."""
    try:
        return load_image(path)
    except ImageError as error:
        raise ImageError(f"The {kind} {path}: {error}") from None


def _inputs(args: argparse.Namespace) -> tuple[Image.Image, list[Image.Image], Image.Image | None]:
    content = _input("photo", args.content)
    styles = [_input("style image", style) for style in args.styles]
    start = init_image_path(args)
    return content, styles, None if start is None else _input("starting image", start)


def _paint(args: argparse.Namespace, err: TextIO, cancel: threading.Event) -> list[dict[str, object]]:
    frames: list[Image.Image] = []
    config = config_from_args(args)
    output = _checked_output(args.output)
    timelapse = _checked_output(args.timelapse) if args.timelapse else None
    content, styles, start = _inputs(args)
    masks = None
    if args.masks:
        from .regions import load_masks

        masks = load_masks([_input("mask", path) for path in args.masks], len(styles))
    if config.init == "fast" and config.steps == 0:
        from .instant import paint_instant

        result = paint_instant(content, styles, config, masks=masks)
        frames.append(result.image)
    else:
        result = _run(args, config, err, frames.append, content, styles, start, cancel, masks)
    _write(output, lambda path: save_png(result.image, path, result.recipe))
    written = [str(output)]
    if timelapse is not None:
        _write(timelapse, lambda path: path.write_bytes(timelapse_gif(frames)))
        written.append(str(timelapse))
    if not args.quiet:
        print(f"wrote {' and '.join(written)} ({_summary(result)})", file=err)
    return [_record(result, output)]


def _compare(args: argparse.Namespace, err: TextIO, cancel: threading.Event) -> list[dict[str, object]]:
    from tqdm import tqdm

    from . import compare
    from .schedule import planned_steps
    from .sheet import comparison_sheet, sheet_png

    output = _checked_output(args.output)
    chosen = compare.variants(args.vary, args.values, config_from_args(args))
    content, styles, _ = _inputs(args)
    bar = tqdm(total=sum(planned_steps(v.config) for v in chosen), file=err, disable=args.quiet, unit="step")
    try:
        results = compare.run(content, styles, chosen, on_progress=lambda index, progress: bar.update(1),
                              cancel=cancel)  # fmt: skip
    finally:
        bar.close()
    if not results:
        raise NSTError("Interrupted before the first run had a step; nothing was written.")
    labels = [v.label for v in chosen[: len(results)]]
    sheet = comparison_sheet(content, styles[0], results, labels)
    _write(output, lambda path: path.write_bytes(sheet_png(sheet, results, labels)))
    if not args.quiet:
        print(f"wrote {output} ({len(results)} runs: {', '.join(labels)})", file=err)
    return [_record(result, output) | {"label": label} for label, result in zip(labels, results, strict=True)]


def _video(args: argparse.Namespace, err: TextIO, cancel: threading.Event) -> list[dict[str, object]]:
    from tqdm import tqdm

    from .errors import VideoError
    from .media import least_every, painted_count, probe
    from .video import FrameProgress, paint_video

    values = {name: getattr(args, name) for name in VIDEO_OPTIONS}
    values["style_blend"] = tuple(values["style_blend"] or ())
    config = TransferConfig(**values)
    output = _checked_output(args.output)
    source = Path(args.input)
    try:
        info = probe(source)  # refused here, before anything else, with its sentence
    except VideoError as error:
        raise VideoError(f"The clip {source}: {error}") from None
    styles = [_input("style image", style) for style in args.styles]
    planned = painted_count(info.frames, least_every(info.frames, VideoLimits(), args.every))
    bar = tqdm(total=planned, file=err, disable=args.quiet, unit="frame", dynamic_ncols=True)

    def report(progress: FrameProgress) -> None:
        bar.update(progress.frame - bar.n)

    # Ctrl-C ends the clip after the current frame; the frames so far are still written as a video.
    try:
        result = paint_video(source, styles, output, config, coherence=args.coherence, gif=args.gif,
                             every=args.every, on_progress=report, cancel=cancel)  # fmt: skip
    except OSError as error:  # the decoder read the clip already (probe): this is the MP4 or GIF being written
        raise NSTError(f"{output} could not be written ({(error.strerror or type(error).__name__).lower()}).") from None
    finally:
        bar.close()
    if not args.quiet:
        gif = f" and {result.gif}" if result.gif else ""
        print(f"wrote {result.output}{gif} ({result.frames} frames, {result.width}x{result.height} px, "
              f"{result.seconds:.1f} s)", file=err)  # fmt: skip
    return [{"output": str(result.output), "gif": str(result.gif) if result.gif else None, "frames": result.frames,
             "fps": float(result.fps), "width": result.width, "height": result.height,
             "seconds": round(result.seconds, 3), "device": result.device, "stopped": result.stopped}]  # fmt: skip


def _batch(args: argparse.Namespace, err: TextIO, cancel: threading.Event) -> list[dict[str, object]]:
    from tqdm import tqdm

    from .batch import paint_folder, paint_folder_on_ray, photos

    config = config_from_args(args)
    folder, output = Path(args.input), Path(args.output)
    if output.exists() and not output.is_dir():
        raise NSTError(f"{output} is a file; give the folder to write the pictures to.")
    if not folder.is_dir():
        raise NSTError(f"The folder {folder} does not exist.")
    bar = tqdm(total=len(photos(folder)), file=err, disable=args.quiet, unit="picture", dynamic_ncols=True)
    records: list[dict[str, object]] = []
    try:
        if args.ray:
            dones = paint_folder_on_ray(folder, args.styles, output, config, args.ray, cancel)
        else:
            dones = paint_folder(folder, args.styles, output, config, cancel=cancel)
        for done in dones:
            bar.update(1)
            if done.error is not None and not args.quiet:
                bar.write(f"skipped {done.source}: {done.error}", file=err)
            record: dict[str, object] = {"input": str(done.source), "outcome": done.outcome, "error": done.error}
            if done.result is not None and done.output is not None:
                record |= _record(done.result, done.output)
            elif done.output is not None:
                record["output"] = str(done.output)
            records.append(record)
    finally:
        bar.close()
    if not args.quiet:
        counts = {outcome: sum(r["outcome"] == outcome for r in records) for outcome in ("painted", "already painted",
                                                                                        "refused")}  # fmt: skip
        print(f"wrote {counts['painted']} pictures to {output} ({counts['already painted']} already painted, "
              f"{counts['refused']} refused)", file=err)  # fmt: skip
    return records


def _summary(result: TransferResult) -> str:
    stopped = f", {result.stopped}" if result.stopped else ""
    work = "instant painting" if result.recipe.get("method") == "instant" else f"{result.steps} steps"
    return f"{result.image.width}x{result.image.height} px, {work}, {result.seconds:.1f} s{stopped}"


def _record(result: TransferResult, output: Path) -> dict[str, object]:
    return {
        "output": str(output),
        "width": result.image.width,
        "height": result.image.height,
        "steps": result.steps,
        "seconds": round(result.seconds, 3),
        "device": result.device,
        "precision": result.precision,
        "weights": result.weights,
        "stopped": result.stopped,
        "losses": {
            "content": result.losses.content,
            "style": result.losses.style,
            "tv": result.losses.tv,
            "total": result.losses.total,
        },
    }


def _run(
    args: argparse.Namespace,
    config: TransferConfig,
    err: TextIO,
    on_preview: Callable[[Image.Image], None],
    content: Image.Image,
    styles: list[Image.Image],
    start: Image.Image | None,
    cancel: threading.Event,
    masks: list[Image.Image] | None = None,
) -> TransferResult:
    from tqdm import tqdm

    from .schedule import planned_steps
    from .transfer import stylize

    bar = tqdm(total=planned_steps(config), file=err, disable=args.quiet, unit="step", dynamic_ncols=True)

    def report(progress: Progress) -> None:
        if progress.preview is not None:
            on_preview(progress.preview)
        bar.total = progress.total
        bar.update(progress.step - bar.n)
        bar.set_postfix(
            size=f"{progress.size[0]}x{progress.size[1]}",
            loss=f"{progress.losses.total:.3g}",
            refresh=False,
        )

    try:
        return stylize(content, styles, config, init_image=start, on_progress=report, cancel=cancel, masks=masks)
    finally:
        bar.close()


def options_table(parser: argparse.ArgumentParser | None = None) -> str:
    """The table of a command's options in docs/cli.md, made from its parser (a test holds the file to it)."""
    parser = parser or build_parser()
    rows = ["| option | default | meaning |", "| --- | --- | --- |"]
    for action in parser._actions:
        if not action.option_strings or action.dest in ("help", "version"):
            continue
        flags = ", ".join(f"`{flag}`" for flag in action.option_strings)
        default = "" if action.default is None or isinstance(action.default, bool) else f"{action.default:g}" if (
            isinstance(action.default, float)) else f"{action.default}"  # fmt: skip
        if action.required:
            default = "required"
        meaning = (action.help or "").replace("|", "/")
        rows.append(f"| {flags} | {default} | {meaning} |")
    return "\n".join(rows)
