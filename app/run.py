"""A run on the page: validated, queued for the device, painted with live progress, kept in the gallery.

Every failure becomes one sentence on the page; Streamlit stopping the script
(Stop, a new submit, a departed visitor) hands the picture so far to the
session's next script run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
from PIL import Image
from streamlit.delta_generator import DeltaGenerator

from app.inputs import Styles
from app.runtime import Runtime, get_handoff, get_log, load_model
from app.session import Entry, next_number, remember, session_id
from nst_core.backbone import FeatureExtractor
from nst_core.config import TransferConfig
from nst_core.errors import BusyError, NSTError, WeightsError
from nst_core.reports import Progress, StopReason, TransferResult
from nst_core.schedule import megapixel_steps, scale_sizes
from nst_core.transfer import stylize_with_retry

T = TypeVar("T")

CHART_EVERY = 5  # steps between loss-chart updates
BAR_INTERVAL = 0.05  # s between progress-bar updates: a GPU runs 100+ steps a second
PREVIEW_INTERVAL = 0.25  # s between live pictures and charts (each is an encoded image sent to the browser)
MAX_FRAMES = 60  # preview frames kept per run for the time-lapse
PREVIEW_EVERY = 5  # steps between previews
STOP_NOTES: dict[StopReason, str] = {
    "cancelled": "stopped early",
    "time budget": "stopped at the time limit",
    "converged": "converged early",
}


class Throttle:
    """True at most once per ``interval`` seconds of run time, and always when forced (the last step)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last: float | None = None

    def __call__(self, now: float, force: bool = False) -> bool:
        if force or self.last is None or now - self.last >= self.interval:
            self.last = now
            return True
        return False


def progress_line(progress: Progress, config: TransferConfig, content_size: tuple[int, int], pace: float) -> str:
    """Where the run is, counted per scale as the slider counts; time left from the work still planned at
    each scale's own size and this run's measured seconds per megapixel-step (``pace``; 0 before it is known)."""
    if progress.step == 0:
        return "Instant painting ready · " + ("refining it…" if progress.total else "done")
    done_before = sum(steps for _, steps in scale_sizes(config, content_size)[: progress.scale])
    left = pace * megapixel_steps(config, content_size, progress.step) if pace else 0.0
    scale = f"Scale {progress.scale + 1}/{progress.scales} · " if progress.scales > 1 else ""
    estimate = f" · {seconds_left(left, progress.elapsed, config.max_seconds)}" if pace else ""
    return (
        f"{scale}Step {progress.step - done_before}/{config.steps} · {progress.size[0]}×{progress.size[1]} px{estimate}"
    )


def seconds_left(left: float, elapsed: float, max_seconds: float | None) -> str:
    """The time left as a progress line says it: ``left`` at this pace, or to the run's time limit if sooner
    (the run ends there with what it has)."""
    if max_seconds is not None and elapsed + left > max_seconds:
        return f"about {max(0.0, max_seconds - elapsed):.0f} s left (the time limit)"
    return f"about {left:.0f} s left"


def history_point(progress: Progress) -> dict[str, float]:
    losses = progress.losses
    return {"step": progress.step, "seconds": progress.elapsed, "content": losses.content, "style": losses.style,
            "total": losses.total}  # fmt: skip


def loss_chart_spec(points: list[dict[str, float]]) -> dict[str, Any]:
    """A Vega-Lite line chart of the three loss terms against the step, log scale."""
    rows = [
        {"step": p["step"], "seconds": p["seconds"], "term": term, "loss": p[term]}
        for p in points
        for term in ("content", "style", "total")
        if p[term] > 0  # a log scale cannot show 0 (the content loss of the first step)
    ]
    return {
        "data": {"values": rows},
        "mark": {"type": "line", "point": False},
        "encoding": {
            "x": {"field": "step", "type": "quantitative"},
            "y": {"field": "loss", "type": "quantitative", "scale": {"type": "log"}},
            "color": {"field": "term", "type": "nominal"},
        },
        "height": 220,
    }


def in_gate(
    runtime: Runtime,
    status: DeltaGenerator,
    bar: DeltaGenerator,
    job: Callable[[threading.Event], T],
    work: float | None = None,
) -> T | None:
    """Run ``job(cancel)`` holding a device slot; every failure becomes one sentence on the page.

    ``work`` is the run's planned seconds (so those behind it are told an honest wait). Exceptions
    that are not ``Exception`` (Streamlit stopping the script) propagate; the slot is released in any case.
    """

    def on_wait(position: int, estimate: float) -> None:
        status.info(f"You are number {position} in line; about {estimate:.0f} s to wait (updated as it goes).")

    owner, handoff, admitted = session_id(), get_handoff(), []  # taken now: a stopping script cannot call st.*
    try:
        with runtime.gate.slot(owner, on_wait=on_wait, work=work) as ticket:
            admitted.append(True)
            status.empty()
            return job(ticket.cancel)
    except BusyError as error:
        status.warning(str(error))
    except NSTError as error:
        status.error(str(error))
    except Exception:
        log = get_log()
        log.exception("run failed")
        status.error("Something went wrong while painting; please try again, perhaps smaller.")
    except BaseException:
        if not admitted:  # Streamlit stopped the script (Stop, a new submit) while this visitor waited in line
            handoff.put(owner, LEFT_THE_LINE)
        raise
    bar.empty()
    return None


LEFT_THE_LINE = "You left the line when you pressed Stop; press the button again to take a new place in it."


class FairShare:
    """Fair turns on a shared device: while others wait in line, a run ends after the deployment's share
    of time (``NST_FAIR_SHARE_SECONDS``) with its best picture so far."""

    def __init__(self, runtime: Runtime, cancel: threading.Event) -> None:
        self.gate, self.share, self.cancel = runtime.gate, runtime.limits.fair_share_seconds, cancel
        self.admitted = time.monotonic()

    def over(self) -> bool:
        """True (once) when the share is used up and someone waits; the run is then told to stop."""
        if self.cancel.is_set() or not self.gate.waiting or time.monotonic() - self.admitted < self.share:
            return False
        self.cancel.set()
        return True


def fair_share_rule(runtime: Runtime) -> str:
    """The rule, said before the button is pressed."""
    return (f"Fair turns: while others wait, a run ends after {runtime.limits.fair_share_seconds:g} s "
            "with its best picture so far.")  # fmt: skip


def checked_config(runtime: Runtime, values: dict[str, Any]) -> TransferConfig:
    """The form's values as a config within this deployment's limits; raises NSTError."""
    device, precision = str(runtime.device), runtime.precision
    config = TransferConfig(**values, preview_every=PREVIEW_EVERY, device=device, precision=precision)
    config = runtime.limits.clamp(config)
    runtime.limits.check(config)
    return config


def preload(config: TransferConfig, runtime: Runtime) -> FeatureExtractor:
    """The model for a config, with the fix named if its weights cannot be had."""
    try:
        return load_model(config.weights, config.backbone, str(runtime.device), runtime.precision)
    except WeightsError as error:
        raise WeightsError(f"{error} Choose 'Original VGG19' (and VGG19) under Advanced to continue.") from None


class LiveView:
    """The progress bar, the forming picture and the loss chart of one run, fed from its progress reports.

    Drawn inside the page's form, right under its button: the Stop button is that form's second submit button
    (pressing it reruns the page, which stops this run and hands its picture so far to the next rerun).
    """

    def __init__(self, content: Image.Image, styles: Styles, config: TransferConfig) -> None:
        self.config, self.content_size = config, content.size
        self.status = st.empty()
        self.bar = st.progress(0.0, text="Waiting for the device…")
        st.form_submit_button(
            "Stop and keep this", key="stop_run", help="Ends the run after the current step and keeps the image so far."
        )
        columns = st.columns(3)
        columns[0].image(content, caption="Photo", width="stretch")
        columns[1].image(styles[0][1], caption=" + ".join(label for label, _ in styles), width="stretch")
        self.live = columns[2].empty()
        self.chart = st.empty()
        self.points: list[dict[str, float]] = []
        self.frames: list[Image.Image] = []
        self.first_step_at: float | None = None
        self.pace = 0.0  # s per megapixel-step, measured in this run
        self.bar_due, self.preview_due = Throttle(BAR_INTERVAL), Throttle(PREVIEW_INTERVAL)

    def on_retry(self, old: int, new: int) -> None:
        self.status.warning(f"The GPU ran out of memory at {old} px; retrying at {new} px.")

    def on_progress(self, progress: Progress) -> None:
        if self.first_step_at is None and progress.step >= 1:
            self.first_step_at = progress.elapsed
        if progress.step > 1 and self.first_step_at is not None:
            work = megapixel_steps(self.config, self.content_size, 1) - megapixel_steps(
                self.config, self.content_size, progress.step
            )
            self.pace = (progress.elapsed - self.first_step_at) / work if work > 0 else 0.0
        last = progress.step >= progress.total
        if self.bar_due(progress.elapsed, last):
            self.bar.progress(
                progress.fraction, text=progress_line(progress, self.config, self.content_size, self.pace)
            )
        self.points.append(history_point(progress))
        if progress.preview is not None:
            self.frames.append(progress.preview)  # every one, for the time-lapse
            del self.frames[:-MAX_FRAMES]
            if self.preview_due(progress.elapsed, last):
                caption = f"Step {progress.step}" if progress.step else "Instant painting"
                self.live.image(progress.preview, caption=caption, width="stretch")
                if progress.step:  # the instant picture has no losses to draw
                    self.chart.vega_lite_chart(loss_chart_spec(self.points), width="stretch")
        elif progress.step % CHART_EVERY == 0 and self.preview_due(progress.elapsed, last):
            self.chart.vega_lite_chart(loss_chart_spec(self.points), width="stretch")


def learn(runtime: Runtime, config: TransferConfig, content_size: tuple[int, int], result: TransferResult) -> None:
    """Teach the device's pace what this run measured (for the next runs' plans)."""
    if config.steps == 0:
        runtime.pace.learn_instant(result.image.width * result.image.height / 1e6, result.seconds)
    steps = [point for point in result.history if point.step >= 1]
    if len(steps) > 1:
        work = megapixel_steps(config, content_size, 1) - megapixel_steps(config, content_size, steps[-1].step)
        runtime.pace.learn_steps(work, steps[-1].elapsed - steps[0].elapsed)


def run_transfer(runtime: Runtime, content: Image.Image, styles: Styles, values: dict[str, Any]) -> None:
    """Validate, queue, run with live progress, keep the result; every failure becomes one sentence."""
    if not styles:
        st.error("Choose at least one painting.")
        return
    try:
        config = checked_config(runtime, values)
        model = preload(config, runtime)
    except NSTError as error:
        st.error(str(error))
        return
    view = LiveView(content, styles, config)
    number = next_number()
    style_images = [image for _, image in styles]
    started = time.monotonic()
    # Taken now: once Streamlit is stopping this script, st.* calls (caches, session state) raise again.
    owner, handoff = session_id(), get_handoff()

    def entry(image: Image.Image, recipe: dict[str, Any], seconds: float, steps: int, note: str) -> Entry:
        return Entry(number, image, content, style_images, recipe, seconds, steps, note, view.points, view.frames)

    yielded: list[bool] = []

    def job(cancel: threading.Event) -> TransferResult:
        fair = FairShare(runtime, cancel)

        def on_progress(progress: Progress) -> None:
            view.on_progress(progress)
            if fair.over():
                yielded.append(True)

        try:
            return stylize_with_retry(
                content, style_images, config, on_retry=view.on_retry, on_progress=on_progress, cancel=cancel,
                extractor=model,
            )  # fmt: skip
        except BaseException as stop:
            if not isinstance(stop, Exception) and view.frames:
                # Streamlit stopped this script (Stop, a new submit): hand the picture so far to the next run.
                step = int(view.points[-1]["step"])
                recipe = {**config.to_dict(), "stopped_at_step": step}
                seconds = time.monotonic() - started
                handoff.put(owner, entry(view.frames[-1], recipe, seconds, step, f"stopped at step {step}"))
            raise

    work = runtime.pace.seconds(config, content.size)
    result = in_gate(runtime, view.status, view.bar, job, work)
    if result is None:
        return
    learn(runtime, config, content.size, result)
    get_log().info(
        "run done: %dx%d px, %d steps, %.1f s, %s, %s, GPU peak %s MiB",
        result.image.width, result.image.height, result.steps, result.seconds, result.device, result.precision,
        result.recipe.get("gpu_peak_mib", "-"),
    )  # fmt: skip
    notes = []
    if config.init == "fast":
        notes.append("instant painting, refined" if config.steps else "instant painting")
    if yielded:
        notes.append(f"ended after {runtime.limits.fair_share_seconds:g} s: others were waiting")
    elif result.stopped:
        notes.append(STOP_NOTES[result.stopped])
    note = " · ".join(notes)
    remember(entry(result.image, result.recipe, result.seconds, result.steps, note))
    st.rerun()
