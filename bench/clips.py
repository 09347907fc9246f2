"""Short test clips made here: a camera pan over an example photo with a sprite crossing it, and a tone.

The true motion is known: the background moves ``pan`` px left per frame and
the sprite ``sprite_speed`` px right per frame.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
from PIL import Image, ImageDraw

from nst_core.media import encode_frames

if TYPE_CHECKING:
    from av.audio.stream import AudioStream
    from av.video.stream import VideoStream

CONTENT = Path(__file__).resolve().parent.parent / "assets" / "content" / "tubingen.jpg"


def pan_frames(
    frames: int = 12, size: tuple[int, int] = (96, 64), pan: int = 3, sprite_speed: int = 5
) -> list[Image.Image]:
    """A window sliding right over the photo (so the scene moves left), with a red disc moving right."""
    width, height = size
    photo = Image.open(CONTENT).convert("RGB")
    scene = photo.resize((width + pan * frames + 8, round(photo.height * (width + pan * frames + 8) / photo.width)))
    top = max(0, (scene.height - height) // 2)
    images = []
    for index in range(frames):
        view = scene.crop((index * pan, top, index * pan + width, top + height))
        draw = ImageDraw.Draw(view)
        x = 8 + index * sprite_speed
        draw.ellipse((x, height // 2 - 8, x + 16, height // 2 + 8), fill=(220, 30, 30))
        images.append(view)
    return images


def sprite_at(index: int, size: tuple[int, int] = (96, 64), sprite_speed: int = 5) -> np.ndarray:
    """(H, W) bool: the pixels the red disc of ``pan_frames`` covers in frame ``index``."""
    width, height = size
    grid_y, grid_x = np.mgrid[0:height, 0:width]
    covered: np.ndarray = (grid_x - (16 + index * sprite_speed)) ** 2 + (grid_y - height // 2) ** 2 <= 64
    return covered


def write_clip(
    path: Path,
    images: list[Image.Image],
    fps: int = 12,
    audio: bool = True,
    container: str = "mp4",
    rotation: int = 0,
) -> Path:
    """Encode frames (H.264 in MP4, VP9 in WebM) with a 440 Hz tone as AAC (MP4) or Opus (WebM).

    ``rotation``: a display matrix asking players to turn the frames this many degrees counter-clockwise, as a
    phone filming upright does (-90: its frames are stored sideways, shown turned a quarter clockwise).
    """
    import av

    codec, audio_codec = ("libvpx-vp9", "libopus") if container == "webm" else ("libx264", "aac")
    with av.open(str(path), "w", format=container) as output:
        stream = cast("VideoStream", output.add_stream(codec, rate=fps))
        stream.width, stream.height = images[0].size
        stream.pix_fmt = "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)
        rate = 48000
        # Every stream before the first packet.
        sound = cast("AudioStream", output.add_stream(audio_codec, rate=rate)) if audio else None
        encode_frames(output, stream, images)
        if sound is not None:
            layout = sound.codec_context.layout.name
            channels = len(sound.codec_context.layout.channels)
            seconds = len(images) / fps
            t = np.arange(int(rate * seconds)) / rate
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, len(tone), 960):
                chunk = np.repeat(tone[None, start : start + 960], channels, axis=0)
                piece = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout=layout)
                piece.sample_rate = rate
                piece.pts = start
                piece.time_base = Fraction(1, rate)
                for packet in sound.encode(piece):
                    output.mux(packet)
            for packet in sound.encode():
                output.mux(packet)
    return path


def write_gif(path: Path, images: list[Image.Image], fps: int = 12) -> Path:
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    return path
