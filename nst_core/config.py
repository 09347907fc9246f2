"""One frozen, validated configuration: the single source of defaults and bounds.

The CLI and the page read their defaults, choices and slider bounds from
here, so the three front-ends cannot drift apart. ``TransferConfig`` checks
every field when it is built, whatever the caller (a form, argparse, a test
or a hand-written dict), and raises :class:`~nst_core.errors.ConfigError`
with a sentence that names the field and its bounds.
"""

from __future__ import annotations

import dataclasses
import math
import os
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
Init = Literal["content", "noise", "image"]
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

# Learning rates on pixels in [0, 1] for the first-order optimisers.
DEFAULT_LEARNING_RATES: Mapping[str, float] = {"lbfgs": 1.0, "adam": 0.03, "gd": 0.01}


@dataclass(frozen=True)
class TransferConfig:
    """Every parameter of one style-transfer run, validated on construction."""

    size: int = 256  # px, longest side of the output
    steps: int = 40  # optimiser iterations at each scale (one scale up to 384 px)
    optimizer: Optimizer = "lbfgs"
    content_weight: float = 1.0  # weight of the content loss
    style_weight: float = 100.0  # "style strength"; means the same at every size
    tv_weight: float = 0.0  # total-variation (smoothness, the report's "denoise")
    init: Init = "content"  # the image the optimisation starts from
    color: ColorMode = "none"  # colour preservation
    style_scale: float = 1.0  # style image size relative to the output
    style_blend: tuple[float, ...] = ()  # one weight per style image; empty = equal
    seed: int = 0  # seeds noise initialisation, per run
    learning_rate: float | None = None  # None = the optimiser's default
    multiscale: bool = True  # coarse-to-fine above COARSE_SIZE
    early_stop: bool = True  # stop a scale once the loss stops improving
    backbone: Backbone = "vgg19"
    weights: str = "original"  # "original", "torchvision", "hub" or a .safetensors path
    content_layer: str = CONTENT_LAYER
    style_layers: tuple[str, ...] = STYLE_LAYERS
    style_layer_weights: tuple[float, ...] = STYLE_LAYER_WEIGHTS
    preview_every: int = 5  # steps between preview images; 0 = none
    max_seconds: float | None = None  # wall-clock budget; None = unlimited
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:N" or "mps"
    precision: Precision = "auto"  # of the VGG convolutions: bf16 where it is native and fast, else fp32
    cuda_graphs: bool = True  # on CUDA: replay each scale's loss and gradient as one CUDA graph

    def __post_init__(self) -> None:
        _check_int("size", self.size, MIN_SIZE, HARD_MAX_SIZE)
        _check_int("steps", self.steps, 0, HARD_MAX_STEPS)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_float("content_weight", self.content_weight, 0.0, MAX_WEIGHT)
        _check_float("style_weight", self.style_weight, 0.0, MAX_WEIGHT)
        _check_float("tv_weight", self.tv_weight, 0.0, MAX_WEIGHT)
        _check_choice("init", self.init, INITS)
        _check_choice("color", self.color, COLOR_MODES)
        _check_float("style_scale", self.style_scale, 0.1, 4.0)
        object.__setattr__(self, "style_blend", tuple(self.style_blend))
        if len(self.style_blend) > MAX_STYLES:
            raise ConfigError(f"At most {MAX_STYLES} style images can be blended.")
        for weight in self.style_blend:
            _check_float("each style blend weight", weight, 0.0, MAX_WEIGHT)
        if self.style_blend and sum(self.style_blend) <= 0:
            raise ConfigError("At least one style blend weight must be above 0.")
        _check_int("seed", self.seed, 0, MAX_SEED)
        if self.learning_rate is not None:
            _check_float("learning_rate", self.learning_rate, 1e-6, 100.0)
            if self.learning_rate <= 0:
                raise ConfigError("learning_rate must be above 0.")
        _check_bool("multiscale", self.multiscale)
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
            _check_float("each style layer weight", weight, 0.0, MAX_WEIGHT)
        _check_int("preview_every", self.preview_every, 0, HARD_MAX_STEPS)
        if self.max_seconds is not None:
            _check_float("max_seconds", self.max_seconds, 0.1, 24 * 3600.0)
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


@dataclass(frozen=True)
class Limits:
    """What a shared deployment allows one visitor, tighter than the hard bounds.

    Defaults depend on the device; an operator overrides them with the
    environment variables named in each field's comment.
    """

    max_size: int  # px; NST_MAX_SIZE
    max_steps: int  # per scale; NST_MAX_STEPS
    max_seconds: float  # wall-clock budget per run; NST_MAX_SECONDS
    max_concurrent: int  # runs on the device at once; NST_MAX_CONCURRENT
    max_waiting: int  # visitors allowed to queue; NST_MAX_WAITING
    max_upload_mb: float = 10.0  # per file; NST_MAX_UPLOAD_MB
    max_megapixels: float = 40.0  # decoded size per image; NST_MAX_MEGAPIXELS
    default_size: int = 256  # px; the page's starting value
    default_steps: int = field(default=TransferConfig.steps)

    @classmethod
    def for_device(cls, device_type: str, environ: Mapping[str, str] | None = None) -> Limits:
        """Limits for ``"cpu"``, ``"cuda"`` or ``"mps"``, with environment overrides.

        Raises:
            ConfigError: an environment variable is not a number or is out of bounds.
        """
        env = os.environ if environ is None else environ
        gpu = device_type in ("cuda", "mps")
        limits = cls(
            max_size=_env_int(env, "NST_MAX_SIZE", 1024 if gpu else 512, MIN_SIZE, HARD_MAX_SIZE),
            max_steps=_env_int(env, "NST_MAX_STEPS", 500 if gpu else 200, 1, HARD_MAX_STEPS),
            max_seconds=_env_float(env, "NST_MAX_SECONDS", 60.0 if gpu else 180.0, 1.0, 24 * 3600.0),
            max_concurrent=_env_int(env, "NST_MAX_CONCURRENT", 1, 1, 64),
            max_waiting=_env_int(env, "NST_MAX_WAITING", 8, 0, 1000),
            max_upload_mb=_env_float(env, "NST_MAX_UPLOAD_MB", 10.0, 0.01, 200.0),
            max_megapixels=_env_float(env, "NST_MAX_MEGAPIXELS", 40.0, 0.01, 178.0),
            default_size=256 if not gpu else 512,
        )
        return dataclasses.replace(
            limits,
            default_size=min(limits.default_size, limits.max_size),
            default_steps=min(limits.default_steps, limits.max_steps),
        )

    def check(self, config: TransferConfig) -> None:
        """Refuse a config this deployment does not allow.

        Raises:
            ConfigError: the size or step count is above this deployment's limit.
        """
        if config.size > self.max_size:
            raise ConfigError(f"The output size is limited to {self.max_size} px here; {config.size} px was asked.")
        if config.steps > self.max_steps:
            raise ConfigError(f"Runs are limited to {self.max_steps} steps per scale here; {config.steps} were asked.")

    def clamp(self, config: TransferConfig) -> TransferConfig:
        """The same config with the wall-clock budget no longer than this deployment's."""
        budget = self.max_seconds if config.max_seconds is None else min(config.max_seconds, self.max_seconds)
        return config.replace(max_seconds=budget)


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be a whole number, not {value!r}.")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}; {value} was given.")


def _check_float(name: str, value: object, low: float, high: float) -> None:
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


def _env_int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"The environment variable {name} must be a whole number, not {raw!r}.") from None
    _check_int(name, value, low, high)
    return value


def _env_float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"The environment variable {name} must be a number, not {raw!r}.") from None
    _check_float(name, value, low, high)
    return value
