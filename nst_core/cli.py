"""``python -m nst_core CONTENT STYLE [STYLE ...] -o OUT.png``: the command-line front-end.

``python -m nst_core compare CONTENT STYLE --vary optimizer --values lbfgs adam gd -o sheet.png``
runs the same picture under several settings and writes a comparison sheet.

Defaults and choices come from :class:`~nst_core.config.TransferConfig`.
Exit status: 0 on success, 2 on bad arguments or bad input (``error: ...``
on stderr, no traceback), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from PIL import Image

from . import __version__, compare
from .compare import DIMENSIONS, timelapse_gif
from .config import BACKBONES, COLOR_MODES, OPTIMIZERS, PRECISIONS, Init, TransferConfig
from .errors import NSTError
from .images import load_image, save_png
from .transfer import Progress, TransferResult, planned_steps, stylize

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

_DEFAULTS = TransferConfig()


def build_parser() -> argparse.ArgumentParser:
    parser = _new_parser(
        "python -m nst_core",
        "Paint a photo in the manner of one or more paintings (Gatys et al., 2016). "
        "'python -m nst_core compare --help' shows the comparison mode.",
        "where to write the PNG (recipe embedded)",
    )
    parser.add_argument("--timelapse", default=None, metavar="GIF", help="also write an animated GIF of the run")
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


def _new_parser(prog: str, description: str, output_help: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("content", help="the photo (PNG, JPEG, WebP, GIF or BMP)")
    parser.add_argument("styles", nargs="+", metavar="style", help="one or more style images")
    parser.add_argument("-o", "--output", required=True, help=output_help)
    return parser


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", type=int, default=_DEFAULTS.size, help="longest side of the output, px")
    parser.add_argument(
        "--steps",
        type=int,
        default=_DEFAULTS.steps,
        help="optimiser iterations at each scale; above 384 px the output is first painted at about 256 px",
    )
    parser.add_argument("--seed", type=int, default=_DEFAULTS.seed, help="seed of the noise initialisation")
    parser.add_argument("--device", default=_DEFAULTS.device, help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=_DEFAULTS.precision,
        help="of the VGG convolutions; auto = bf16 where native (AMX CPUs, Ampere+ GPUs), else fp32",
    )
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=_DEFAULTS.optimizer)
    parser.add_argument("--learning-rate", type=float, default=None, help="step factor; default per optimiser")
    parser.add_argument("--content-weight", type=float, default=_DEFAULTS.content_weight)
    parser.add_argument(
        "--style-weight", type=float, default=_DEFAULTS.style_weight, help="style strength; the same at every size"
    )
    parser.add_argument("--tv-weight", type=float, default=_DEFAULTS.tv_weight, help="smoothness (denoising)")
    parser.add_argument("--init", default=_DEFAULTS.init, help="content, noise, or the path of a starting image")
    parser.add_argument(
        "--preserve-colors",
        choices=COLOR_MODES,
        default=_DEFAULTS.color,
        help="luminance: keep the photo's colours; match: recolour the styles to the photo first",
    )
    parser.add_argument(
        "--style-blend", type=float, nargs="+", default=None, metavar="W", help="one weight per style image"
    )
    parser.add_argument(
        "--style-scale", type=float, default=_DEFAULTS.style_scale, help="style image size relative to the output"
    )
    parser.add_argument("--backbone", choices=BACKBONES, default=_DEFAULTS.backbone)
    parser.add_argument(
        "--weights", default=_DEFAULTS.weights, help="original, torchvision, hub, or a .safetensors file"
    )
    parser.add_argument("--max-seconds", type=float, default=None, help="stop after this many seconds")
    parser.add_argument(
        "--no-multiscale", dest="multiscale", action="store_false", help="optimise at the output size only"
    )
    parser.add_argument(
        "--no-early-stop", dest="early_stop", action="store_false", help="run every step even once converged"
    )
    parser.add_argument(
        "--no-cuda-graphs",
        dest="cuda_graphs",
        action="store_false",
        help="on CUDA, launch every kernel from Python instead of replaying a captured graph",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line describing the result")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--version", action="version", version=f"nst_core {__version__}")


def config_from_args(args: argparse.Namespace) -> TransferConfig:
    """The run's config; raises ConfigError for values out of bounds."""
    init: Init = args.init if args.init in ("content", "noise") else "image"
    return TransferConfig(
        size=args.size,
        steps=args.steps,
        optimizer=args.optimizer,
        content_weight=args.content_weight,
        style_weight=args.style_weight,
        tv_weight=args.tv_weight,
        init=init,
        color=args.preserve_colors,
        style_scale=args.style_scale,
        style_blend=tuple(args.style_blend or ()),
        seed=args.seed,
        learning_rate=args.learning_rate,
        multiscale=args.multiscale,
        early_stop=args.early_stop,
        backbone=args.backbone,
        weights=args.weights,
        max_seconds=args.max_seconds,
        device=args.device,
        precision=args.precision,
        cuda_graphs=args.cuda_graphs,
        preview_every=5 if getattr(args, "timelapse", None) else 0,
    )


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the CLI; returns the exit status instead of exiting."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    arguments = list(sys.argv[1:] if argv is None else argv)
    comparing = bool(arguments) and arguments[0] == "compare"
    parser = build_compare_parser() if comparing else build_parser()
    try:
        args = parser.parse_args(arguments[1:] if comparing else arguments)
    except SystemExit as stop:  # argparse exits on --help, --version and usage errors
        return int(stop.code or 0)
    try:
        records = _compare(args, err) if comparing else _paint(args, err)
    except NSTError as error:
        print(f"error: {error}", file=err)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=err)
        return EXIT_INTERRUPTED
    if args.json:
        for record in records:
            print(json.dumps(record), file=out)
    return EXIT_OK


def _checked_output(path: str) -> Path:
    output = Path(path)
    if not output.parent.is_dir():
        raise NSTError(f"The folder {output.parent} does not exist.")
    return output


def _paint(args: argparse.Namespace, err: TextIO) -> list[dict[str, object]]:
    frames: list[Image.Image] = []
    config = config_from_args(args)
    output = _checked_output(args.output)
    timelapse = _checked_output(args.timelapse) if args.timelapse else None
    result = _run(args, config, err, frames.append)
    save_png(result.image, output, result.recipe)
    if timelapse is not None:
        timelapse.write_bytes(timelapse_gif(frames))
    return [_record(result, output)]


def _compare(args: argparse.Namespace, err: TextIO) -> list[dict[str, object]]:
    from tqdm import tqdm

    output = _checked_output(args.output)
    chosen = compare.variants(args.vary, args.values, config_from_args(args))
    content = load_image(args.content)
    styles = [load_image(style) for style in args.styles]
    bar = tqdm(total=sum(planned_steps(v.config) for v in chosen), file=err, disable=args.quiet, unit="step")
    try:
        results = compare.run(content, styles, chosen, on_progress=lambda index, progress: bar.update(1))
    finally:
        bar.close()
    labels = [v.label for v in chosen]
    sheet = compare.comparison_sheet(content, styles[0], results, labels)
    output.write_bytes(compare.sheet_png(sheet, results, labels))
    return [_record(result, output) | {"label": label} for label, result in zip(labels, results, strict=True)]


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
    args: argparse.Namespace, config: TransferConfig, err: TextIO, on_preview: Callable[[Image.Image], None]
) -> TransferResult:
    from tqdm import tqdm

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
        return stylize(
            args.content,
            args.styles,
            config,
            init_image=args.init if config.init == "image" else None,
            on_progress=report,
        )
    finally:
        bar.close()
