"""The job service's works with the real model on tiny pictures: plans, Stop keeps the best step, turns, limits."""

from __future__ import annotations

import threading
import time

import pytest
import torch
from PIL import Image

from job_service.capacity import measure_once
from job_service.clock import PRIOR_SECONDS, PRIOR_STEPS, learn_run, prior_units
from job_service.pace import Pace
from job_service.scheduler import Scheduler
from job_service.work import ClipWork, ComparisonWork, Painted, PictureWork
from nst_core.config import TransferConfig
from nst_core.images import fit_size, resize, to_tensor
from nst_core.losses import build_gatys_loss
from nst_core.reports import TransferResult
from nst_core.schedule import megapixel_steps
from nst_core.transfer import stylize
from tests.conftest import CONTENT, STYLE, small

TINY = TransferConfig(size=64, steps=50, preview_every=5, early_stop=False, device="cpu")


def test_the_pace_plans_a_run_from_its_megapixel_steps_and_learns():
    photo = (1024, 768)
    config = TransferConfig(size=512, steps=40, early_stop=False)  # 40 steps at 256x192, then 40 at 512x384
    # The fine scale's steps also score the picture seen at the coarse size.
    assert megapixel_steps(config, photo) == pytest.approx(40 * (256 * 192 + 512 * 384 + 256 * 192) / 1e6)
    assert megapixel_steps(config, photo, done=50) == pytest.approx(30 * (512 * 384 + 256 * 192) / 1e6)
    pace = Pace(step=10.0, instant=1.0, setup_steps=0.5, overhead=0.05)
    steps = 2 * 40  # two scales of 40 steps, each step also paying its overhead
    stepping = 10.0 * megapixel_steps(config, photo) + 0.05 * steps
    # Its setup: half a step of its own, on average over its scales.
    assert pace.picture_seconds(config, photo) == pytest.approx(0.5 * stepping / steps + stepping)
    instant = config.replace(init="fast", steps=0)
    one_step = 10.0 * 512 * 384 / 1e6 + 0.05  # at its size
    assert pace.picture_seconds(instant, photo) == pytest.approx(0.5 * one_step + 512 * 384 / 1e6)
    pace.learn_steps(0.15, 0.1)  # a large step: 1 s per megapixel-step besides the overhead, a third of the way there
    assert pace.step == pytest.approx(10.0 - 9.0 / 3)
    pace.learn_steps(0.06 + pace.step * 0.01, 0.01)  # a small one teaches the overhead
    assert pace.overhead == pytest.approx(0.05 + 0.01 / 3)
    pace.learn_converge(0.4)  # a run that could stop early took 40% of its steps
    early = config.replace(early_stop=True)
    expected = 0.8 * (pace.step * megapixel_steps(config, photo) + pace.overhead * steps)
    assert pace.steps_seconds(early, photo) == pytest.approx(expected)


def test_a_runs_setup_is_planned_in_its_own_steps_at_any_size(extractor):
    """A run's setup (its targets, the recipe, the PNG) grows with its pixels as its steps do: about 0.8 of a step at
    96-384 px here, 0.08 s at 96 px and 1.0-1.4 s at 384 px. A flat 0.5 s planned the first comparison's three
    96 px runs 1.4 s too long, and told the clip's visitor behind it 6 s for 4.2 s (python -m bench.load); a flat
    figure learned at one size was as wrong at another. A 64 px run, on the device's probed pace as a server's, now
    plans a 128 px run's setup to within a factor of two of the one measured."""
    photo, painting = small(CONTENT, 128), small(STYLE, 128)

    def setup(result: TransferResult) -> float:  # its seconds besides its steps, each step as long as its mean
        steps = [point for point in result.history if point.step >= 1]
        per_step = (steps[-1].elapsed - steps[0].elapsed) / (steps[-1].step - steps[0].step)
        return result.seconds - per_step * result.steps

    pace = Pace.for_device("cpu")
    measured = measure_once(extractor, torch.device("cpu"))
    pace.take_step(measured.seconds_per_megapixel_step, measured.overhead_seconds)
    config = TransferConfig(size=64, steps=4, early_stop=False, preview_every=0, device="cpu", precision="fp32")
    assert pace.picture_seconds(config, photo.size) < 0.5  # not a flat half a second for its setup alone
    learn_run(pace, config, photo.size, stylize(photo, [painting], config, extractor=extractor))
    larger = config.replace(size=128)
    measured = setup(stylize(photo, [painting], larger, extractor=extractor))
    assert 0.5 * measured < pace.setup_seconds(larger, photo.size) < 2.0 * measured, (measured, pace)


def test_a_pictures_first_slow_steps_are_weighed_against_the_devices_pace():
    """Its own pace from its first steps alone (slowed by nine pages starting at once) told the visitor behind
    the first picture 10 s for 3.0 s (python -m bench.load); it counts as many steps as it has measured."""
    from nst_core.reports import Losses
    from nst_core.reports import Progress as StepReport

    config = TransferConfig(size=256, steps=40, multiscale=False, early_stop=False)
    photo, megapixels = (256, 192), 256 * 192 / 1e6
    pace = Pace(step=10.0, instant=1.0, setup_steps=1.0, overhead=0.0)  # 0.49 s a step, and its setup one step
    work = PictureWork(Image.new("RGB", photo), [], config)

    def at(step: int, elapsed: float) -> StepReport:
        report = StepReport(step, 40, Losses(0.0, 0.0, 0.0, 0.0), elapsed, photo, 0, 1, None)
        work.clock.note(report)
        work.latest = report
        return report

    at(1, 1.0)
    at(3, 1.0 + 2 * 1.5)  # two steps of 1.5 s: three times the device's pace
    device = 37 * 10.0 * megapixels
    own = 37 * 1.5
    setup = 10.0 * megapixels
    assert work.left(pace, None, 4.0) == pytest.approx((2 * own + PRIOR_STEPS * device) / (2 + PRIOR_STEPS) + setup)
    assert work.left(pace, None, 4.0) < 0.6 * own  # not its 37 steps at 1.5 s each
    for step in range(4, 31):  # then 27 steps more at the same 1.5 s: its own pace counts 29 steps to 5
        at(step, 1.0 + (step - 1) * 1.5)
    own, device = 10 * 1.5, 10 * 10.0 * megapixels
    assert work.left(pace, None, 44.5) == pytest.approx((29 * own + PRIOR_STEPS * device) / (29 + PRIOR_STEPS) + setup)


def test_short_frames_are_weighed_against_the_devices_pace_for_two_seconds_of_them(tmp_path, style_image):
    """Five frames of 0.13 s were too few: the second frame alone, slowed by the page drawing the first, still
    told the visitor behind the clip 9 s where 4.6 s came (python -m bench.load)."""
    pace = Pace(step=10.0, instant=1.0, frame=0.1 / (384 * 216 / 1e6))  # 0.1 s a frame
    config = TransferConfig(size=256, steps=0, init="fast")
    clip = ClipWork(tmp_path / "in.mp4", [style_image], tmp_path / "out.mp4", config, (256, 144), frames=45)
    clip.done, clip.used_before = 2, 1.5
    clip.marks.extend([(1, 1.0), (2, 1.5)])  # the second frame 0.5 s
    assert prior_units(0.1) == pytest.approx(PRIOR_SECONDS / 0.1)
    per_frame = (0.5 + 20 * 0.1) / (1 + 20)
    assert clip.left(pace, None, 1.5) == pytest.approx(43 * per_frame + clip._encode(pace))
    assert clip.left(pace, None, 1.5) < 1.5 * (43 * 0.1 + clip._encode(pace))  # not 43 frames of 0.5 s


def loss_of(picture, content, style, extractor):
    """The content and style terms of a picture, at its own size, as the run scores it."""
    config = TransferConfig()
    painting = to_tensor(resize(style, fit_size(style.size, max(picture.size))))  # as the run takes it
    loss = build_gatys_loss(extractor, to_tensor(resize(content, picture.size)), [painting], (1.0,), config)
    with torch.no_grad():
        image = to_tensor(picture)
        content_term, style_term, _ = loss(image, extractor(image, loss.layers))
    return float(content_term), float(style_term)


def test_stop_at_a_step_between_previews_keeps_that_steps_best_picture(extractor, content_image, style_image):
    """Stopped at step 3 of a run previewed every 5 steps: the picture is the best scored by then, with its losses
    (it was the last preview, or the instant start); and it is never the last step's unscored picture."""
    cancel = threading.Event()
    previews = []

    def stop_at_three(progress) -> None:
        if progress.preview is not None:
            previews.append(progress.preview)
        if progress.step == 3:
            cancel.set()

    config = TINY.replace(size=96, init="fast")
    result = stylize(content_image, style_image, config, on_progress=stop_at_three, cancel=cancel, extractor=extractor)
    assert result.stopped == "cancelled" and result.steps == 3
    assert previews and result.image.tobytes() != previews[-1].tobytes()  # not the instant start, the one preview
    content_term, style_term = loss_of(result.image, content_image, style_image, extractor)
    assert content_term == pytest.approx(result.losses.content, rel=0.03)
    assert style_term == pytest.approx(result.losses.style, rel=0.03)


def test_a_picture_ends_at_its_turn_with_its_best_picture_when_someone_waits(extractor, content_image, style_image):
    service = Scheduler(Pace.for_device("cpu"), slots=1, max_waiting=4, share_seconds=0.5)
    work = PictureWork(content_image, [style_image], TINY.replace(steps=500), extractor)
    job = service.submit("first", work)
    deadline = time.monotonic() + 30
    while (service.status(job).progress is None or service.status(job).progress.step < 2) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.02)
    assert service.status(job).cut_in is None  # nobody waits: no end announced
    later = service.submit("second", PictureWork(content_image, [style_image], TINY.replace(steps=2), extractor))
    status = service.wait(job, 30)
    assert status.state == "done" and status.stopped == "turn"
    painted = status.result
    assert isinstance(painted, Painted) and painted.stopped == "turn" and 2 <= painted.result.steps < 500
    assert service.wait(later, 30).result.result.steps == 2


def test_the_one_behind_a_picture_waits_its_turn_and_the_step_under_way_not_its_setup_again(
    extractor, content_image, style_image
):
    """A picture cut at its turn ends after the step under way: its setup (the targets) came before its steps.
    Planned as one step and the whole setup, the visitor behind was told 0.7 s too much at 96 px (CI, 2026-12-02)."""
    pace = Pace.for_device("cpu")
    service = Scheduler(pace, slots=1, max_waiting=4, share_seconds=30.0)
    first = service.submit("first", PictureWork(content_image, [style_image], TINY.replace(steps=500), extractor))
    deadline = time.monotonic() + 30
    while (service.status(first).progress is None or service.status(first).progress.step < 2) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.02)
    pace.setup_steps = 100.0  # a setup far longer than a step, to tell the two apart
    second = service.submit("second", PictureWork(content_image, [style_image], TINY.replace(steps=2), extractor))
    try:
        cut_in, wait = service.status(first).cut_in, service.status(second).wait
        assert cut_in is not None and cut_in <= wait < cut_in + 2.0, (cut_in, wait)
    finally:
        service.cancel(second)
        service.cancel(first)
        service.wait(first, 30)


def test_a_pictures_time_left_stops_at_its_time_limit(content_image, style_image):
    pace = Pace(step=100.0, instant=1.0)
    long = TINY.replace(steps=500)  # 154 s of steps at this pace
    work = PictureWork(content_image, [style_image], long.replace(max_seconds=20.0))
    assert work.planned(pace) == pytest.approx(20.0 + work.finish(pace))
    assert work.left(pace, None, used=15.0) == pytest.approx(5.0 + work.finish(pace))
    assert PictureWork(content_image, [style_image], long).planned(pace) > 150


def test_a_clips_time_left_is_its_frames_at_its_own_pace_within_its_time_limit(tmp_path, style_image):
    # A frame smaller than the instant network's own size costs as much as one of that size (384x216 here):
    # the device's pace is 2 s a frame.
    pace = Pace(step=10.0, instant=1.0, frame=2.0 / (384 * 216 / 1e6))
    config = TransferConfig(size=256, steps=0, init="fast", max_seconds=180.0)
    clip = ClipWork(tmp_path / "in.mp4", [style_image], tmp_path / "out.mp4", config, (256, 144), frames=45)
    assert clip.left(pace, None, 0.0) == pytest.approx(45 * 2.0 + clip._encode(pace))
    # 4 s for the first frame (it also opens the clip), then the second alone 6 s (the page drawing the first
    # beside it): weighed against the device's pace as PRIOR_STEPS frames, not 6 s for each of the 43 left.
    clip.done, clip.used_before = 2, 10.0
    clip.marks.extend([(1, 4.0), (2, 10.0)])
    assert clip.left(pace, None, 10.0) == pytest.approx(43 * (6.0 + PRIOR_STEPS * 2.0) / (1 + PRIOR_STEPS)
                                                        + clip._encode(pace))  # fmt: skip
    assert clip.left(pace, None, 10.0) < 0.6 * 43 * 6.0
    # Then 2 s a frame: the 40 frames left at 2 s each (counted from the first frame on, 2.4 s each), less the
    # second already spent on the sixth.
    clip.done, clip.used_before = 5, 12.0
    clip.marks.clear()
    clip.marks.extend([(1, 4.0), (2, 6.0), (3, 8.0), (4, 10.0), (5, 12.0)])
    assert clip.left(pace, None, 13.0) == pytest.approx(40 * 2.0 - 1.0 + clip._encode(pace))
    # Slow frames early (others' pages starting: 5 s each), then 1 s a frame for the latest 8: the 25 frames left
    # are planned at 1 s each for the 19 frames measured, beside the device's 2 s (over all frames after the
    # first, 2.2 s each), less the half second spent on the 21st.
    clip.marks.clear()
    clip.marks.extend([(1, 4.0), *((frame, 4.0 + 5.0 * (frame - 1)) for frame in range(2, 13))])
    clip.marks.extend((frame, 59.0 + frame - 12) for frame in range(13, 21))
    clip.done, clip.used_before = 20, 67.0
    per_frame = (19 * 1.0 + PRIOR_STEPS * 2.0) / (19 + PRIOR_STEPS)
    assert clip.left(pace, None, 67.5) == pytest.approx(25 * per_frame - 0.5 + clip._encode(pace))
    # 10 s a frame: 250 s of frames, but the clip ends at its limit with what it painted.
    clip.marks.append((21, 77.0))
    clip.done, clip.used_before = 21, 77.0
    clip.marks.extend([(22, 87.0), (23, 97.0), (24, 107.0), (25, 117.0), (26, 127.0), (27, 137.0), (28, 147.0)])
    clip.done, clip.used_before = 28, 147.0
    assert clip.left(pace, None, 147.0) == pytest.approx(180.0 - 147.0 + clip.finish(pace))


def test_a_clips_seconds_after_its_last_frame_are_learned_from_the_clips_painted_to_their_end(tmp_path, style_image):
    """Its MP4 closed and GIF written on a server busy with other pages took longer than the figure measured alone:
    the visitor behind the clip was told "a few seconds" with 7 s to come (python -m bench.load)."""
    from fractions import Fraction

    from job_service.work import GIF_SECONDS_PER_MEGAPIXEL, Clip
    from nst_core.video import VideoResult

    pace = Pace(step=10.0, instant=1.0, frame=0.1 / (384 * 216 / 1e6))
    config = TransferConfig(size=96, steps=0, init="fast")

    def clip() -> ClipWork:
        return ClipWork(tmp_path / "in.mp4", [style_image], tmp_path / "out.mp4", config, (96, 54), frames=45)

    def painted(frames: int, used: float, stopped: str | None = None) -> None:
        work = clip()
        work.marks.extend([(frames - 1, 5.0), (frames, 5.2)])
        video = VideoResult(tmp_path / "out.mp4", None, frames, Fraction(12), 96, 54, used, "cpu", stopped, [])  # type: ignore[arg-type]
        work.learn(pace, Clip(video, None), used)

    gif = GIF_SECONDS_PER_MEGAPIXEL * 45 * 96 * 54 / 1e6
    first = pace.close
    painted(45, 5.2 + 1.5 + gif)  # 1.5 s to close the MP4, where 0.35 s was planned
    assert pace.close == pytest.approx(first + (1.5 - first) / 3)
    frame = pace.frame_seconds(config, (96, 54))  # (an instant clip teaches the frames' pace too)
    assert clip().left(pace, None, 0.0) == pytest.approx(45 * frame + pace.close + gif)  # the next clip's plan
    learned = pace.close
    painted(30, 5.2 + 9.0, "cancelled")  # stopped: what came after its last frame was not a whole clip's end
    assert pace.close == learned


def test_the_first_clip_is_planned_as_much_slower_as_the_pictures_came_than_the_probe_planned(
    extractor, tmp_path, content_image, style_image
):
    """The start-up probe measures the device alone; on a server busy with its pages the pictures came 15-20% late,
    and the first clip, planned from the probe alone, 15-40% late, telling the visitors behind it their last
    seconds 25-35% short (python -m bench.load). A real picture teaches how much slower the device paints than its
    probe; the clip's frames are planned at that until a clip teaches their own pace."""
    from job_service.capacity import InstantCapacity

    pace = Pace(step=15.0, instant=1.0, setup_steps=0.01, overhead=0.001)  # far too fast for every part of a run
    pace.take_step(1.0)  # a probe 25 times too fast: the picture takes twice its plan or more
    pace.take_instant(InstantCapacity(seconds_per_megapixel=1.0, frame_seconds_per_megapixel=2.0))
    config = TransferConfig(size=96, steps=0, init="fast")
    clip = ClipWork(tmp_path / "in.mp4", [style_image], tmp_path / "out.mp4", config, (96, 54), frames=45)
    alone = clip.planned(pace)
    service = Scheduler(pace, slots=1)
    picture = PictureWork(content_image, [style_image], TINY.replace(steps=5), extractor)
    done = service.wait(service.submit("visitor", picture), 60)
    assert done.state == "done" and done.stopped is None
    assert pace.slowdown == 2.0  # the most it is taken at
    assert clip.planned(pace) == pytest.approx(alone + 45 * 2.0 * (384 * 216 / 1e6) + 0.35)  # frames and close, twice
    assert pace.as_probed().overhead == 0.001 < pace.overhead  # the picture taught its steps' own pace
    assert pace.scale("step", "overhead") == 1.0  # which is not slowed again
    pace.learn("frame", 2.0, rate=0.1)  # the first clip's frame as it runs: from the figure as planned until then
    assert pace.frame == pytest.approx(4.0 - 0.1 * 2.0)
    pace.learn("frame", 2.0, rate=1.0)
    assert clip.planned(pace) == pytest.approx(alone + 0.35)  # a clip taught the frames: the close still slowed
    # The steps' two figures are planned together: the first lesson of one starts both from their slowed figures.
    fresh = Pace(step=10.0, instant=1.0, overhead=0.1)
    fresh.take_step(10.0)
    fresh.learn_slowdown(3.0, 2.0)
    before = fresh.steps_seconds(TINY, (64, 48))
    fresh.learn("overhead", 0.15, rate=0.0)  # a lesson that moves nothing
    assert fresh.steps_seconds(TINY, (64, 48)) == pytest.approx(before) and fresh.step == pytest.approx(15.0)
    unprobed = Pace(step=10.0, instant=1.0)
    unprobed.learn_slowdown(3.0, 2.0)
    assert unprobed.slowdown == 1.0  # no start-up probe: nothing to measure the slowdown against


def test_one_slow_frame_does_not_move_the_clips_plan(tmp_path, style_image):
    """A frame slowed by a moment's neighbour (another visitor's instant picture on the same cores) is one of the
    latest eight: the clip plans from their median (the figure an instant clip also teaches the device's pace),
    where their mean told the visitor behind it 7 s for 3.8 s."""
    pace = Pace(step=10.0, instant=1.0, frame=0.1 / (384 * 216 / 1e6))  # 0.1 s a frame
    config = TransferConfig(size=256, steps=0, init="fast")
    clip = ClipWork(tmp_path / "in.mp4", [style_image], tmp_path / "out.mp4", config, (256, 144), frames=45)
    ends = [1.0 + 0.1 * frame for frame in range(8)] + [1.8 + 0.45]  # frames 2-8 0.1 s each, the 9th 0.45 s
    clip.marks.extend((frame, end) for frame, end in enumerate(ends, start=1))
    clip.done, clip.used_before = 9, ends[-1]
    assert clip._recent_frame() == pytest.approx(0.1)
    assert clip.left(pace, None, ends[-1]) == pytest.approx(36 * 0.1 + clip._encode(pace))


def test_two_slow_steps_move_neither_the_pictures_plan_nor_the_devices_pace():
    """Steps slowed for a moment (another visitor's instant picture on the same cores) are two of the latest
    eight: the run plans from their median, and teaches the device that, where the mean since its first step
    and each step's own time told the visitor behind it 7 s for 4.2 s (python -m bench.load)."""
    from nst_core.reports import Losses
    from nst_core.reports import Progress as StepReport

    config = TransferConfig(size=256, steps=40, multiscale=False, early_stop=False)
    photo, megapixels = (256, 192), 256 * 192 / 1e6
    pace = Pace(step=0.4 / megapixels, instant=1.0, setup_steps=1.25, overhead=0.0)  # 0.4 s a step, 0.5 s setup
    work = PictureWork(Image.new("RGB", photo), [], config)
    elapsed = 0.0
    for step, seconds in enumerate([1.0, 0.4, 1.6, 1.6, 0.4, 0.4, 0.4, 0.4, 0.4], start=1):  # steps 3 and 4 slow
        elapsed += seconds
        work.latest = StepReport(step, 40, Losses(0.0, 0.0, 0.0, 0.0), elapsed, photo, 0, 1, None)
        work.clock.note(work.latest, pace)
    assert pace.step * megapixels == pytest.approx(0.4, rel=0.1)  # was 0.53: every step taught as it came
    assert work.left(pace, None, elapsed) == pytest.approx(31 * 0.4 + 0.5, rel=0.05)  # was 20.2 s for 12.9


def test_a_comparisons_runs_are_planned_with_their_judging_as_measured_not_a_runs_setup(content_image, style_image):
    """A comparison's run ends with its two distances judged (three passes of the network: 0.12 s at 96 px here),
    planned at a whole run's setup (targets, recipe, PNG) until then: a turn of two runs was planned 1.1-1.6 s long
    (python -m bench.load). The first comparison teaches the judging's own figure, and the later runs use it."""
    from nst_core import compare

    pace = Pace(step=15.0, instant=1.0, setup_steps=50.0, overhead=0.04)  # a setup far too long: not the judging's
    config = TransferConfig(size=64, steps=2, early_stop=False, preview_every=0, device="cpu")
    size = fit_size(content_image.size, 64)
    variants = compare.variants("method", ["refined", "gatys"], config)
    megapixels = size[0] * size[1] / 1e6
    assert pace.judging(size) == pytest.approx(1.5 * (15.0 * megapixels + 0.04))  # unmeasured: a step and a half
    pace.step = 1500.0  # a hundred times too slow (a guess of 7 s): the judging as measured replaces it
    service = Scheduler(pace, slots=1)
    done = service.wait(service.submit("presenter", ComparisonWork(content_image, [style_image], variants)), 60)
    assert done.state == "done" and len(done.result.results) == 2
    assert 0.0 < pace.judging(size) < 1.0  # measured, though the runs' setup is still learned far above
    assert pace.setup_steps > 10.0
    assert pace.judging((2 * size[0], 2 * size[1])) == pytest.approx(4 * pace.judging(size))  # by its pixels
    later = ComparisonWork(content_image, [style_image], variants)
    pictures = [pace.picture_seconds(variant.config, content_image.size) for variant in variants]
    assert later.planned(pace) == pytest.approx(sum(pictures) + 2 * pace.judging(size))
