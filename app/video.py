"""A clip on the page: its upload, its parameters, the run frame by frame with live progress, the result."""

from __future__ import annotations

import functools
import tempfile
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

import streamlit as st
from PIL import Image
from streamlit.runtime.uploaded_file_manager import UploadedFile

from app.inputs import ASSETS, Styles, credit
from app.run import FairShare, in_gate, seconds_left
from app.runtime import Runtime, get_handoff, get_log
from app.session import VIDEO_KEY, VideoEntry, keep, session_id
from nst_core.config import MIN_SIZE, TransferConfig
from nst_core.errors import NSTError
from nst_core.media import ClipInfo, VideoLimits, least_every, painted_count, probe, write_gif, write_mp4
from nst_core.video import FrameProgress, paint_video

VIDEO_TYPES = ["mp4", "webm", "mov", "gif"]
EXAMPLE_CLIP = ASSETS / "video" / "big_buck_bunny.mp4"
MAX_REFINE_STEPS = 20  # per frame, on the page


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
    and reading a 4K clip's first frame for its turn took 0.8 s. A refusal is not kept (it is raised again)."""
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
        size = st.slider("Frame size (longest side, px)", MIN_SIZE, max_size, min(256, max_size), step=32,
                         key="video_size")  # fmt: skip
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
        gif = st.checkbox("Also make a GIF (clips up to 10 s)", value=True, key="video_gif")
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


def run_video(runtime: Runtime, clip: tuple[Path, ClipInfo], styles: Styles, controls: VideoControls) -> None:
    """Paint the clip holding the device (planned as one run of known work), with progress per frame."""
    if not styles:
        st.error("Choose at least one painting.")
        return
    path, info = clip
    every = controls.every
    planned = painted_count(info.frames, every)
    try:
        config = TransferConfig(**controls.values, preview_every=0, device=str(runtime.device),
                                precision=runtime.precision)  # fmt: skip
        runtime.limits.check(config)
        config = runtime.limits.clamp(config)  # the whole clip's time on the device, as for a picture
    except NSTError as error:
        st.error(str(error))
        return
    work = runtime.pace.seconds(config, (info.width, info.height), frames=planned)
    notice = budget_notice(work, config.max_seconds, planned)
    if notice:
        st.info(notice)  # shown while it paints
    status = st.empty()
    bar = st.progress(0.0, text="Waiting for the device…")
    st.button("Stop and keep the frames so far", key="stop_video")
    live = st.empty()
    painted: list[Image.Image] = []
    started = time.monotonic()
    owner, handoff = session_id(), get_handoff()
    output = path.with_name("painted.mp4")

    fair: list[FairShare] = []

    def on_progress(progress: FrameProgress) -> None:
        painted.append(progress.preview)
        if fair and fair[0].over():
            status.info(f"Others are waiting: the clip ends after this frame ({len(painted)} painted).")
        text = f"Frame {progress.frame}/{progress.frames} · {time_left(progress, config.max_seconds)}"
        bar.progress(min(1.0, progress.frame / progress.frames), text=text)
        live.image(progress.preview, caption=f"Frame {progress.frame}", width="content")

    def job(cancel: threading.Event) -> VideoEntry:
        fair.append(FairShare(runtime, cancel))
        try:
            result = paint_video(path, [image for _, image in styles], output, config, gif=controls.gif,
                                 every=every, on_progress=on_progress, cancel=cancel)  # fmt: skip
        except BaseException as stop:
            if not isinstance(stop, Exception) and painted:
                # Streamlit stopped this script (Stop, a new submit): the frames so far still make a video.
                fps = info.fps / every
                handoff.put(owner, _partial(painted, fps, path if info.has_audio else None, output,
                                            time.monotonic() - started))  # fmt: skip
            raise
        gif_bytes = result.gif.read_bytes() if result.gif else None
        note = {"time budget": f"ended at this server's limit of {config.max_seconds:g} s per clip",
                "cancelled": "stopped early"}.get(result.stopped or "", "")  # fmt: skip
        return VideoEntry(output.read_bytes(), gif_bytes, result.frames, float(result.fps), result.width,
                          result.height, result.seconds, note)  # fmt: skip

    entry = in_gate(runtime, status, bar, job, work)
    if entry is None:
        return
    get_log().info("video done: %d frames, %dx%d px, %.1f s", entry.frames, entry.width, entry.height, entry.seconds)
    keep(VIDEO_KEY, entry)
    st.rerun()


def time_left(progress: FrameProgress, max_seconds: float | None) -> str:
    """The time left at the pace of the frames so far, or to the clip's time limit if that is sooner."""
    return seconds_left((progress.frames - progress.frame) * progress.elapsed / progress.frame, progress.elapsed,
                        max_seconds)  # fmt: skip


def budget_notice(work: float, max_seconds: float | None, frames: int) -> str | None:
    """What a visitor is told before a clip that would take longer than a run's time (``work``: its planned
    seconds): how much of it the video will hold. None when it fits."""
    if max_seconds is None or work <= max_seconds:
        return None
    share = max(1, min(frames - 1, int(frames * max_seconds / work)))
    return (f"This clip would take about {work:.0f} s here; a clip is painted for at most {max_seconds:g} s, so "
            f"the video will hold about its first {share} of {frames} frames (a smaller frame size, fewer steps "
            "or fewer frames painted per second paints more of it).")  # fmt: skip


def _partial(painted: list[Image.Image], fps: Fraction, sound: Path | None, output: Path, seconds: float) -> VideoEntry:
    """A valid, shorter video of the frames painted before the run was stopped (``sound``: the clip, if it
    has any)."""
    write_mp4(painted, fps, output, audio_from=sound)
    gif = output.with_suffix(".gif")
    write_gif(painted, fps, gif)
    width, height = painted[0].size
    return VideoEntry(output.read_bytes(), gif.read_bytes(), len(painted), float(fps), width, height, seconds,
                      f"stopped after frame {len(painted)}")  # fmt: skip


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
