"""Presenter tools at tiny size: comparisons, loss curves, the sheet, the time-lapse."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from nst_core import TransferConfig, compare
from nst_core.cli import main
from nst_core.errors import ConfigError
from nst_core.images import RECIPE_KEY
from nst_core.sheet import CURVE_COLOURS, comparison_sheet, loss_chart, sheet_png, sheet_text_px
from nst_core.weights import torchvision_cache_path
from tests.conftest import encode
from tests.test_weights import random_features

TINY = TransferConfig(size=48, steps=3, early_stop=False, preview_every=1)


def test_variants_for_each_dimension():
    optimizers = compare.variants("optimizer", ["lbfgs", "adam", "gd"], TINY)
    assert [v.label for v in optimizers] == ["L-BFGS", "Adam", "Gradient descent"]
    assert [v.config.optimizer for v in optimizers] == ["lbfgs", "adam", "gd"]
    strengths = compare.variants("style_weight", ["10", 300], TINY)
    assert [v.config.style_weight for v in strengths] == [10.0, 300.0]
    with pytest.raises(ConfigError, match="VGG19 only"):
        compare.variants("backbone", ["vgg19", "vgg16"], TINY)
    with pytest.raises(ConfigError, match="between 2 and 6"):
        compare.variants("optimizer", ["lbfgs"], TINY)
    with pytest.raises(ConfigError, match="must be numbers"):
        compare.variants("style_weight", ["strong", "weak"], TINY)
    with pytest.raises(ConfigError, match="one of method, optimizer, backbone, style_weight"):
        compare.variants("colour", ["a", "b"], TINY)


def test_optimiser_comparison_gives_one_image_and_one_curve_per_optimiser(content_image, style_image):
    chosen = compare.variants("optimizer", ["lbfgs", "adam", "gd"], TINY)
    seen: list[int] = []
    results = compare.run(content_image, style_image, chosen, on_progress=lambda i, p: seen.append(i))
    assert len(results) == 3 and seen == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert [len(r.history) for r in results] == [3, 3, 3]
    assert [r.recipe["optimizer"] for r in results] == ["lbfgs", "adam", "gd"]
    labels = [v.label for v in chosen]
    # Against the step every curve spans the chart (against seconds a run that happened to be quick on a busy
    # host drew too few pixels to count: CI, 2026-11-30).
    chart = loss_chart([r.history for r in results], labels, "step", (400, 200))
    assert chart.size == (400, 200)
    assert loss_chart([r.history for r in results], labels, "seconds", (400, 200)).size == (400, 200)
    pixels = np.asarray(chart).reshape(-1, 3)
    for colour in CURVE_COLOURS[:3]:  # one curve (and its legend line) per run, in its colour
        assert (np.abs(pixels.astype(int) - colour).sum(axis=1) < 30).sum() > 50, colour
    sheet = comparison_sheet(content_image, style_image, results, labels, tile=128)
    assert sheet.width == 5 * (128 + 12) + 12 and sheet.height > 128 + 2 * 320
    assert sheet_text_px(sheet.width) >= sheet.width / 60  # readable on a projected slide (was 11 px)
    data = sheet_png(sheet, results, labels)
    recipes = json.loads(Image.open(io.BytesIO(data)).text[RECIPE_KEY])
    assert set(recipes) == set(labels) and recipes["Adam"]["optimizer"] == "adam"


def test_backbone_comparison_runs_vgg19_and_vgg16(tmp_path, monkeypatch, content_image, style_image):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    for arch in ("vgg19", "vgg16"):
        path = torchvision_cache_path(arch)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({f"features.{k}": v for k, v in random_features(arch).items()}, path)
    chosen = compare.variants("backbone", ["vgg19", "vgg16"], TINY.replace(weights="torchvision"))
    results = compare.run(content_image, style_image, chosen)
    assert [r.recipe["backbone"] for r in results] == ["vgg19", "vgg16"]
    assert all(r.image.size == (48, 36) for r in results)
    assert "VGG16" in results[1].weights


def test_cli_compare_writes_the_sheet_and_a_json_line_per_run(tmp_path, content_image, style_image):
    content, style, sheet = tmp_path / "c.png", tmp_path / "s.png", tmp_path / "sheet.png"
    content.write_bytes(encode(content_image))
    style.write_bytes(encode(style_image))
    out, err = io.StringIO(), io.StringIO()
    argv = ["compare", str(content), str(style), "--vary", "style_weight", "--values", "10", "1000",
            "--size", "48", "--steps", "2", "-o", str(sheet), "--json", "--quiet"]  # fmt: skip
    assert main(argv, stdout=out, stderr=err) == 0, err.getvalue()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["label"] for line in lines] == ["style strength 10", "style strength 1000"]
    assert Image.open(sheet).width == 4 * (256 + 12) + 12
    bad = ["compare", str(content), str(style), "--vary", "style_weight", "--values", "10", "-o", str(sheet)]
    assert main(bad, stdout=out, stderr=err) == 2 and "between 2 and 6" in err.getvalue()


def test_cli_timelapse(tmp_path, content_image, style_image):
    content, style = tmp_path / "c.png", tmp_path / "s.png"
    content.write_bytes(encode(content_image))
    style.write_bytes(encode(style_image))
    gif = tmp_path / "run.gif"
    argv = [str(content), str(style), "-o", str(tmp_path / "o.png"), "--size", "48", "--steps", "10",
            "--no-early-stop", "--timelapse", str(gif), "--quiet"]  # fmt: skip
    assert main(argv, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    assert Image.open(gif).n_frames == 2  # previews every 5 steps


def test_the_methods_side_by_side_with_time_to_picture_and_both_distances(content_image, style_image):
    chosen = compare.variants("method", ["gatys", "refined", "instant"], TINY)
    assert [v.label for v in chosen] == ["Optimised from the photo (Gatys)", "Instant, then refined", "Instant"]
    assert [(v.config.init, v.config.steps) for v in chosen] == [("content", 3), ("fast", 3), ("fast", 0)]
    results = compare.run(content_image, style_image, chosen)
    gatys, refined, instant = results
    assert instant.steps == 0 and refined.steps == 3
    # Time to the first picture: the instant picture comes before the refined run's end.
    assert refined.recipe["first_picture_seconds"] < refined.seconds
    assert "first_picture_seconds" not in gatys.recipe
    # Said only where there was a picture before the end (the sheet and the page said "first picture after
    # 29.6 s, done after 29.6 s" of a Gatys run).
    firsts = [compare.first_picture_seconds(result) for result in results]
    assert firsts == [None, refined.recipe["first_picture_seconds"], None]
    # One measure for all: the photo's own content distance is 0, so the paintings all have some, and the
    # refined picture is closer to the painting's style than the instant one it started from.
    for result in results:
        assert result.recipe["distance_content"] > 0 and result.recipe["distance_style"] > 0
    assert refined.recipe["distance_style"] < instant.recipe["distance_style"]
    sheet = comparison_sheet(content_image, style_image, results, [v.label for v in chosen], tile=128)
    assert sheet.width == 5 * (128 + 12) + 12
    credited = comparison_sheet(content_image, style_image, results, [v.label for v in chosen], tile=128,
                                        credits=["a photo · CC BY-SA 3.0, someone"])  # fmt: skip
    line = sheet_text_px(sheet.width) + 6
    assert credited.height == sheet.height + line
    foot = np.asarray(credited.convert("L"))[sheet.height - 12 :, :200]
    assert (foot < 128).any() and not (np.asarray(sheet.convert("L"))[-12:, :200] < 128).any()  # written there
    with pytest.raises(ConfigError, match="A method is one of refined, instant, gatys"):
        compare.variants("method", ["gatys", "magic"], TINY)
