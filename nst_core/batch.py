"""A folder of photos painted with one recipe: each picture once, resumable, a bad file named and passed over.

:func:`paint_folder` paints every image of a folder (sorted by name) into an output folder, one PNG per
photo with its recipe embedded. A photo whose PNG is already there with the same recipe (the same settings,
the same photo and paintings, by content) is not painted again, so a batch that was interrupted resumes where
it stopped. A file that is not an image we can use is reported with its sentence, and the batch goes on.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .config import TransferConfig
from .errors import NSTError
from .images import read_recipe, save_png
from .reports import ProgressCallback, TransferResult

PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")
KEY = "batch_key"  # the recipe entry a finished picture is recognised by


@dataclass(frozen=True)
class Done:
    """What became of one photo of the folder."""

    source: Path
    output: Path | None  # None when it could not be painted
    outcome: str  # "painted", "already painted", "stopped" (Ctrl-C: its best so far is written) or "refused"
    error: str | None = None  # the sentence, when refused
    result: TransferResult | None = None  # when painted now


def photos(folder: Path) -> list[Path]:
    """The folder's files that may be photos, by name (a file that is not one is refused when read)."""
    return sorted(path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES)


def batch_key(config: TransferConfig, photo: bytes, paintings: Sequence[bytes]) -> str:
    """What a picture was painted from: the settings (not where they ran) and the inputs' contents."""
    settings = {k: v for k, v in config.to_dict().items() if k not in ("device", "max_seconds", "preview_every")}
    digest = hashlib.sha256(repr(sorted(settings.items())).encode())
    for data in (photo, *paintings):
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def paint_one(
    photo: Image.Image,
    styles: list[Image.Image],
    config: TransferConfig,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> TransferResult:
    """One picture of a batch: the instant network alone, or the one loop."""
    if config.init == "fast" and config.steps == 0:
        from .instant import paint_instant

        return paint_instant(photo, styles, config)
    from .transfer import stylize

    return stylize(photo, styles, config, on_progress=on_progress, cancel=cancel)


@dataclass(frozen=True)
class _Todo:
    source: Path
    target: Path
    data: bytes
    key: str


def _read_paintings(paintings: Sequence[Path]) -> tuple[list[Image.Image], list[bytes]]:
    from .images import load_image

    styles, style_bytes = [], []
    for path in paintings:
        try:
            style_bytes.append(Path(path).read_bytes())
            styles.append(load_image(path))
        except (OSError, NSTError) as error:
            raise NSTError(f"The style image {path}: {error}") from None
    return styles, style_bytes


def _plan(folder: Path, output: Path, config: TransferConfig, style_bytes: list[bytes]) -> Iterator[_Todo | Done]:
    """Each photo of the folder: to paint, or already painted with the same recipe, or unreadable."""
    if not folder.is_dir():
        raise NSTError(f"The folder {folder} does not exist.")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise NSTError(f"The folder {output} cannot be made ({(error.strerror or '').lower()}).") from None
    for source in photos(folder):
        target = output / f"{source.stem}.png"
        try:
            data = source.read_bytes()
        except OSError as error:
            yield Done(source, None, "refused", f"{source.name} cannot be read ({(error.strerror or '').lower()}).")
            continue
        key = batch_key(config, data, style_bytes)
        if target.is_file() and (read_recipe(target) or {}).get(KEY) == key:
            yield Done(source, target, "already painted")
        else:
            yield _Todo(source, target, data, key)


def _finish(todo: _Todo, result: TransferResult, stopped: bool) -> Done:
    recipe = {**result.recipe, "source": todo.source.name, **({} if stopped else {KEY: todo.key})}
    save_png(result.image, todo.target, recipe)
    return Done(todo.source, todo.target, "stopped" if stopped else "painted", result=result)


def paint_folder(
    folder: Path,
    paintings: Sequence[Path],
    output: Path,
    config: TransferConfig,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[Done]:
    """Paint every photo of ``folder`` into ``output``, one after another; yields what became of each, in order.
    Setting ``cancel`` ends the picture under way (its best so far is written, and it is painted again on the
    next run) and the batch.

    Raises:
        NSTError: the folder or a painting cannot be read, or the output folder cannot be made.
    """
    from .images import load_image

    styles, style_bytes = _read_paintings(paintings)
    for item in _plan(folder, output, config, style_bytes):
        if cancel is not None and cancel.is_set():
            return
        if isinstance(item, Done):
            yield item
            continue
        try:
            result = paint_one(load_image(item.data), styles, config, on_progress, cancel)
        except NSTError as error:
            yield Done(item.source, None, "refused", str(error))
            continue
        yield _finish(item, result, cancel is not None and cancel.is_set())


def _paint_remote(photo: bytes, paintings: list[bytes], config: TransferConfig) -> TransferResult | str:
    """One picture on a worker of the cluster: its result, or the sentence why it cannot be painted."""
    from .images import load_image

    try:
        return paint_one(load_image(photo), [load_image(data) for data in paintings], config)
    except NSTError as error:
        return str(error)


def paint_folder_on_ray(
    folder: Path,
    paintings: Sequence[Path],
    output: Path,
    config: TransferConfig,
    address: str,
    cancel: threading.Event | None = None,
) -> Iterator[Done]:
    """:func:`paint_folder` with its pictures spread over the workers of the Ray cluster at ``address`` (one
    picture a task, a CPU or a GPU each); yields what became of each as it finishes. Setting ``cancel``
    cancels the pictures not finished (they are painted on the next run).

    Raises:
        NSTError: the folder or a painting cannot be read, or the cluster cannot be reached.
    """
    import ray

    styles, style_bytes = _read_paintings(paintings)
    del styles  # read here to refuse a bad painting at once; the workers read their own copies
    plan = list(_plan(folder, output, config, style_bytes))
    yield from (item for item in plan if isinstance(item, Done))
    todos = [item for item in plan if isinstance(item, _Todo)]
    if not todos:
        return
    try:
        if not ray.is_initialized():
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        gpu = ray.cluster_resources().get("GPU", 0) > 0  # type: ignore[no-untyped-call]
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise NSTError(f"The Ray cluster at {address} cannot be reached ({error}).") from None
    task = ray.remote(_paint_remote).options(num_cpus=1, num_gpus=1 if gpu else 0, max_retries=2)
    paintings_ref = ray.put(style_bytes)
    pending = {task.remote(todo.data, paintings_ref, config): todo for todo in todos}
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            if cancel is not None and cancel.is_set():
                return
            for ref in ready:
                todo = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as error:
                    why = f"{todo.source.name} failed on the cluster ({type(error).__name__})."
                    yield Done(todo.source, None, "refused", why)
                    continue
                if isinstance(result, str):
                    yield Done(todo.source, None, "refused", result)
                else:
                    yield _finish(todo, result, False)
    finally:
        for ref in pending:
            ray.cancel(ref)
