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

from app.inputs import Styles
from app.runtime import Runtime, get_handoff, get_log, load_model
from app.session import Entry, next_number, remember, session_id
from nst_core.backbone import FeatureExtractor
from nst_core.config import TransferConfig
from nst_core.errors import BusyError, NSTError, WeightsError
from nst_core.reports import Progress, StopReason, TransferResult
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


def progress_line(progress: Progress, rate: float) -> str:
    if progress.step == 0:
        return "Instant painting ready · " + ("refining it…" if progress.total else "done")
    left = (progress.total - progress.step) / rate if rate > 0 else 0.0
    scale = f" · scale {progress.scale + 1}/{progress.scales}" if progress.scales > 1 else ""
    return (
        f"Step {progress.step}/{progress.total} · {rate:.1f} steps/s · about {left:.0f} s left · "
        f"{progress.size[0]}×{progress.size[1]} px{scale}"
    )


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


def in_gate(runtime: Runtime, status: Any, bar: Any, job: Callable[[threading.Event], T]) -> T | None:
    """Run ``job(cancel)`` holding a device slot; every failure becomes one sentence on the page.

    Exceptions that are not ``Exception`` (Streamlit stopping the script) propagate; the slot
    is released in any case.
    """

    def on_wait(position: int, estimate: float) -> None:
        status.info(f"You are number {position} in line; about {estimate:.0f} s to wait.")

    try:
        with runtime.gate.slot(session_id(), on_wait=on_wait) as ticket:
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
    bar.empty()
    return None


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
    """The progress bar, the forming picture and the loss chart of one run, fed from its progress reports."""

    def __init__(self, content: Image.Image, styles: Styles) -> None:
        self.status = st.empty()
        self.bar = st.progress(0.0, text="Waiting for the device…")
        st.button(
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
        self.bar_due, self.preview_due = Throttle(BAR_INTERVAL), Throttle(PREVIEW_INTERVAL)

    def on_retry(self, old: int, new: int) -> None:
        self.status.warning(f"The GPU ran out of memory at {old} px; retrying at {new} px.")

    def on_progress(self, progress: Progress) -> None:
        if self.first_step_at is None and progress.step >= 1:
            self.first_step_at = progress.elapsed
        since = progress.elapsed - (self.first_step_at or progress.elapsed)
        rate = (progress.step - 1) / max(since, 1e-6) if progress.step > 1 else 0.0
        last = progress.step >= progress.total
        if self.bar_due(progress.elapsed, last):
            self.bar.progress(progress.fraction, text=progress_line(progress, rate))
        self.points.append(history_point(progress))
        if progress.preview is not None:
            self.frames.append(progress.preview)  # every one, for the time-lapse
            del self.frames[:-MAX_FRAMES]
            if self.preview_due(progress.elapsed, last):
                caption = f"Step {progress.step}" if progress.step else "Instant painting"
                self.live.image(progress.preview, caption=caption, width="stretch")
                self.chart.vega_lite_chart(loss_chart_spec(self.points), width="stretch")
        elif progress.step % CHART_EVERY == 0 and self.preview_due(progress.elapsed, last):
            self.chart.vega_lite_chart(loss_chart_spec(self.points), width="stretch")


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
    view = LiveView(content, styles)
    number = next_number()
    style_images = [image for _, image in styles]
    started = time.monotonic()
    # Taken now: once Streamlit is stopping this script, st.* calls (caches, session state) raise again.
    owner, handoff = session_id(), get_handoff()

    def entry(image: Image.Image, recipe: dict[str, Any], seconds: float, steps: int, note: str) -> Entry:
        return Entry(number, image, content, style_images, recipe, seconds, steps, note, view.points, view.frames)

    def job(cancel: threading.Event) -> TransferResult:
        try:
            return stylize_with_retry(
                content, style_images, config, on_retry=view.on_retry, on_progress=view.on_progress, cancel=cancel,
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

    result = in_gate(runtime, view.status, view.bar, job)
    if result is None:
        return
    get_log().info(
        "run done: %dx%d px, %d steps, %.1f s, %s, %s, GPU peak %s MiB",
        result.image.width, result.image.height, result.steps, result.seconds, result.device, result.precision,
        result.recipe.get("gpu_peak_mib", "-"),
    )  # fmt: skip
    notes = []
    if config.init == "fast":
        notes.append("instant painting, refined" if config.steps else "instant painting")
    if result.stopped:
        notes.append(STOP_NOTES[result.stopped])
    note = " · ".join(notes)
    remember(entry(result.image, result.recipe, result.seconds, result.steps, note))
    st.rerun()
