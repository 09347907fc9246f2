"""Video with the real networks on clips the tests make: refusals, frame rate and sound, coherence, Stop."""

from __future__ import annotations

import io
import json
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.clips import pan_frames, sprite_at, write_clip, write_gif
from nst_core import TransferConfig
from nst_core.cli import EXIT_ERROR, EXIT_OK, main
from nst_core.errors import ConfigError, VideoError
from nst_core.instant import get_network, instant_picture
from nst_core.media import VideoLimits, frame_limit, probe, read_frames
from nst_core.video import (
    FramePainter,
    FrameProgress,
    VideoResult,
    flow_between,
    grey,
    paint_video,
    trustworthy,
    warping_error,
)
from tests.conftest import STYLE, calls_of, encode, small

INSTANT = TransferConfig(size=96, steps=0, init="fast")


@pytest.fixture(scope="module")
def pan(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clips") / "pan.mp4", pan_frames())


@pytest.fixture(scope="module")
def painting() -> Image.Image:
    return small(STYLE, 256)


REFINED = TransferConfig(size=96, steps=3, init="fast", early_stop=False)  # a refined clip, small and short


@pytest.fixture(scope="module")
def refined_pan(tmp_path_factory, pan, painting) -> tuple[VideoResult, VideoResult]:
    """The pan painted refined (3 steps a frame, 96 px), with the flow and each frame on its own: two tests
    read the same two clips."""
    folder = tmp_path_factory.mktemp("refined")
    held = paint_video(pan, painting, folder / "out.mp4", REFINED, gif=False)
    alone = paint_video(pan, painting, folder / "alone.mp4", REFINED, coherence="none", gif=False)
    return held, alone


def decoded(path: Path) -> tuple[int, Fraction, bool, float]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        audio = container.streams.audio
        seconds = float(audio[0].duration * audio[0].time_base) if audio else 0.0
        return frames, Fraction(stream.average_rate), bool(audio), seconds


def test_a_clip_is_painted_with_its_frame_count_rate_and_sound(tmp_path, pan, painting):
    reports: list[FrameProgress] = []
    result = paint_video(pan, painting, tmp_path / "out.mp4", INSTANT, on_progress=reports.append)
    assert [r.frame for r in reports] == list(range(1, 13)) and reports[-1].frames == 12
    frames, rate, has_audio, seconds = decoded(result.output)
    assert (frames, rate, has_audio) == (12, Fraction(12), True)
    assert seconds == pytest.approx(1.0, abs=0.1)
    assert (result.width, result.height) == (96, 64) and not result.stopped
    assert result.gif is not None and Image.open(result.gif).n_frames == 12


@pytest.mark.parametrize(("change", "predictions"), [({}, 1), ({"strength": 0.5}, 6), ({"color": "match"}, 3)])
def test_a_clips_style_vector_is_predicted_once_when_no_frame_changes_it(
    pan, painting, monkeypatch, change, predictions
):
    """The paintings' vector is the same for every frame unless the frame's own is mixed in or the paintings
    are recoloured to it; the frames are those each painted alone."""
    network = get_network()
    predicted = []

    def counted(image: Image.Image) -> np.ndarray:
        predicted.append(image.size)
        return type(network).style_vector(network, image)

    monkeypatch.setattr(network, "style_vector", counted)
    config = INSTANT.replace(**change)
    frames = list(read_frames(pan, (96, 64)))[:3]
    painter = FramePainter([painting], config, "none")
    painted = [painter(frame, None) for frame in frames]
    assert len(predicted) == predictions
    for frame, picture in zip(frames, painted, strict=True):
        alone = instant_picture(network, frame, [painting], config, frame.size)
        assert np.array_equal(np.asarray(picture), np.asarray(alone))


def test_a_gif_shows_every_frame_in_one_palette_close_to_the_painted_frames(tmp_path, monkeypatch):
    from PIL import GifImagePlugin

    from nst_core.media import write_gif

    # Frames whose colours drift: red early, blue late (a palette from the first frame alone would lose blue).
    ramp = np.linspace(0, 1, 64 * 48).reshape(48, 64, 1)
    frames = [Image.fromarray(np.uint8(255 * np.concatenate([ramp * (1 - t), ramp * 0.5, ramp * t], axis=-1)))
              for t in np.linspace(0, 1, 10)]  # fmt: skip
    write_gif(frames, Fraction(10), tmp_path / "clip.gif")
    # Read as it is stored: a frame stays indexed only while its palette is the first frame's.
    monkeypatch.setattr(
        GifImagePlugin, "LOADING_STRATEGY", GifImagePlugin.LoadingStrategy.RGB_AFTER_DIFFERENT_PALETTE_ONLY
    )
    gif = Image.open(tmp_path / "clip.gif")
    assert gif.info["duration"] == 100 and gif.info["loop"] == 0
    for index, frame in enumerate(frames):
        gif.seek(index)
        assert gif.mode == "P", index
        shown = np.asarray(gif.convert("RGB"), dtype=np.float32)
        assert np.abs(shown - np.asarray(frame, dtype=np.float32)).mean() < 4  # levels of 255


@pytest.mark.parametrize("container", ["webm", "mov", "gif"])
def test_webm_mov_and_animated_gif_are_read(tmp_path, painting, container):
    images = pan_frames(frames=6)
    path = tmp_path / f"in.{container}"
    source = write_gif(path, images) if container == "gif" else write_clip(path, images, container=container)
    result = paint_video(source, painting, tmp_path / "out.mp4", INSTANT.replace(size=64))
    frames, _, has_audio, _ = decoded(result.output)
    assert frames == 6 and has_audio == (container != "gif")


# Where a red mark in the stored frames' top-left corner is seen, as chromium shows such a clip (looked at).
SEEN_AT = {0: (0, 0), -90: (0, 1), 90: (1, 0), 180: (1, 1)}  # (bottom?, right?)


@pytest.mark.parametrize("rotation", [-90, 90, 180])
def test_a_clip_filmed_upright_on_a_phone_is_read_and_painted_upright(tmp_path, painting, rotation):
    """A phone stores its frames sideways and a display matrix that turns them; players show them turned."""
    marked = []
    for image in pan_frames(frames=3):
        image = image.copy()
        image.paste((255, 0, 0), (0, 0, 24, 16))
        marked.append(image)
    source = write_clip(tmp_path / "phone.mp4", marked, audio=False, rotation=rotation)
    info = probe(source)
    assert info.rotation == rotation
    assert (info.width, info.height) == ((64, 96) if rotation != 180 else (96, 64))  # as shown
    frame = np.asarray(next(read_frames(source, (info.width, info.height))), dtype=float)
    bottom, right = SEEN_AT[rotation]
    rows = slice(-12, None) if bottom else slice(0, 12)
    columns = slice(-12, None) if right else slice(0, 12)
    corner = frame[rows, columns].mean(axis=(0, 1))
    assert corner[0] > 200 and corner[1] < 60  # red, where a player shows it
    result = paint_video(source, painting, tmp_path / "out.mp4", INSTANT.replace(size=64), gif=False)
    assert (result.width, result.height) == ((42, 64) if rotation != 180 else (64, 42))
    painted = probe(result.output)  # upright in its pixels, with no turn left for a player to make
    assert painted.rotation == 0 and (painted.width, painted.height) == (result.width, result.height)


@pytest.mark.slow
def test_flow_coherence_beats_painting_each_frame_on_its_own(tmp_path, pan, painting):
    inputs = list(read_frames(pan, (96, 64)))
    errors = {}
    for coherence in ("none", "blend", "flow"):
        result = paint_video(pan, painting, tmp_path / f"{coherence}.mp4", INSTANT, coherence=coherence, gif=False)
        errors[coherence] = warping_error(result.painted, inputs)
    assert errors["flow"] < 0.25 * errors["none"]
    assert errors["flow"] < 0.5 * errors["blend"]


@pytest.mark.slow
def test_the_sprite_leaves_no_trail(tmp_path, pan, painting):
    # Just after the red disc has left a place (it moves 5 px a frame; the scene 3 px the other way), the
    # coherent painting there is the fresh painting of the uncovered background, not the warped red of the
    # frames before: the occlusion test keeps the previous frame out. (Trusting every pixel's flow instead
    # gives twice the difference here; many frames later the trail fades either way, so it is checked now.)
    result = paint_video(pan, painting, tmp_path / "out.mp4", INSTANT, gif=False)
    alone = paint_video(pan, painting, tmp_path / "alone.mp4", INSTANT, coherence="none", gif=False)
    just_left = (slice(26, 38), slice(18, 26))  # under the disc at frames 1-2, uncovered at frames 3-4
    differences = [
        np.abs(
            np.asarray(result.painted[k], dtype=float)[just_left] - np.asarray(alone.painted[k], dtype=float)[just_left]
        ).mean()
        for k in (3, 4)
    ]
    assert np.mean(differences) < 17


def test_the_pixels_a_moving_object_uncovers_are_not_trusted(pan):
    """DIS flow follows the background across the small disc, so the two flows agree where it has just been;
    the colour check must still keep those pixels from the previous frame (the flows' agreement alone trusts
    62% of them here), while the background stays trusted (89% of it, against 91% by the flows alone)."""
    frames = list(read_frames(pan, (96, 64)))
    uncovered, background = [], []
    for k in range(1, len(frames)):
        now, before = frames[k], frames[k - 1]
        backward, forward = flow_between(grey(now), grey(before)), flow_between(grey(before), grey(now))
        mask = trustworthy(backward, forward, np.asarray(now), np.asarray(before))
        uncovered.append(mask[sprite_at(k - 1) & ~sprite_at(k)].mean())
        background.append(mask[~sprite_at(k - 1) & ~sprite_at(k)].mean())
    assert np.mean(uncovered) < 0.1
    assert np.mean(background) > 0.85


@pytest.mark.slow
def test_a_refined_clip_leaves_no_trail(refined_pan):
    """Refined frames start from the warped previous frame and are held to it: where the disc was 2-4 frames
    ago, they must be no redder than frames painted on their own (trusting the flows' agreement alone, a
    trail of discs stayed behind: 13.5 redder on average)."""
    result, alone = refined_pan

    def redness(frame: Image.Image) -> np.ndarray:
        values = np.asarray(frame, dtype=float)
        return values[..., 0] - values[..., 1:].mean(-1)

    excess = []
    for k in range(4, 12):
        trail = (sprite_at(k - 2) | sprite_at(k - 3) | sprite_at(k - 4)) & ~sprite_at(k) & ~sprite_at(k - 1)
        excess.append(redness(result.painted[k])[trail].mean() - redness(alone.painted[k])[trail].mean())
    assert np.mean(excess) < 5
    assert "instant network" in result.device  # the refining steps' device is reported first


@pytest.mark.slow
def test_a_refined_clip_holds_one_look_from_its_first_frame_to_its_last(pan, painting, refined_pan):
    """Each refined frame starts from the one before: the first frame used to be the instant picture plus a
    frame's steps and the later ones ever more painted (style distance 0.11 at frame 0, 0.07 from frame 2)."""
    from nst_core.compare import distances

    result, alone = refined_pan
    photos = list(read_frames(pan, (result.width, result.height)))
    style = [distances(frame, photo, [painting], REFINED)["distance_style"]
             for frame, photo in zip(result.painted, photos, strict=True)]  # fmt: skip
    middle = float(np.median(style))
    assert abs(style[-1] / style[0] - 1) <= 0.15, style
    assert all(abs(value / middle - 1) <= 0.15 for value in style), style
    assert warping_error(result.painted, photos) < 0.3 * warping_error(alone.painted, photos)


@pytest.mark.slow
def test_after_a_scene_cut_a_refined_clip_starts_a_new_look_at_the_same_level(tmp_path, painting):
    """A frame the flow cannot follow (a cut to another scene) is painted afresh: it used to get one frame's
    steps from the instant picture, far less painted than the frames before it."""
    from nst_core.compare import distances
    from tests.conftest import ASSETS

    other = Image.open(ASSETS / "content" / "chelsea.png").convert("RGB").resize((96, 64))
    frames = pan_frames(frames=6) + [other] * 4
    clip = write_clip(tmp_path / "cut.mp4", frames, audio=False)
    result = paint_video(clip, painting, tmp_path / "out.mp4", REFINED, gif=False)
    photos = list(read_frames(clip, (result.width, result.height)))
    style = [distances(frame, photo, [painting], REFINED)["distance_style"]
             for frame, photo in zip(result.painted, photos, strict=True)]  # fmt: skip
    before, after = style[:6], style[6:]
    assert abs(after[0] / float(np.median(after)) - 1) <= 0.15, style  # the cut's first frame is at its scene's level
    assert abs(before[0] / float(np.median(before)) - 1) <= 0.15, style


def test_stop_gives_a_valid_shorter_video(tmp_path, pan, painting):
    cancel = threading.Event()

    def stop_after_four(progress: FrameProgress) -> None:
        if progress.frame == 4:
            cancel.set()

    result = paint_video(pan, painting, tmp_path / "out.mp4", INSTANT, on_progress=stop_after_four, cancel=cancel)
    frames, _, has_audio, seconds = decoded(result.output)
    assert result.stopped == "cancelled" and frames == 4 and has_audio
    assert seconds == pytest.approx(4 / 12, abs=0.1)  # the sound is cut to the painted part


def test_the_time_budget_is_the_whole_clips_and_keeps_the_frames_so_far(tmp_path, pan, painting):
    """``max_seconds`` bounds the clip, not each frame: a video run on the page held the device without limit."""
    config = INSTANT.replace(max_seconds=0.1)  # spent by the first frame (the first is always painted)
    result = paint_video(pan, painting, tmp_path / "out.mp4", config, on_progress=lambda _: time.sleep(0.2))
    frames, _, has_audio, _ = decoded(result.output)
    assert result.stopped == "time budget" and frames == result.frames == 1 and has_audio
    whole = paint_video(pan, painting, tmp_path / "whole.mp4", INSTANT.replace(max_seconds=600))
    assert whole.stopped is None and whole.frames == 12


def refused_files(tmp_path: Path, content_image: Image.Image) -> list[tuple[Path, str]]:
    whole = write_clip(tmp_path / "whole.mp4", pan_frames(frames=4), audio=False).read_bytes()
    cases = {
        "empty.mp4": (b"", "empty"),
        "truncated.mp4": (whole[: len(whole) // 2], "not a video we can read, or it is damaged"),
        "notes.mp4": (b"these are my notes, not a film", "not a video we can read"),
        "photo.mp4": (encode(content_image), "not a video we can read"),
    }
    files = []
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        files.append((tmp_path / name, message))
    long = write_clip(tmp_path / "long.mp4", [Image.new("RGB", (16, 16))] * 600, fps=1, audio=False)
    files.append((long, "too long \\(600 s\\); the limit is 20 s"))
    huge = write_clip(tmp_path / "huge.mp4", [Image.new("RGB", (7680, 4320))] * 2, fps=2, audio=False)
    files.append((huge, "too large \\(7680x4320\\)"))
    one = write_gif(tmp_path / "one.gif", [content_image])
    files.append((one, "single picture"))
    return files


def test_every_refused_clip_gives_its_sentence_and_exit_2(tmp_path, content_image):
    for path, message in refused_files(tmp_path, content_image):
        with pytest.raises(VideoError, match=message):
            probe(path)
        out, err = io.StringIO(), io.StringIO()
        output = tmp_path / "never.mp4"
        code = main(["video", str(path), str(STYLE), "-o", str(output), "--quiet"], stdout=out, stderr=err)
        assert code == EXIT_ERROR and err.getvalue().startswith(f"error: The clip {path}: ")  # the file is named
        assert "Traceback" not in err.getvalue() and not output.exists()
    # A limit is quoted as it is configured (it said "3840x2160 (4K)" whatever the limit was).
    small = write_clip(tmp_path / "small.mp4", pan_frames(frames=2), audio=False)
    with pytest.raises(VideoError, match=r"the limit is 0\.00102 megapixels a frame"):
        probe(small, VideoLimits(max_pixels=32 * 32))
    assert frame_limit(1280 * 720) == "1280x720 (HD)" and frame_limit(3840 * 2160) == "3840x2160 (4K)"
    with pytest.raises(VideoError, match="too many frames"):  # more than 8 times the frames painted
        probe(write_clip(tmp_path / "many.mp4", pan_frames(frames=9), audio=False), VideoLimits(max_frames=1))


def test_a_clip_of_more_frames_than_painted_is_thinned_and_keeps_its_sound(tmp_path, painting):
    """A 20 s phone clip at 30 frames/s (600) is within the seconds limit but over the 480 frames painted: it is
    painted at a lower rate, not refused; the sound stays whole."""
    source = write_clip(tmp_path / "many.mp4", pan_frames(frames=12), fps=12)
    limits = VideoLimits(max_frames=5)
    assert probe(source, limits).frames == 12
    reports: list[FrameProgress] = []
    result = paint_video(source, painting, tmp_path / "out.mp4", INSTANT.replace(size=64), limits=limits,
                         on_progress=reports.append)  # fmt: skip
    frames, rate, has_audio, seconds = decoded(result.output)  # 1 frame in 3: 0, 3, 6, 9
    assert (frames, rate, result.fps, reports[-1].frames) == (4, Fraction(4), Fraction(4), 4)
    assert has_audio and seconds == pytest.approx(1.0, abs=0.1)
    thinned, whole = list(read_frames(source, (64, 42), every=3)), list(read_frames(source, (64, 42)))
    assert len(thinned) == 4 and all(np.array_equal(a, b) for a, b in zip(thinned, whole[::3], strict=True))
    # Asked for: 1 frame in 4 (more than the limits need); one that leaves a single picture is refused.
    fewer = paint_video(source, painting, tmp_path / "fewer.mp4", INSTANT.replace(size=64), every=4, gif=False)
    assert (fewer.frames, fewer.fps) == (3, Fraction(3))
    with pytest.raises(ConfigError, match="single picture"):
        paint_video(source, painting, tmp_path / "one.mp4", INSTANT.replace(size=64), every=12)


def test_the_video_command_writes_mp4_gif_and_one_json_line(tmp_path, pan, capsys):
    out, err = io.StringIO(), io.StringIO()
    output = tmp_path / "painted.mp4"
    argv = ["video", str(pan), str(STYLE), "-o", str(output), "--size", "64", "--every", "2", "--json", "--quiet"]
    assert main(argv, stdout=out, stderr=err) == EXIT_OK, err.getvalue()
    record = json.loads(out.getvalue())
    assert set(record) >= {"output", "frames", "fps", "width", "height", "seconds", "device", "gif"}
    assert (record["frames"], record["fps"], record["width"], record["height"]) == (6, 6.0, 64, 42)  # 1 in 2
    assert output.is_file() and Path(record["gif"]).is_file()
    out, err = io.StringIO(), io.StringIO()
    assert main([*argv[:5], "--every", "0"], stdout=out, stderr=err) == EXIT_ERROR
    said = capsys.readouterr().err  # argparse's own message, on the process's stderr
    assert "--every: must be a whole number of 1 or more" in said and "Traceback" not in said


@pytest.mark.slow
def test_ctrl_c_on_the_cli_keeps_the_frames_so_far(tmp_path, painting):
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    source = write_clip(tmp_path / "long.mp4", pan_frames(frames=48), audio=True)
    output = tmp_path / "out.mp4"
    argv = [sys.executable, "-m", "nst_core", "video", str(source), str(STYLE), "-o", str(output), "--size", "64",
            "--steps", "3", "--json"]  # fmt: skip
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = b""
    assert process.stderr is not None
    deadline = time.monotonic() + 120
    while b" 2/48" not in seen and time.monotonic() < deadline and process.poll() is None:
        seen += process.stderr.read1(4096)  # type: ignore[attr-defined]
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and b"interrupted: what was painted before Ctrl-C is written" in stderr
    record = json.loads(stdout)
    frames, _, has_audio, _ = decoded(output)
    assert record["stopped"] == "cancelled" and 2 <= frames < 48 and frames == record["frames"] and has_audio


@pytest.mark.parametrize(("color", "taken"), [("none", 1), ("match", 2)])
def test_a_refined_clip_takes_the_paintings_grams_once_unless_they_follow_each_frame(
    tmp_path, monkeypatch, painting, color, taken
):
    """The paintings' Gram matrices are the same on every frame (the same paintings at the frame's size): taken at
    the first refined frame, not at each (0.27 s a frame at 256 px). Matched to each frame's colours, they differ."""
    from nst_core import optimise

    clip = write_clip(tmp_path / "two.mp4", pan_frames(frames=2, size=(48, 32)))
    calls = calls_of(monkeypatch, optimise, "style_grams")
    config = TransferConfig(size=48, steps=1, init="fast", early_stop=False, color=color)
    result = paint_video(clip, painting, tmp_path / "out.mp4", config, gif=False)
    assert result.frames == 2 and len(calls) == taken
