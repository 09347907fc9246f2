"""A picture on the page: validated, submitted to the job service, watched with live progress, kept in the gallery.

Every failure becomes one sentence on the page. The page's Stop (or the toolbar's) ends the job after its
step with its best picture so far, which the gallery keeps like any other.
"""

from __future__ import annotations

import streamlit as st
from PIL import Image

from app.inputs import Styles
from app.jobs import StatusView, about, active_work, finished, new_preview, stop, submit, watch_to_the_end
from app.regions import Regions
from app.runtime import Runtime, checked_config, get_log, preload
from app.session import Entry, keep, kept, next_number, remember
from job_service.jobs import JobStatus, StopWhy, Work
from job_service.work import InstantWork, Painted, PictureWork
from nst_core.config import TransferConfig
from nst_core.errors import NSTError
from nst_core.reports import HistoryPoint
from nst_core.reports import Progress as StepReport
from nst_core.schedule import scale_sizes

KINDS = ("picture", "instant")  # the jobs of this page
LABELS_KEY = "picture_labels"  # the names of the paintings of the job under way, for its live view
DRAWING_KEY = "picture_drawing"  # the regions drawn for the job under way, kept with its painting
CHART_EVERY = 5  # steps between loss-chart updates
STOP_NOTES: dict[StopWhy, str] = {
    "cancelled": "stopped at step {step}",
    "replaced": "stopped at step {step} for your next painting",
    "time budget": "stopped at the time limit",
    "converged": "converged early",
}


def progress_line(report: StepReport, config: TransferConfig, content_size: tuple[int, int], left: float) -> str:
    """Where the run is, counted per scale as the slider counts, and its time left (``left`` s, planned by the
    job service from the work really left and this run's own pace)."""
    if report.step == 0:
        return "Instant painting ready · " + ("refining it…" if report.total else "done")
    done_before = sum(steps for _, steps in scale_sizes(config, content_size)[: report.scale])
    scale = f"Scale {report.scale + 1}/{report.scales} · " if report.scales > 1 else ""
    return (f"{scale}Step {report.step - done_before}/{config.steps} · {report.size[0]}×{report.size[1]} px · "
            f"{about(left)} left")  # fmt: skip


def history_point(point: HistoryPoint) -> dict[str, float]:
    losses = point.losses
    return {"step": point.step, "seconds": point.elapsed, "content": losses.content, "style": losses.style,
            "total": losses.total}  # fmt: skip


class LiveView:
    """The line, the progress bar, the forming picture and the loss chart of one picture job.

    Drawn inside the page's form, right under its button: the Stop button is that form's second submit button
    (pressing it reruns the page, whose next run stops the job and shows what it kept).
    """

    def __init__(self, content: Image.Image, styles: list[Image.Image], labels: str, config: TransferConfig) -> None:
        self.config, self.content_size = config, content.size
        self.view = StatusView()
        self.stop_pressed = st.form_submit_button(
            "Stop and keep this", key="stop_run", help="Ends the run after the current step and keeps its best image."
        )
        columns = st.columns(3)
        columns[0].image(content, caption="Photo", width="stretch")
        columns[1].image(styles[0], caption=labels, width="stretch")
        self.live = columns[2].empty()
        self.chart = st.empty()
        self.preview_number = 0
        self.chart_step = 0

    def draw(self, status: JobStatus) -> None:
        self.view.status(status, "its best picture so far")
        if status.state == "waiting":
            self.view.progress(0.0, "Waiting for the device…")
            return
        progress = status.progress
        report = progress.detail if progress is not None else None
        if not isinstance(report, StepReport):
            self.view.progress(0.0, f"Starting · {about(status.left)} left")
            return
        self.view.progress(report.fraction, progress_line(report, self.config, self.content_size, status.left))
        fresh = new_preview(status, self.preview_number)
        if fresh is not None:
            (shown, image), self.preview_number = fresh, status.preview_number
            caption = f"Step {shown.step}" if shown.step else "Instant painting"
            self.live.image(image, caption=caption, width="stretch")


def submit_picture(
    runtime: Runtime, content: Image.Image, styles: Styles, chosen: TransferConfig, regions: Regions | None = None
) -> None:
    """Validate and submit a picture job for this visitor (``regions``: painted by region); a refusal is one
    sentence."""
    if regions is not None and regions.problem is not None:
        st.error(regions.problem)
        return
    masks = regions.masks if regions is not None else None
    try:
        config = checked_config(runtime, chosen)
        instant = config.init == "fast" and config.steps == 0
        work: Work
        paintings = [image for _, image in styles]
        if instant:
            work = InstantWork(content, paintings, config, masks)
        else:
            work = PictureWork(content, paintings, config, preload(config, runtime), masks)
    except NSTError as error:
        st.error(str(error))
        return
    if submit(runtime, work, st.empty()) is not None:
        keep(LABELS_KEY, " + ".join(label for label, _ in styles))
        keep(DRAWING_KEY, regions.drawing if regions is not None else None)


def watch_picture(runtime: Runtime) -> bool:
    """Draw this visitor's picture job until it is done, then keep it; False when there is none."""
    under_way: tuple[str, PictureWork | InstantWork] | None = active_work(runtime, KINDS, (PictureWork, InstantWork))
    if under_way is None:
        return False
    job, work = under_way
    view = LiveView(work.content, work.styles, kept(LABELS_KEY) or "Painting", work.config)
    if view.stop_pressed:
        stop(runtime, job)
    watch_to_the_end(runtime, job, view.draw)
    return True


def keep_pictures(runtime: Runtime) -> None:
    """Move this visitor's finished pictures into the gallery (or say why one gave nothing)."""
    for _, painted in finished(runtime, KINDS, Painted):
        result = painted.result
        config = TransferConfig.from_dict(result.recipe)
        notes = []
        if config.init == "fast":
            notes.append("instant painting, refined" if config.steps else "instant painting")
        if painted.stopped == "turn":
            notes.append(f"ended after {runtime.limits.fair_share_seconds:g} s: others were waiting")
        elif painted.stopped in STOP_NOTES:
            notes.append(STOP_NOTES[painted.stopped].format(step=result.steps))
        get_log().info(
            "run done: %dx%d px, %d steps, %.1f s, %s, %s, GPU peak %s MiB",
            result.image.width, result.image.height, result.steps, result.seconds, result.device, result.precision,
            result.recipe.get("gpu_peak_mib", "-"),
        )  # fmt: skip
        points = [history_point(point) for point in result.history]
        if result.recipe.get("regions"):
            count = result.recipe["regions"]
            notes.append(f"{count} region{'s' if count > 1 else ''}")
        remember(Entry(next_number(), result.image, painted.content, painted.styles, result.recipe, result.seconds,
                       result.steps, " · ".join(notes), points, painted.previews, start=painted.start,
                       drawing=kept(DRAWING_KEY)))  # fmt: skip
