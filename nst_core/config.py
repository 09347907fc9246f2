"""One frozen, validated configuration: the single source of defaults and bounds.

The CLI derives its options from the fields of :class:`TransferConfig`
(types, defaults, help) and the page its form, so a new parameter is added
once and the front-ends cannot drift apart. ``TransferConfig`` checks
every field when it is built, whatever the caller (a form, argparse, a test
or a hand-written dict), and raises :class:`~nst_core.errors.ConfigError`
with a sentence that names the field and its bounds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from .errors import ConfigError

# The layers of Gatys et al. (2016): content from conv4_2, style from the
# first convolution of every block, each read after its ReLU.
CONTENT_LAYER = "relu4_2"
STYLE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
# Per-layer style weights of the source report (Gatys et al. use 1/5 each).
STYLE_LAYER_WEIGHTS: tuple[float, ...] = (1.0, 0.75, 0.2, 0.2, 0.2)

Optimizer = Literal["lbfgs", "adam", "gd"]
Init = Literal["content", "noise", "image", "fast"]
ColorMode = Literal["none", "luminance", "match"]
Backbone = Literal["vgg19", "vgg16"]
Precision = Literal["auto", "fp32", "bf16"]

OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)
INITS: tuple[str, ...] = get_args(Init)
COLOR_MODES: tuple[str, ...] = get_args(ColorMode)
BACKBONES: tuple[str, ...] = get_args(Backbone)
PRECISIONS: tuple[str, ...] = get_args(Precision)

# Named weight sources; anything else is read as a path to a .safetensors file.
WEIGHT_SOURCES: tuple[str, ...] = ("original", "torchvision", "hub")

# Hard bounds that hold for every caller, the CLI included.
MIN_SIZE = 32  # px; below this VGG's five pooling stages leave nothing to compare
HARD_MAX_SIZE = 4096  # px, longest side
HARD_MAX_STEPS = 5000
MAX_WEIGHT = 1e6  # for content, style and TV weights
MAX_STYLES = 8
MAX_SEED = 2**63 - 1

# Values the page offers for the log-scaled weights (the CLI takes any number in bounds).
STYLE_WEIGHT_PRESETS: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0)
TV_WEIGHT_PRESETS: tuple[float, ...] = (0.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)

# Steps per scale a run plans by default, by where it starts: from the photo, the paper's 40; from the instant
# painting, which has done most of the work already, 15 (bench/results/warm-start.md measures the curve).
COARSE_SIZE = 256  # px; a multi-scale run paints its first scale at about this size
MULTISCALE_ABOVE = round(1.5 * COARSE_SIZE)  # px; outputs above this are optimised coarse-to-fine
DEFAULT_SIZE = 256  # px; the output size of a picture or a clip frame unless asked otherwise (a CPU's default)
PHOTO_START_STEPS = 40
WARM_START_STEPS = 15


def default_steps(init: str) -> int:
    """The steps per scale a run starting from ``init`` plans by default."""
    return WARM_START_STEPS if init == "fast" else PHOTO_START_STEPS


# Learning rates on pixels in [0, 1] for the first-order optimisers.
DEFAULT_LEARNING_RATES: Mapping[str, float] = {"lbfgs": 1.0, "adam": 0.03, "gd": 0.01}


def option(default: Any, help: str) -> Any:
    """A config field whose ``help`` the CLI's options and the page's tooltips read (one place for both)."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class TransferConfig:
    """Every parameter of one style-transfer run, validated on construction.

    Each field's ``help`` (in its metadata) is the sentence the CLI and the page show for it.
    """

    size: int = option(DEFAULT_SIZE, "longest side of the output, px")
    steps: int = option(
        PHOTO_START_STEPS,
        f"optimiser iterations at each scale; above {MULTISCALE_ABOVE} px the picture is first painted smaller (by "
        f"default {PHOTO_START_STEPS} from the photo, {WARM_START_STEPS} from the instant painting)",
    )
    optimizer: Optimizer = option("lbfgs", "lbfgs, adam or gd (plain gradient descent)")
    content_weight: float = option(1.0, "weight of the content loss")
    style_weight: float = option(100.0, "style strength; means the same at every size")
    tv_weight: float = option(0.0, "smoothness (total variation, the report's 'denoise')")
    init: Init = option(
        "content",
        "what the optimisation starts from: content (the photo), noise, image, or fast (the instant painting)",
    )
    strength: float = option(1.0, "instant painting's style strength: 0 = the photo's own style, 1 = the painting's")
    color: ColorMode = option(
        "none", "luminance: keep the photo's colours; match: recolour the paintings to the photo first"
    )
    style_scale: float = option(1.0, "painting size relative to the output (larger = bigger brush strokes)")
    style_blend: tuple[float, ...] = option((), "one weight per painting; empty = equal")
    seed: int = option(0, "seeds the noise initialisation (a per-run generator)")
    learning_rate: float | None = option(None, "step factor; None = the optimiser's default")
    multiscale: bool = option(True, f"paint coarse-to-fine above {MULTISCALE_ABOVE} px")
    seen_smaller: bool = option(
        True, "score each finer scale also seen at the coarser scale's size (it keeps what the smaller picture had)"
    )
    early_stop: bool = option(True, "end a scale once the loss stops improving")
    backbone: Backbone = option("vgg19", "vgg19 or vgg16")
    weights: str = option("original", "original, torchvision, hub, or a .safetensors file")
    content_layer: str = option(CONTENT_LAYER, "the layer whose features the content loss compares")
    style_layers: tuple[str, ...] = option(STYLE_LAYERS, "the layers whose Gram matrices the style loss compares")
    style_layer_weights: tuple[float, ...] = option(STYLE_LAYER_WEIGHTS, "one weight per style layer")
    preview_every: int = option(5, "steps between preview images; 0 = none")
    max_seconds: float | None = option(None, "stop after this many seconds and keep the best picture so far")
    device: str = option("auto", "auto, cpu, cuda, cuda:N or mps")
    precision: Precision = option(
        "auto", "of the VGG convolutions: auto = bf16 where native (AMX or AVX512-BF16 CPUs, Ampere+ GPUs), else fp32"
    )
    cuda_graphs: bool = option(True, "replay each scale's loss and gradient as one captured CUDA graph (on CUDA)")

    def __post_init__(self) -> None:
        check_int("size", self.size, MIN_SIZE, HARD_MAX_SIZE)
        check_int("steps", self.steps, 0, HARD_MAX_STEPS)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_float("content_weight", self.content_weight, 0.0, MAX_WEIGHT)
        check_float("style_weight", self.style_weight, 0.0, MAX_WEIGHT)
        check_float("tv_weight", self.tv_weight, 0.0, MAX_WEIGHT)
        _check_choice("init", self.init, INITS)
        check_float("strength", self.strength, 0.0, 1.0)
        _check_choice("color", self.color, COLOR_MODES)
        check_float("style_scale", self.style_scale, 0.1, 4.0)
        object.__setattr__(self, "style_blend", tuple(self.style_blend))
        if len(self.style_blend) > MAX_STYLES:
            raise ConfigError(f"At most {MAX_STYLES} style images can be blended.")
        for weight in self.style_blend:
            check_float("each style blend weight", weight, 0.0, MAX_WEIGHT)
        if self.style_blend and sum(self.style_blend) <= 0:
            raise ConfigError("At least one style blend weight must be above 0.")
        check_int("seed", self.seed, 0, MAX_SEED)
        if self.learning_rate is not None:
            check_float("learning_rate", self.learning_rate, 1e-6, 100.0)
            if self.learning_rate <= 0:
                raise ConfigError("learning_rate must be above 0.")
        _check_bool("multiscale", self.multiscale)
        _check_bool("seen_smaller", self.seen_smaller)
        _check_bool("early_stop", self.early_stop)
        _check_choice("backbone", self.backbone, BACKBONES)
        if not isinstance(self.weights, str) or not self.weights.strip():
            raise ConfigError("weights must name a source: original, torchvision, hub or a .safetensors file.")
        object.__setattr__(self, "style_layers", tuple(self.style_layers))
        object.__setattr__(self, "style_layer_weights", tuple(float(w) for w in self.style_layer_weights))
        if not self.style_layers:
            raise ConfigError("At least one style layer is needed.")
        if len(self.style_layer_weights) != len(self.style_layers):
            raise ConfigError(
                f"{len(self.style_layers)} style layers need {len(self.style_layers)} layer weights, "
                f"not {len(self.style_layer_weights)}."
            )
        for weight in self.style_layer_weights:
            check_float("each style layer weight", weight, 0.0, MAX_WEIGHT)
        check_int("preview_every", self.preview_every, 0, HARD_MAX_STEPS)
        if self.max_seconds is not None:
            check_float("max_seconds", self.max_seconds, 0.1, 24 * 3600.0)
        if not isinstance(self.device, str):
            raise ConfigError("device must be auto, cpu, cuda, cuda:N or mps.")
        _check_choice("precision", self.precision, PRECISIONS)
        _check_bool("cuda_graphs", self.cuda_graphs)

    @property
    def effective_learning_rate(self) -> float:
        """The learning rate in use: the given one or the optimiser's default."""
        if self.learning_rate is not None:
            return self.learning_rate
        return DEFAULT_LEARNING_RATES[self.optimizer]

    def replace(self, **changes: Any) -> TransferConfig:
        """A copy with some fields changed, validated again."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, for recipes."""
        values = dataclasses.asdict(self)
        for key, value in values.items():
            if isinstance(value, tuple):
                values[key] = list(value)
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TransferConfig:
        """Build from a recipe; unknown keys are ignored, lists become tuples."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in names}
        return cls(**kwargs)


def check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be a whole number, not {value!r}.")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}; {value} was given.")


def check_float(name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, not {value!r}.")
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number; {value} was given.")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}; {value:g} was given.")


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; {value!r} was given.")


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, not {value!r}.")


def field_help(name: str) -> str:
    """The help sentence of a :class:`TransferConfig` field, for the CLI and the page."""
    return str(_FIELDS[name].metadata["help"])


_FIELDS = {item.name: item for item in dataclasses.fields(TransferConfig)}
