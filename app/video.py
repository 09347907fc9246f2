"""A clip on the page: its upload, its parameters, the run frame by frame with live progress, the result."""

from __future__ import annotations

import functools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import streamlit as st
from PIL import Image
from streamlit.runtime.uploaded_file_manager import UploadedFile

from app.inputs import ASSETS, Styles, credit
from app.jobs import StatusView, about, active_work, finished, new_preview, stop, submit, watch_to_the_end
from app.regions import Regions
from app.runtime import Runtime, get_log
from app.session import VIDEO_KEY, VideoEntry, keep, session_id
from job_service.capacity import SIZE_STEP
from job_service.jobs import JobStatus, Progress
from job_service.work import Clip, ClipWork
from nst_core.config import DEFAULT_SIZE, MIN_SIZE, TransferConfig
from nst_core.errors import NSTError
from nst_core.images import fit_size
from nst_core.media import (
    GIF_MAX_SECONDS,
    ClipInfo,
    VideoLimits,
    even_size,
    least_every,
    painted_count,
    probe,
    read_frames,
)

VIDEO_TYPES = ["mp4", "webm", "mov", "gif"]
EXAMPLE_CLIP = ASSETS / "video" / "big_buck_bunny.mp4"
MAX_REFINE_STEPS = 20  # per frame, on the page
KINDS = ("clip",)  # the jobs of this page
# s at least between two frames shown while a clip paints: at every frame, a small clip sent ten pictures a second
# to the browser, more than anyone follows, from the server that paints it.
PREVIEW_SECONDS = 0.5
FRAME_SIDE = 512  # px, the first frame read for drawing its regions on (the masks are resized to the clip)


def render_clip_picker(limits: VideoLimits, upload_mb: float) -> tuple[Path, ClipInfo] | None:
    """The example clip or an upload (``upload_mb``: the server's cap, stated in the label), saved to this
    session's folder and checked from its header; None until an upload is chosen.

    Raises:
        VideoError: the clip cannot be used (a sentence that says why).
    """
    st.subheader("1 · Your clip")
    source = st.radio("Clip", ["Example", "Upload"], horizontal=True, key="video_source",
                      label_visibility="collapsed")  # fmt: skip
    if source == "Example":
        st.caption(credit(EXAMPLE_CLIP))
        path = _saved(f"example{EXAMPLE_CLIP.suffix}", EXAMPLE_CLIP.read_bytes)
    else:
        upload: UploadedFile | None = st.file_uploader(
            f"Upload a short clip (MP4, WebM, MOV or animated GIF; up to {limits.max_seconds:g} s and "
            f"{upload_mb:g} MB)",
            type=VIDEO_TYPES,
            key="video_upload",
            help=f"A phone films about 1 to 2 MB a second at 1080p: for {upload_mb:g} MB, trim the clip to a few "
            "seconds, or film at 720p. Clips filmed upright come out upright.",
        )
        if upload is None:
            return None
        path = _saved(f"upload-{upload.file_id}{Path(upload.name).suffix.lower()}", upload.getvalue)
    info = _probed(path, path.stat().st_mtime_ns, limits)
    if path.suffix == ".gif":
        st.image(str(path), width="stretch")
    else:
        st.video(str(path), muted=True, width="stretch")  # the clip as it goes in
    least = least_every(info.frames, limits)
    thinned = f"; over {limits.max_frames} frames, so 1 frame in {least} is painted" if least > 1 else ""
    st.caption(f"{info.container}, {info.width}×{info.height} px, {info.frames} frames at {float(info.fps):.3g} "
               f"frames/s, {info.seconds:.1f} s" + (", with sound" if info.has_audio else "") + thinned)  # fmt: skip
    return path, info


@functools.lru_cache(maxsize=64)
def _probed(path: Path, written: int, limits: VideoLimits) -> ClipInfo:
    """The clip's header, read once per file written (``written``: its mtime): the page draws it on every rerun,
    and reading a large clip's first frame is slow. A refusal is not kept (it is raised again)."""
    return probe(path, limits)


def _saved(name: str, contents: Callable[[], bytes]) -> Path:
    """The clip as a file in this session's own folder (the painted clip is written beside it, so never in
    the read-only assets), written once per clip (not on every rerun); an earlier clip's files and painted
    clips are removed when another one is chosen."""
    folder = Path(tempfile.gettempdir()) / f"nst-video-{session_id()}"
    folder.mkdir(exist_ok=True)
    path = folder / f"input-{name}"
    if not path.exists():
        for old in folder.iterdir():
            old.unlink(missing_ok=True)
        path.write_bytes(contents())
    return path


class VideoControls(NamedTuple):
    """What the form sets: config values, whether to write a GIF, and 1 frame in how many to paint."""

    values: dict[str, Any]
    gif: bool
    every: int


def render_video_controls(max_size: int, info: ClipInfo | None, limits: VideoLimits) -> VideoControls:
    """The clip's parameters (in a form the caller opened); the frame rates offered follow the clip ``info``."""
    left, right = st.columns(2)
    with left:
        size = st.slider("Frame size (longest side, px)", MIN_SIZE, max_size, min(DEFAULT_SIZE, max_size),
                         step=SIZE_STEP, key="video_size")  # fmt: skip
        refined = st.radio(
            "Method",
            ["instant", "refined"],
            format_func={"instant": "Instant, coherent", "refined": "Refined (optimised per frame)"}.__getitem__,
            horizontal=True,
            key="video_method",
            help="Instant: the feed-forward network paints each frame, tied to the previous one by optical flow. "
            "Refined: each frame is also optimised, starting from the previous painted frame moved by the flow.",
        )
        steps = st.slider("Steps per frame (refined)", 1, MAX_REFINE_STEPS, 5, key="video_steps")
    with right:
        every = render_frame_rate(info, limits)
        strength = st.slider("Instant strength", 0.0, 1.0, 1.0, 0.05, key="video_strength")
        colours = {"none": "Style's colours", "luminance": "Photo's colours"}
        color = st.radio("Colours", list(colours), format_func=colours.__getitem__, horizontal=True, key="video_color")
        gif = st.checkbox(f"Also make a GIF (clips up to {GIF_MAX_SECONDS:g} s)", value=True, key="video_gif")
    values = {"size": int(size), "steps": int(steps) if refined == "refined" else 0, "init": "fast",
              "strength": float(strength), "color": color}  # fmt: skip
    return VideoControls(values, bool(gif), every)


def render_frame_rate(info: ClipInfo | None, limits: VideoLimits) -> int:
    """Frames painted: 1 in 1, 2, 3 or 4 (from the least a long clip needs), named by the rate they give."""
    least = 1 if info is None else least_every(info.frames, limits)
    choices = [every for every in range(least, least + 4) if info is None or painted_count(info.frames, every) >= 2]

    def label(every: int) -> str:
        share = "every frame" if every == 1 else f"1 frame in {every}"
        return share if info is None else f"{float(info.fps / every):.3g} frames/s ({share})"

    every: int = st.selectbox(
        "Frames painted",
        choices,
        format_func=label,
        key=f"video_every_{least}",  # a clip that needs more thinning gets a fresh choice
        help="Fewer frames per second: a clip is painted sooner (or more of it within the time limit), each "
        "painted frame shown longer; the sound is kept whole.",
    )
    return every


def first_frame(clip: tuple[Path, ClipInfo] | None) -> Image.Image | None:
    """The clip's first frame, upright (the picture its regions are drawn on); None without a clip."""
    if clip is None:
        return None
    path, info = clip
    return _first_frame(str(path), fit_size((info.width, info.height), FRAME_SIDE, check=False))


@st.cache_data(show_spinner=False, max_entries=16)
def _first_frame(path: str, size: tuple[int, int]) -> Image.Image | None:
    """Decoded once per clip (the page reruns on every click)."""
    return next(read_frames(Path(path), size), None)


def submit_clip(runtime: Runtime, clip: tuple[Path, ClipInfo], styles: Styles, controls: VideoControls,
                regions: Regions | None = None) -> None:  # fmt: skip
    """Submit the clip as a job of known work (its frames at this device's pace); a refusal is one sentence."""
    if regions is not None and regions.problem is not None:
        st.error(regions.problem)
        return
    path, info = clip
    planned = painted_count(info.frames, controls.every)
    try:
        config = TransferConfig(**controls.values, preview_every=0, device=str(runtime.device),
                                precision=runtime.precision)  # fmt: skip
        runtime.limits.check(config)
        config = runtime.limits.clamp(config)  # the whole clip's time on the device, as for a picture
    except NSTError as error:
        st.error(str(error))
        return
    size = even_size(*fit_size((info.width, info.height), config.size))
    gif = controls.gif and info.seconds <= GIF_MAX_SECONDS  # a longer clip gets none (its plan has none)
    work = ClipWork(path, [image for _, image in styles], path.with_name("painted.mp4"), config, size, planned,
                    controls.every, gif, regions.masks if regions is not None else None)  # fmt: skip
    submit(runtime, work, st.empty())


def watch_clip(runtime: Runtime) -> bool:
    """Draw this visitor's clip job until it is done, then keep it; False when there is none."""
    under_way = active_work(runtime, KINDS, ClipWork)
    if under_way is None:
        return False
    job, work = under_way
    notice = budget_notice(work.planned(runtime.pace), work.config.max_seconds, work.frames)
    if notice:
        st.info(notice)  # shown while it paints
    view = StatusView()
    if st.button("Stop and keep the frames so far", key="stop_video"):
        stop(runtime, job)
    live = st.empty()
    number, drawn = [0], [0.0]  # the preview on the page, and when it was drawn

    def draw(status: JobStatus) -> None:
        progress = status.progress
        view.status(status, "the frames painted so far, and carries on after the others' turn")
        if progress is None:
            view.progress(0.0, "Waiting for the device…" if status.state == "waiting" else "Starting…")
            return
        view.progress(min(1.0, progress.fraction), frame_line(status, progress))
        now = time.monotonic()
        fresh = new_preview(status, number[0]) if now - drawn[0] >= PREVIEW_SECONDS else None
        if fresh is not None:
            (latest, image), number[0], drawn[0] = fresh, status.preview_number, now
            live.image(image, caption=f"Frame {latest.step}", width="content")

    watch_to_the_end(runtime, job, draw)
    return True


def frame_line(status: JobStatus, progress: Progress) -> str:
    """Where a clip is: its frame and time left, or, once the last frame is painted, that the video is written
    (it said "Frame 48/48 · about 0 s left" while the video was written, seconds on a CPU)."""
    if status.state == "done" or progress.step >= progress.steps or status.stopped is not None:
        return f"Frame {progress.step}/{progress.steps} · writing the video…"
    return f"Frame {progress.step}/{progress.steps} · {about(status.left)} left"


def keep_clip(runtime: Runtime) -> None:
    """Keep this visitor's finished clip for the page (or say why it gave nothing)."""
    for status, clip in finished(runtime, KINDS, Clip):
        video = clip.video
        gif_bytes = video.gif.read_bytes() if video.gif else None
        note = CLIP_NOTES.get(clip.stopped or "", "").format(frames=video.frames, seconds=runtime.limits.max_seconds)
        get_log().info("video done: %d frames, %dx%d px, %.1f s", video.frames, video.width, video.height,
                       video.seconds)  # fmt: skip
        keep(VIDEO_KEY, VideoEntry(video.output.read_bytes(), gif_bytes, video.frames, float(video.fps), video.width,
                                   video.height, status.used, note))  # fmt: skip


CLIP_NOTES = {
    "time budget": "ended at this server's limit of {seconds:g} s per clip",
    "cancelled": "stopped after frame {frames}",
    "replaced": "stopped after frame {frames} for your next job",
}


def budget_notice(work: float, max_seconds: float | None, frames: int) -> str | None:
    """What a visitor is told before a clip that would take longer than a run's time (``work``: its planned
    seconds): how much of it the video will hold. None when it fits."""
    if max_seconds is None or work <= max_seconds:
        return None
    share = max(1, min(frames - 1, int(frames * max_seconds / work)))
    return (f"This clip would take about {work:.0f} s here; a clip is painted for at most {max_seconds:g} s, so "
            f"the video will hold about its first {share} of {frames} frames (a smaller frame size, fewer steps "
            "or fewer frames painted per second paints more of it).")  # fmt: skip


def render_video_result(entry: VideoEntry) -> None:
    st.subheader("Painted clip")
    note = f" · {entry.note}" if entry.note else ""
    st.caption(f"{entry.frames} frames · {entry.width}×{entry.height} px · {entry.fps:.3g} frames/s · "
               f"painted in {entry.seconds:.1f} s{note}")  # fmt: skip
    st.video(entry.mp4, format="video/mp4", loop=True, width=max(entry.width, min(2 * entry.width, 720)))
    left, right = st.columns(2)
    left.download_button("Download MP4", entry.mp4, file_name="painted.mp4", mime="video/mp4", key="download_mp4",
                         width="stretch")  # fmt: skip
    if entry.gif:
        right.download_button("Download GIF", entry.gif, file_name="painted.gif", mime="image/gif",
                              key="download_video_gif", width="stretch")  # fmt: skip
