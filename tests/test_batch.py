"""A folder painted with one recipe: good, bad and finished pictures; a batch stopped midway resumes."""

from __future__ import annotations

import io
import json
import threading

from nst_core.batch import KEY, paint_folder
from nst_core.cli import EXIT_ERROR, EXIT_OK, main
from nst_core.config import TransferConfig
from nst_core.images import read_recipe
from tests.conftest import STYLE, encode

TINY = ["--size", "48", "--steps", "2"]


def folder_of(tmp_path, content_image, bad: bool = True):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.png").write_bytes(encode(content_image))
    (folder / "b.jpg").write_bytes(encode(content_image.rotate(90, expand=True), "JPEG"))
    if bad:
        (folder / "notes.png").write_bytes(b"this is not an image")
    (folder / "readme.txt").write_text("not a photo's name: never read")
    return folder


def batch(*argv: str) -> tuple[int, list[dict], str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["batch", *argv, "--json"], stdout=out, stderr=err)
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_a_folder_is_painted_a_bad_file_named_and_a_finished_picture_not_painted_again(tmp_path, content_image):
    folder, output = folder_of(tmp_path, content_image), tmp_path / "out"
    code, records, err = batch(str(folder), str(STYLE), "-o", str(output), *TINY)
    assert code == EXIT_ERROR  # one file was refused; the others were painted all the same
    assert [(r["input"].rsplit("/", 1)[-1], r["outcome"]) for r in records] == [
        ("a.png", "painted"), ("b.jpg", "painted"), ("notes.png", "refused")]  # fmt: skip
    assert "skipped" in err and "notes.png: This file is not an image we can read" in err and "Traceback" not in err
    recipe = read_recipe(output / "a.png")
    assert recipe is not None and recipe["source"] == "a.png" and KEY in recipe
    assert (records[1]["width"], records[1]["height"]) == (36, 48)  # b.jpg is upright
    written = (output / "a.png").stat().st_mtime_ns
    (folder / "notes.png").unlink()
    code, again, _ = batch(str(folder), str(STYLE), "-o", str(output), *TINY)
    assert code == EXIT_OK and [r["outcome"] for r in again] == ["already painted", "already painted"]
    assert (output / "a.png").stat().st_mtime_ns == written
    code, other, _ = batch(str(folder), str(STYLE), "-o", str(output), *TINY, "--style-weight", "300")
    assert [r["outcome"] for r in other] == ["painted", "painted"]  # another recipe: painted again


def test_a_batch_stopped_midway_resumes_where_it_stopped(tmp_path, content_image, extractor):
    folder, output = folder_of(tmp_path, content_image, bad=False), tmp_path / "out"
    config = TransferConfig(size=48, steps=20, early_stop=False, device="cpu")
    cancel = threading.Event()

    def stop_at_three(progress) -> None:
        if progress.step == 3:
            cancel.set()  # as Ctrl-C does

    first = list(paint_folder(folder, [STYLE], output, config, stop_at_three, cancel))
    assert [d.outcome for d in first] == ["stopped"]  # the first picture's best so far, then the batch ends
    assert (output / "a.png").is_file() and not (output / "b.png").exists()
    assert KEY not in (read_recipe(output / "a.png") or {})  # not finished: painted again next time
    cancel.clear()
    resumed = list(paint_folder(folder, [STYLE], output, config, None, cancel))
    assert [d.outcome for d in resumed] == ["painted", "painted"]
    assert [d.outcome for d in paint_folder(folder, [STYLE], output, config)] == ["already painted"] * 2


def test_a_batch_refuses_a_missing_folder_and_an_output_that_is_a_file(tmp_path, content_image):
    code, _, err = batch(str(tmp_path / "nowhere"), str(STYLE), "-o", str(tmp_path / "out"), *TINY)
    assert code == EXIT_ERROR and "does not exist" in err
    (tmp_path / "file").write_text("x")
    code, _, err = batch(str(folder_of(tmp_path, content_image)), str(STYLE), "-o", str(tmp_path / "file"), *TINY)
    assert code == EXIT_ERROR and "is a file; give the folder" in err
