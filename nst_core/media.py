"""Clips in and out: a container's header checked against limits, frames decoded, H.264 MP4 and GIF written.

PyAV (FFmpeg) does the decoding and encoding; its wheels bundle libx264,
libvpx-vp9 and AAC. A clip is checked from its header (:func:`probe`) before its
frames are decoded; frames are turned upright as players show them (a phone
filming upright stores them sideways with a display matrix); the sound of a
clip is re-encoded as AAC into the painted MP4, cut to the painted frames' length.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from .errors import VideoError

if TYPE_CHECKING:
    from av.audio.frame import AudioFrame
    from av.container import InputContainer, OutputContainer
    from av.video.stream import VideoStream

CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "MP4/MOV", "matroska,webm": "WebM", "gif": "GIF"}


GIF_MAX_SECONDS = 10.0  # clips up to this long also get a GIF
PALETTE_SAMPLES = 12  # frames a GIF's one palette is chosen from


@dataclass(frozen=True)
class VideoLimits:
    """What one clip may be; checked from the container's header before decoding."""

    max_seconds: float = 20.0
    max_frames: int = 480  # painted; a clip with more is thinned: 1 frame in 2, in 3... (at most 1 in 8)
    max_pixels: int = 3840 * 2160  # per frame (4K UHD); an 8K frame is refused
    max_bytes: int = 200 * 1024 * 1024


MAX_EVERY = 8  # the most a clip is thinned: 1 frame in 8 painted (a 20 s clip at 192 frames/s)


@dataclass(frozen=True)
class ClipInfo:
    """A clip's header."""

    width: int
    height: int
    fps: Fraction
    frames: int  # declared or estimated from duration x rate
    seconds: float
    has_audio: bool
    container: str  # for people: "MP4/MOV", "WebM", "GIF"
    rotation: int = 0  # degrees counter-clockwise that the frames are turned by to be shown; width and height as shown


def probe(path: Path, limits: VideoLimits = VideoLimits()) -> ClipInfo:
    """Read a clip's header and check it against the limits; only the first frame is decoded, for the turn a
    player gives the frames (a phone's display matrix), and the size is the size as shown.

    Raises:
        VideoError: missing, empty, not a video we read, a single image, too long, too many frames, too large.
    """
    import av

    if not path.is_file():
        raise VideoError(f"No video file at {path}.")
    size = path.stat().st_size
    if size == 0:
        raise VideoError("The video file is empty.")
    if size > limits.max_bytes:
        raise VideoError(
            f"The video file is too large ({size / 1e6:.0f} MB); the limit is {limits.max_bytes / 1e6:.0f} MB."
        )
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError):
        raise VideoError("This file is not a video we can read, or it is damaged; use MP4, WebM, MOV or GIF.") from None
    with container:
        kind = CONTAINERS.get(container.format.name)
        if kind is None or not container.streams.video:
            raise VideoError("This file is not a video we can read; use MP4, WebM, MOV or GIF.")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        rate = stream.average_rate or stream.guessed_rate or Fraction(0)
        seconds = (
            float(container.duration / 1_000_000)
            if container.duration
            else float(stream.duration or 0) * float(stream.time_base or 0)
        )
        frames = stream.frames or round(seconds * float(rate))
        has_audio = bool(container.streams.audio)
        rotation = _first_rotation(container) if width * height <= limits.max_pixels else 0
    if rotation in (90, -90):
        width, height = height, width
    if width <= 0 or height <= 0 or rate <= 0:
        raise VideoError("This video's header gives no frame size or frame rate; it cannot be painted.")
    if width * height > limits.max_pixels:
        raise VideoError(f"The video's frames are too large ({width}x{height}); the limit is "
                         f"{frame_limit(limits.max_pixels)}.")  # fmt: skip
    if seconds > limits.max_seconds:
        raise VideoError(f"The video is too long ({seconds:.0f} s); the limit is {limits.max_seconds:g} s.")
    if frames > limits.max_frames * MAX_EVERY:
        raise VideoError(f"The video has too many frames ({frames}); the limit is {limits.max_frames * MAX_EVERY}.")
    if frames < 2:
        raise VideoError("This file holds a single picture, not a video; paint it as a picture instead.")
    return ClipInfo(width, height, Fraction(rate), frames, seconds, has_audio, kind, rotation)


NAMED_SIZES = {3840 * 2160: "3840x2160 (4K)", 1920 * 1080: "1920x1080 (full HD)", 1280 * 720: "1280x720 (HD)"}


def frame_limit(pixels: int) -> str:
    """A limit on a frame's pixels, as a visitor reads it: a named size, else megapixels."""
    return NAMED_SIZES.get(pixels, f"{pixels / 1e6:.3g} megapixels a frame")


def least_every(frames: int, limits: VideoLimits, every: int = 1) -> int:
    """The thinning a clip of ``frames`` is painted at (1: every frame, 2: 1 frame in 2...): ``every`` as asked,
    or more when that is needed to paint at most ``limits.max_frames``."""
    return max(every, -(-frames // limits.max_frames))


def painted_count(frames: int, every: int) -> int:
    """How many of ``frames`` are painted when every ``every``-th one is (the first always)."""
    return len(range(0, frames, every))


def _first_rotation(container: InputContainer) -> int:
    """The display rotation of the first frame (a phone filming upright stores its frames sideways and says so
    in a display matrix, -90 for most); 0 without one or when the first frame cannot be decoded."""
    import av

    try:
        for frame in container.decode(video=0):
            return _quarter_turns(frame.rotation)
    except av.error.FFmpegError:
        pass
    return 0


def _quarter_turns(degrees: int) -> int:
    """A display rotation rounded to a quarter turn in -90, 0, 90, 180."""
    turned = round(degrees / 90) % 4 * 90
    return -90 if turned == 270 else turned


_UPRIGHT = {
    90: Image.Transpose.ROTATE_90,
    -90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
}


def upright(picture: Image.Image, rotation: int) -> Image.Image:
    """A decoded frame turned as players show it: ``rotation`` degrees counter-clockwise (FFmpeg's sign)."""
    turn = _UPRIGHT.get(_quarter_turns(rotation))
    return picture if turn is None else picture.transpose(turn)


def read_frames(path: Path, size: tuple[int, int], every: int = 1) -> Iterator[Image.Image]:
    """The clip's frames (the first and every ``every``-th after it), upright as players show them, as RGB
    images of ``size`` (width, height); stops at the first undecodable frame."""
    import av

    with av.open(str(path), metadata_errors="ignore") as container:
        try:
            for index, frame in enumerate(container.decode(video=0)):
                if index % every:
                    continue
                picture: Image.Image = upright(frame.to_image(), frame.rotation)  # type: ignore[no-untyped-call]
                yield picture.convert("RGB").resize(size, Image.Resampling.LANCZOS)
        except av.error.FFmpegError:
            return  # a truncated clip: the frames before the damage are painted


def even_size(width: int, height: int) -> tuple[int, int]:
    """H.264 with 4:2:0 colour needs even sides."""
    return max(2, width - width % 2), max(2, height - height % 2)


def write_mp4(frames: Sequence[Image.Image], fps: Fraction, output: Path, audio_from: Path | None = None) -> None:
    """H.264 (yuv420p) at ``fps``; the sound of ``audio_from`` re-encoded as AAC, cut to the frames' length."""
    import av

    with av.open(str(output), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames[0].size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        sound = _SoundCopy(audio_from, container) if audio_from is not None else None  # streams before packets
        encode_frames(container, stream, frames)
        if sound is not None:
            sound.copy(len(frames) / float(fps))


def encode_frames(container: OutputContainer, stream: VideoStream, frames: Sequence[Image.Image]) -> None:
    """Every frame through the stream's encoder into the container, then the encoder's last packets."""
    import av

    for image in frames:
        frame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
        for packet in stream.encode(frame.reformat(format="yuv420p")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


class _SoundCopy:
    """The first audio stream of a clip, re-encoded as AAC into another container."""

    def __init__(self, source: Path, container: OutputContainer) -> None:
        import av

        self.source, self.container = source, container
        with av.open(str(source), metadata_errors="ignore") as original:
            rate = original.streams.audio[0].codec_context.sample_rate or 44100
        self.stream = container.add_stream("aac", rate=rate)
        self.resampler = av.AudioResampler(format="fltp", layout=self.stream.codec_context.layout, rate=rate)

    def copy(self, seconds: float) -> None:
        """The sound up to ``seconds`` (the painted part of the clip)."""
        import av

        with av.open(str(self.source), metadata_errors="ignore") as original:
            try:
                for frame in original.decode(audio=0):
                    if frame.time is not None and frame.time >= seconds:
                        break
                    for converted in self.resampler.resample(frame):
                        self._mux(converted)
            except av.error.FFmpegError:
                pass  # damaged sound after the good part: keep what was read
        for converted in self.resampler.resample(None):
            self._mux(converted)
        for packet in self.stream.encode():
            self.container.mux(packet)

    def _mux(self, frame: AudioFrame) -> None:
        for packet in self.stream.encode(frame):
            self.container.mux(packet)


def write_gif(frames: Sequence[Image.Image], fps: Fraction, output: Path) -> None:
    """An animated GIF at (about) ``fps``, looping, every frame in one palette (:func:`shared_palette`)."""
    duration = round(1000 / float(fps))
    palette = shared_palette(frames)
    indexed = [frame.convert("RGB").quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG) for frame in frames]
    # The palette given and optimize=False: Pillow would otherwise store a palette with every frame.
    colours = bytes(palette.getpalette() or [])
    indexed[0].save(output, format="GIF", save_all=True, append_images=indexed[1:], duration=duration, loop=0,
                    palette=colours, optimize=False)  # fmt: skip


def shared_palette(frames: Sequence[Image.Image]) -> Image.Image:
    """256 colours for a whole clip, chosen from :data:`PALETTE_SAMPLES` frames spread over it.

    Left to Pillow, every frame gets a palette of its own: the GIF took as long to write as the clip to paint, and
    the colours could flicker from frame to frame (docs/design.md, "Figures behind choices in the code").
    """
    sample = list(frames[:: max(1, len(frames) // PALETTE_SAMPLES)])[:PALETTE_SAMPLES]
    width, height = sample[0].size
    mosaic = Image.new("RGB", (width, height * len(sample)))
    for index, frame in enumerate(sample):
        mosaic.paste(frame.convert("RGB"), (0, height * index))
    return mosaic.quantize(256, method=Image.Quantize.MEDIANCUT)
