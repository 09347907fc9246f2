from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import pytest
from PIL import Image

from nst_core.cli import EXIT_ERROR, EXIT_OK, main
from nst_core.images import read_recipe
from tests.conftest import ROOT


@pytest.fixture
def pair(tmp_path, content_image, style_image):
    content, style = tmp_path / "content.png", tmp_path / "style.jpg"
    content_image.save(content)
    style_image.save(style)
    return str(content), str(style)


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_success_writes_the_png_and_one_json_line(tmp_path, pair):
    output = tmp_path / "out.png"
    code, out, err = run_cli(*pair, "-o", str(output), "--size", "64", "--steps", "3", "--json", "--seed", "5")
    assert code == EXIT_OK, err
    record = json.loads(out)
    assert set(record) >= {"output", "width", "height", "steps", "seconds", "device", "precision", "weights", "losses"}
    assert record["precision"] in ("fp32", "bf16")
    assert set(record["losses"]) == {"content", "style", "tv", "total"}
    assert (record["width"], record["height"], record["steps"]) == (64, 48, 3)
    assert Image.open(output).size == (64, 48)
    recipe = read_recipe(output)
    assert recipe is not None and recipe["seed"] == 5 and recipe["size"] == 64


def test_blend_colours_and_optimizer_options_reach_the_core(tmp_path, pair):
    output = tmp_path / "out.png"
    code, _, err = run_cli(
        pair[0],
        pair[1],
        pair[1],
        "-o",
        str(output),
        "--size",
        "64",
        "--steps",
        "2",
        "--style-blend",
        "2",
        "1",
        "--preserve-colors",
        "luminance",
        "--optimizer",
        "adam",
        "--init",
        "noise",
        "--tv-weight",
        "1",
        "--precision",
        "bf16",
        "--no-cuda-graphs",
        "--quiet",
    )
    assert code == EXIT_OK, err
    recipe = read_recipe(output)
    assert recipe is not None
    assert recipe["precision"] == "bf16" and recipe["precision_used"] == "bf16"
    assert recipe["cuda_graphs"] is False and "cuda_graphs_used" not in recipe  # a CPU run uses no graphs
    assert "gpu_peak_mib" not in recipe
    assert recipe["style_blend"] == [2.0, 1.0] and recipe["color"] == "luminance" and recipe["optimizer"] == "adam"
    assert recipe["init"] == "noise" and recipe["tv_weight"] == 1.0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--size", "99999"], "size must be between"),
        (["--style-weight", "nan"], "finite"),
        (["--steps", "-3"], "steps must be between"),
        (["--weights", "nowhere.pth"], ".safetensors file"),
        (["--device", "cuda:7"], "no usable CUDA GPU|There is no GPU 7"),  # a CPU machine | a GPU machine
    ],
)
def test_bad_arguments_exit_2_with_one_sentence(tmp_path, pair, extra, message):
    code, _, err = run_cli(*pair, "-o", str(tmp_path / "o.png"), "--steps", "1", "--size", "64", "--quiet", *extra)
    assert code == EXIT_ERROR
    assert err.startswith("error: ") and re.search(message, err)
    assert "Traceback" not in err


def test_bad_images_exit_2(tmp_path, pair):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    code, _, err = run_cli(str(text), pair[1], "-o", str(tmp_path / "o.png"), "--quiet")
    assert code == EXIT_ERROR and "not an image" in err
    code, _, err = run_cli(pair[0], pair[1], "-o", str(tmp_path / "missing" / "o.png"), "--quiet")
    assert code == EXIT_ERROR and "does not exist" in err


def test_a_bad_input_is_named_before_any_progress_is_shown(tmp_path, pair):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    code, _, err = run_cli(pair[0], text.as_posix(), "-o", str(tmp_path / "o.png"), "--steps", "2")
    assert code == EXIT_ERROR
    unreadable = "This file is not an image we can read; use PNG, JPEG, WebP, GIF or BMP."
    assert err == f"error: The style image {text}: {unreadable}\n"  # one line, no progress bar before it
    code, _, err = run_cli(pair[0], pair[1], "--init", str(text), "-o", str(tmp_path / "o.png"), "--steps", "2")
    assert code == EXIT_ERROR and err.startswith(f"error: The starting image {text}: ")


def test_success_says_what_it_wrote_unless_quiet(tmp_path, pair):
    output = tmp_path / "out.png"
    code, out, err = run_cli(*pair, "-o", str(output), "--size", "48", "--steps", "2", "--json")
    assert code == EXIT_OK
    assert err.splitlines()[-1].startswith(f"wrote {output} (48x36 px, 2 steps, ")
    assert json.loads(out)["output"] == str(output)  # --json unchanged
    code, _, err = run_cli(*pair, "-o", str(output), "--size", "48", "--steps", "2", "--quiet")
    assert code == EXIT_OK and err == ""


def test_every_config_field_is_an_option_or_set_by_the_cli():
    import dataclasses

    from nst_core.cli import NOT_OPTIONS, build_parser, config_from_args
    from nst_core.config import TransferConfig

    parser = build_parser()
    args = parser.parse_args(["c.png", "s.png", "-o", "o.png"])
    assert config_from_args(args) == TransferConfig(preview_every=0)  # the CLI's defaults are the config's
    names = {field.name for field in dataclasses.fields(TransferConfig)}
    assert names - NOT_OPTIONS <= set(vars(args))
    flags = parser.parse_args(["c.png", "s.png", "-o", "o.png", "--no-multiscale", "--style-blend", "1", "2",
                               "--learning-rate", "0.5", "--init", "start.png"])  # fmt: skip
    assert flags.multiscale is False and flags.style_blend == [1.0, 2.0] and flags.learning_rate == 0.5
    assert config_from_args(flags).init == "image"


def test_usage_errors_exit_2():
    code, _, _ = run_cli("only-one-argument")
    assert code == 2


@pytest.mark.slow
def test_module_entry_point_runs_as_a_process(tmp_path, pair):
    output = tmp_path / "out.png"
    done = subprocess.run(
        [sys.executable, "-m", "nst_core", *pair, "-o", str(output), "--size", "48", "--steps", "1", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["output"] == str(output)
    bad = subprocess.run(
        [sys.executable, "-m", "nst_core", *pair, "-o", str(output), "--size", "5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and bad.stderr.strip().endswith("5 was given.") and "Traceback" not in bad.stderr


def test_the_cli_lists_the_comparison_dimensions_of_the_core():
    from nst_core import cli, compare

    assert cli.DIMENSIONS == compare.DIMENSIONS


@pytest.mark.parametrize("where", ["folder", "missing", "unwritable"])
def test_every_way_writing_the_output_can_fail_is_one_sentence_and_exit_2(tmp_path, pair, where):
    output = {"folder": tmp_path, "missing": tmp_path / "nope" / "out.png", "unwritable": "/proc/out.png"}[where]
    code, _, err = run_cli(*pair, "-o", str(output), "--size", "32", "--steps", "1")
    said = {"folder": "is a folder; give the file to write", "missing": "does not exist",
            "unwritable": "could not be written"}[where]  # fmt: skip
    assert code == EXIT_ERROR and err.startswith("error: ") and said in err, err
    assert "Traceback" not in err and err.count("\n") == 1


def interrupt(argv: list[str], total: int) -> tuple[int, bytes, bytes]:
    """Run the CLI as a process and press Ctrl-C once its progress bar has counted 3 of ``total`` steps."""
    import signal
    import time

    process = subprocess.Popen([sys.executable, "-m", "nst_core", *argv], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)  # fmt: skip
    seen = b""
    assert process.stderr is not None
    counted = re.compile(rb" ([3-9]|\d\d+)/%d " % total)
    deadline = time.monotonic() + 120
    while not counted.search(seen) and time.monotonic() < deadline and process.poll() is None:
        seen += process.stderr.read1(4096)  # type: ignore[attr-defined]
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    return process.returncode, stdout, seen + stderr


@pytest.mark.slow
def test_ctrl_c_writes_the_best_picture_so_far_and_exits_130(tmp_path, pair):
    output = tmp_path / "out.png"
    code, stdout, stderr = interrupt([*pair, "-o", str(output), "--size", "64", "--steps", "2000", "--json",
                                      "--no-early-stop"], 2000)  # fmt: skip
    assert code == 130 and b"interrupted: what was painted before Ctrl-C is written" in stderr
    record = json.loads(stdout)
    assert record["stopped"] == "cancelled" and 3 <= record["steps"] < 2000
    recipe = read_recipe(output)
    assert recipe is not None and recipe["steps_run"] == record["steps"]


@pytest.mark.slow
def test_ctrl_c_on_a_comparison_writes_the_runs_so_far(tmp_path, pair):
    output = tmp_path / "sheet.png"
    code, stdout, stderr = interrupt(["compare", *pair, "--vary", "optimizer", "--values", "lbfgs", "adam", "-o",
                                      str(output), "--size", "48", "--steps", "500", "--no-early-stop", "--json"],
                                     1000)  # fmt: skip
    assert code == 130, stderr
    records = [json.loads(line) for line in stdout.splitlines()]
    assert [r["label"] for r in records] == ["L-BFGS"] and records[0]["stopped"] == "cancelled"
    assert output.is_file() and set(read_recipe(output) or {}) == {"L-BFGS"}


def test_a_run_from_the_instant_painting_plans_fewer_steps_than_one_from_the_photo(tmp_path, pair):
    from nst_core.cli import build_parser, config_from_args
    from nst_core.config import PHOTO_START_STEPS, WARM_START_STEPS

    def planned(*extra: str) -> int:
        return config_from_args(build_parser().parse_args([*pair, "-o", "x.png", *extra])).steps

    assert planned() == PHOTO_START_STEPS and planned("--init", "fast") == WARM_START_STEPS < PHOTO_START_STEPS
    assert planned("--init", "fast", "--steps", "40") == 40  # asked for: as asked
    output = tmp_path / "warm.png"
    code, out, err = run_cli(*pair, "-o", str(output), "--size", "64", "--init", "fast", "--no-early-stop", "--json")
    assert code == EXIT_OK, err
    assert json.loads(out)["steps"] == WARM_START_STEPS
