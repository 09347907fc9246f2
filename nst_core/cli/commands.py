"""What each subcommand does with its parsed arguments: read the inputs first, paint, write, report a record
per output; every failure is an :class:`~nst_core.errors.NSTError` sentence."""

from __future__ import annotations

import argparse
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from PIL import Image

from ..config import TransferConfig
from ..errors import ImageError, NSTError
from ..images import load_image, save_png, timelapse_gif
from ..media import VideoLimits
from ..reports import Progress, TransferResult
from .parsers import VIDEO_OPTIONS, config_from_args, init_image_path

# The optimisation (and with it torch, seconds to import) is imported only by runs that optimise:
# ``--init fast --steps 0`` paints with the instant network alone (docs/design.md has the figures).


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
        from ..regions import load_masks

        masks = load_masks([_input("mask", path) for path in args.masks], len(styles), content.size)
    if config.init == "fast" and config.steps == 0:
        from ..instant import paint_instant

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

    from .. import compare
    from ..schedule import planned_steps
    from ..sheet import comparison_sheet, sheet_png

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

    from ..errors import VideoError
    from ..media import least_every, painted_count, probe
    from ..video import FrameProgress, paint_video

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
    masks = None
    if args.masks:
        from ..regions import load_masks

        paths = [_input("mask", path) for path in args.masks]
        masks = load_masks(paths, len(styles), (info.width, info.height), "clip")
    planned = painted_count(info.frames, least_every(info.frames, VideoLimits(), args.every))
    bar = tqdm(total=planned, file=err, disable=args.quiet, unit="frame", dynamic_ncols=True)

    def report(progress: FrameProgress) -> None:
        bar.update(progress.frame - bar.n)

    # Ctrl-C ends the clip after the current frame; the frames so far are still written as a video.
    try:
        result = paint_video(source, styles, output, config, coherence=args.coherence, gif=args.gif,
                             every=args.every, on_progress=report, cancel=cancel, masks=masks)  # fmt: skip
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

    from ..batch import paint_folder, paint_folder_on_ray, photos

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

    from ..schedule import planned_steps
    from ..transfer import stylize

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
