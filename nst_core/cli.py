"""``python -m nst_core CONTENT STYLE [STYLE ...] -o OUT.png``: the command-line front-end.

Defaults and choices come from :class:`~nst_core.config.TransferConfig`.
Exit status: 0 on success, 2 on bad arguments or bad input (``error: ...``
on stderr, no traceback), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from . import __version__
from .config import BACKBONES, COLOR_MODES, OPTIMIZERS, Init, TransferConfig
from .errors import NSTError
from .images import save_png
from .transfer import Progress, TransferResult, stylize

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

_DEFAULTS = TransferConfig()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m nst_core",
        description="Paint a photo in the manner of one or more paintings (Gatys et al., 2016).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("content", help="the photo (PNG, JPEG, WebP, GIF or BMP)")
    parser.add_argument("styles", nargs="+", metavar="style", help="one or more style images")
    parser.add_argument("-o", "--output", required=True, help="where to write the PNG (recipe embedded)")
    parser.add_argument("--size", type=int, default=_DEFAULTS.size, help="longest side of the output, px")
    parser.add_argument("--steps", type=int, default=_DEFAULTS.steps, help="optimiser iterations in total")
    parser.add_argument("--seed", type=int, default=_DEFAULTS.seed, help="seed of the noise initialisation")
    parser.add_argument("--device", default=_DEFAULTS.device, help="auto, cpu, cuda, cuda:N or mps")
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
    parser.add_argument("--json", action="store_true", help="print one JSON line describing the result")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--version", action="version", version=f"nst_core {__version__}")
    return parser


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
        preview_every=0,
    )


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the CLI; returns the exit status instead of exiting."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse exits on --help, --version and usage errors
        return int(stop.code or 0)
    try:
        config = config_from_args(args)
        output = Path(args.output)
        if not output.parent.is_dir():
            raise NSTError(f"The folder {output.parent} does not exist.")
        result = _run(args, config, err)
        save_png(result.image, output, result.recipe)
    except NSTError as error:
        print(f"error: {error}", file=err)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=err)
        return EXIT_INTERRUPTED
    if args.json:
        record = {
            "output": str(output),
            "width": result.image.width,
            "height": result.image.height,
            "steps": result.steps,
            "seconds": round(result.seconds, 3),
            "device": result.device,
            "weights": result.weights,
            "stopped": result.stopped,
            "losses": {
                "content": result.losses.content,
                "style": result.losses.style,
                "tv": result.losses.tv,
                "total": result.losses.total,
            },
        }
        print(json.dumps(record), file=out)
    return EXIT_OK


def _run(args: argparse.Namespace, config: TransferConfig, err: TextIO) -> TransferResult:
    from tqdm import tqdm

    bar = tqdm(total=config.steps, file=err, disable=args.quiet, unit="step", dynamic_ncols=True)

    def report(progress: Progress) -> None:
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
