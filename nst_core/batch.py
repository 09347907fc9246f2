"""A folder of photos painted with one recipe: each picture once, resumable, a bad file named and passed over.

:func:`paint_folder` paints every image of a folder (sorted by name) into an output folder, one PNG per
photo with its recipe embedded. A photo whose PNG is already there with the same recipe (the same settings,
the same photo and paintings, by content) is not painted again, so a batch that was interrupted resumes where
it stopped. A file that is not an image we can use is reported with its sentence, and the batch goes on.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
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


def paint_folder(
    folder: Path,
    paintings: Sequence[Path],
    output: Path,
    config: TransferConfig,
    paint: Callable[[Image.Image, list[Image.Image], ProgressCallback | None], TransferResult],
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[Done]:
    """Paint every photo of ``folder`` into ``output`` with ``paint(photo, paintings, on_progress)``; yields what
    became of each, in order. Setting ``cancel`` ends the picture under way (its best so far is written, and it
    is painted again on the next run) and the batch.

    Raises:
        NSTError: the folder or a painting cannot be read, or the output folder cannot be made.
    """
    from .images import load_image

    if not folder.is_dir():
        raise NSTError(f"The folder {folder} does not exist.")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise NSTError(f"The folder {output} cannot be made ({(error.strerror or '').lower()}).") from None
    styles, style_bytes = [], []
    for path in paintings:
        try:
            style_bytes.append(Path(path).read_bytes())
            styles.append(load_image(path))
        except (OSError, NSTError) as error:
            raise NSTError(f"The style image {path}: {error}") from None
    for source in photos(folder):
        if cancel is not None and cancel.is_set():
            return
        target = output / f"{source.stem}.png"
        try:
            data = source.read_bytes()
            key = batch_key(config, data, style_bytes)
            if target.is_file() and (read_recipe(target) or {}).get(KEY) == key:
                yield Done(source, target, "already painted")
                continue
            result = paint(load_image(data), styles, on_progress)
        except NSTError as error:
            yield Done(source, None, "refused", str(error))
            continue
        stopped = cancel is not None and cancel.is_set()
        recipe = {**result.recipe, "source": source.name, **({} if stopped else {KEY: key})}
        save_png(result.image, target, recipe)
        yield Done(source, target, "stopped" if stopped else "painted", result=result)
