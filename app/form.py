"""The parameters of a run, derived from ``TransferConfig``'s fields, and "use these settings again".

:data:`CONTROLS` is the one map from config fields to what the form shows
(label, where, bounds); the widget kind follows from the field's type, the
default and the tooltip from the config itself. A widget's key is its field's
name, so a recipe (a config as a dict) restores the form field by field.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from job_service.capacity import SIZE_STEP
from job_service.limits import Limits
from nst_core import labels
from nst_core.config import (
    COARSE_SIZE,
    HARD_MAX_STEPS,
    MIN_SIZE,
    MULTISCALE_ABOVE,
    STYLE_WEIGHT_PRESETS,
    TV_WEIGHT_PRESETS,
    WEIGHT_SOURCES,
    TransferConfig,
    default_steps,
    field_help,
)

Where = Literal["left", "right", "advanced-left", "advanced-right"]


@dataclass(frozen=True)
class Control:
    """How one config field appears in the form (its label is ``nst_core.labels.SETTINGS``')."""

    where: Where
    low: float | None = None  # bounds of a number input or slider
    high: float | None = None
    step: float | None = None
    presets: Sequence[Any] = ()  # a select slider over these values
    choices: Sequence[str] = ()  # for a str field with named choices; a Literal field's come from its type
    help: str | None = None  # where the page says it in other words than the CLI


Method = Literal["refined", "instant", "gatys"]
METHODS = labels.METHODS
DEFAULT_METHOD: Method = "refined"

CONTROLS: dict[str, Control] = {
    "size": Control("left", step=SIZE_STEP),
    "steps": Control(
        "left",
        help=f"Optimiser iterations at each scale; above {MULTISCALE_ABOVE} px the picture is first "
        f"painted at about {COARSE_SIZE} px, then at each doubling.",
    ),
    "style_weight": Control("left", presets=STYLE_WEIGHT_PRESETS),
    "tv_weight": Control("advanced-left", presets=TV_WEIGHT_PRESETS),
    "optimizer": Control("right"),
    "strength": Control("right", low=0.0, high=1.0, step=0.05),
    "init": Control("advanced-right", choices=("content", "noise")),
    "color": Control("right"),
    "seed": Control("advanced-right", low=0, high=2**31 - 1, step=1),
    "content_weight": Control("advanced-left", low=0.0, high=100.0, step=0.1),
    "style_scale": Control("advanced-left", low=0.25, high=2.0, step=0.05),
    "learning_rate": Control("advanced-left", low=0.0, high=10.0, step=0.01),
    "weights": Control("advanced-right", choices=WEIGHT_SOURCES),
    "backbone": Control("advanced-right"),
    "multiscale": Control("advanced-right"),
    "early_stop": Control("advanced-right"),
}

_DEFAULTS = TransferConfig()
_TYPES = typing.get_type_hints(TransferConfig)


def render_method(limits: Limits) -> Method:
    """The way to paint, outside the form: choosing one sets the steps to that way's own default at once (a run
    from the instant painting plans fewer steps than one from the photo)."""
    choices = list(typing.get_args(Method))
    method: Method = st.radio(
        "Method",
        choices,
        index=choices.index(DEFAULT_METHOD),
        format_func=METHODS.__getitem__,
        horizontal=True,
        key="method",
        on_change=_steps_for_method,
        args=(limits.max_steps,),
        help="Instant: a feed-forward network paints the photo in one pass, in about a second. Instant, "
        "then refined: the optimisation of Gatys et al. paints over that picture. Optimised from the "
        "photo: the paper's way, starting from the photo.",
    )
    return method


def method_steps(method: str, max_steps: int) -> int:
    """The steps per scale a method plans by default, within this server's limit."""
    return min(default_steps("content" if method == "gatys" else "fast"), max_steps)


def _steps_for_method(max_steps: int) -> None:
    st.session_state["steps"] = method_steps(st.session_state["method"], max_steps)


def render_controls(
    limits: Limits,
    style_labels: list[str],
    button: Callable[[], bool],
    varied: str | None = None,
    method: Method = DEFAULT_METHOD,
    blended: bool = True,
) -> tuple[TransferConfig, bool]:
    """Every control, in a form the caller opened, with the caller's submit ``button`` first (on a phone the
    settings stack into a long column; the button must not sink below them).

    ``method``: the way to paint (:func:`render_method`, above the form). ``varied``: the setting a comparison
    varies ("method" or a config field); it is named, not offered, here (a second control for it would be
    ignored), and its value is the default; methods are compared at the steps of a run from the photo.
    ``blended``: whether several paintings are blended (not when each has its own region): their weights shown.

    Returns the config the controls describe (device and limits are the runtime's to set:
    :func:`app.runtime.checked_config`), and whether the button was pressed.
    """
    pressed = button()
    if varied == "method":
        st.caption("Method: the values chosen above.")
    steps = method_steps("gatys" if varied == "method" else method, limits.max_steps)
    places: dict[Where, DeltaGenerator] = {}
    places["left"], places["right"] = st.columns(2)
    values: dict[str, Any] = {}
    for name, control in CONTROLS.items():
        if not control.where.startswith("advanced"):
            with places[control.where]:
                values[name] = _widget(name, control, limits, varied, steps)
    values["style_blend"] = _blend(style_labels) if blended else ()
    with st.expander("Advanced"):
        places["advanced-left"], places["advanced-right"] = st.columns(2)
        for name, control in CONTROLS.items():
            if control.where.startswith("advanced"):
                with places[control.where]:
                    values[name] = _widget(name, control, limits, varied, steps)
    return with_method(TransferConfig(**values), method), pressed


def with_method(config: TransferConfig, method: Method) -> TransferConfig:
    """The form's config with the method turned into its start and steps."""
    if method == "gatys":
        return config
    return config.replace(init="fast", steps=0 if method == "instant" else config.steps)


def method_of(recipe: dict[str, Any]) -> Method:
    """The method a recipe was painted with."""
    if recipe.get("init") != "fast":
        return "gatys"
    return "instant" if recipe.get("steps") == 0 else "refined"


def _widget(name: str, control: Control, limits: Limits, varied: str | None = None, steps: int = 40) -> Any:
    """The widget for one field; its kind follows from the field's type. The ``varied`` field gets none."""
    kind, default, label = _TYPES[name], getattr(_DEFAULTS, name), labels.SETTINGS[name]
    if name == varied:
        st.caption(f"{label}: the values chosen above.")
        return default
    tip = control.help or field_help(name).capitalize() + "."
    common: dict[str, Any] = {"key": name, "help": tip}
    if name == "size":
        return int(st.slider(label, MIN_SIZE, limits.max_size, limits.default_size, step=SIZE_STEP, **common))
    if name == "steps":
        # The method's choice sets the steps (``_steps_for_method``), so the state holds the value: a default
        # given beside it is ignored, and Streamlit warns of the two in the server's log.
        most = min(limits.max_steps, HARD_MAX_STEPS)
        st.session_state.setdefault(name, steps)
        return int(st.slider(label, 1, most, **common))
    if control.presets:
        return float(st.select_slider(label, options=list(control.presets), value=default, **common))
    choices = _choices(name, control)
    if choices:
        if not control.where.startswith("advanced"):  # in view: every choice visible at once
            return st.radio(label, choices, format_func=labels.label_of, horizontal=True, **common)
        return st.selectbox(label, choices, format_func=labels.label_of, **common)
    if kind is bool:
        return bool(st.checkbox(label, value=default, **common))
    if kind is int:
        return int(st.number_input(label, int(control.low or 0), int(control.high or 0), default, 1, **common))
    low, high = float(control.low or 0.0), float(control.high or 0.0)
    if name == "learning_rate":  # 0 stands for "the optimiser's default" (None)
        return float(st.number_input(label, low, high, 0.0, control.step, format="%.3f", **common)) or None
    if control.high is not None and control.high - low <= 10:
        return float(st.slider(label, low, high, float(default), control.step, **common))
    return float(st.number_input(label, low, high, float(default), control.step, **common))


def _choices(name: str, control: Control) -> list[str]:
    """The values a choice field offers on the page: the control's, else its Literal type's; [] if not a choice."""
    kind = _TYPES[name]
    return list(control.choices) or (list(typing.get_args(kind)) if typing.get_origin(kind) is Literal else [])


def _blend(style_labels: list[str]) -> tuple[float, ...]:
    """One weight per painting, when there are several."""
    if len(style_labels) < 2:
        return ()
    st.caption("Blend of the paintings")
    weights = []
    for index, (column, label) in enumerate(zip(st.columns(len(style_labels)), style_labels, strict=True)):
        with column:
            weights.append(float(st.slider(label, 0.0, 1.0, 1.0, 0.05, key=f"blend_{index}")))  # label: plain()
    return tuple(weights)


def apply_recipe(recipe: dict[str, Any]) -> None:
    """Put a recipe's values back into the form's widgets ("use these settings again")."""
    st.session_state["method"] = method_of(recipe)
    for name, control in CONTROLS.items():
        if name not in recipe:
            continue
        value = recipe[name]
        if name == "learning_rate":
            value = value or 0.0
        if name == "steps" and value == 0:
            continue  # an instant painting: the slider keeps its value for the other methods
        choices = _choices(name, control)
        if choices and value not in choices:
            continue  # a value the page does not offer (an init image, a weights file)
        st.session_state[name] = value
