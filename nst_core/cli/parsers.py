"""The command line's parsers: an option per field of :class:`~nst_core.config.TransferConfig` (name, type,
default, help), the subcommands' own options, and the table of them in ``docs/cli.md``."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any, Literal

from ..config import DEFAULT_SIZE, INITS, TransferConfig, default_steps, field_help
from ..media import GIF_MAX_SECONDS, VideoLimits
from ..version import __version__

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
    _add_masks(parser, "photo")
    _add_run_options(parser)
    return parser


def _add_masks(parser: argparse.ArgumentParser, kept: str) -> None:
    parser.add_argument("--masks", nargs="+", default=None, metavar="MASK",
                        help="paint by region: one mask per painting, in their order (white where that painting "
                        f"applies, grey for a soft edge; any size, the {kept}'s shape); the {kept} is kept where "
                        "none applies")  # fmt: skip


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
    from ..video import COHERENCES

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
    _add_masks(parser, "clip")
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
