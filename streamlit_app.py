"""The demo page: collect images and parameters, call nst_core, show the painting forming.

No maths here: inputs -> TransferConfig -> nst_core.stylize -> present.
Run with ``streamlit run streamlit_app.py``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import streamlit as st
import torch
from PIL import Image, ImageOps

from nst_core import (
    BusyError,
    ConfigError,
    ImageError,
    Limits,
    NSTError,
    Progress,
    TransferConfig,
    WeightsError,
    compare,
    load_image,
    png_bytes,
)
from nst_core.backbone import FeatureExtractor, get_extractor
from nst_core.config import (
    BACKBONES,
    COLOR_MODES,
    HARD_MAX_STEPS,
    INITS,
    MAX_STYLES,
    MIN_SIZE,
    OPTIMIZERS,
    PRECISIONS,
    STYLE_WEIGHT_PRESETS,
    TV_WEIGHT_PRESETS,
    WEIGHT_SOURCES,
    Precision,
)
from nst_core.device import describe_device, describe_precision, resolve_device, resolve_precision
from nst_core.gate import DeviceGate, shared_gate
from nst_core.transfer import planned_steps, stylize_with_retry

HERE = Path(__file__).resolve().parent
CONTENT_DIR = HERE / "assets" / "content"
STYLE_DIR = HERE / "assets" / "style"
UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp"]
GALLERY_SIZE = 12  # results kept per session
CHART_EVERY = 5  # steps between loss-chart updates
BAR_INTERVAL = 0.05  # s between progress-bar updates: a GPU runs 100+ steps a second
PREVIEW_INTERVAL = 0.25  # s between live pictures and charts (each is an encoded image sent to the browser)
MAX_FRAMES = 60  # preview frames kept per run for the time-lapse
STOP_NOTES = {"cancelled": "stopped early", "time budget": "stopped at the time limit", "converged": "converged early"}

OPTIMIZER_LABELS = {"lbfgs": "L-BFGS (fastest)", "adam": "Adam", "gd": "Gradient descent"}
INIT_LABELS = {"content": "The photo", "noise": "Noise", "image": "An image"}
COLOR_LABELS = {
    "none": "Style's colours",
    "luminance": "Photo's colours (luminance only)",
    "match": "Match style to photo",
}
DIMENSION_LABELS = {"optimizer": "Optimiser", "backbone": "Backbone", "style_weight": "Style strength"}
WEIGHT_LABELS = {
    "original": "Original VGG19 (Simonyan & Zisserman)",
    "torchvision": "torchvision IMAGENET1K_V1",
    "hub": "Hugging Face hub (timm)",
}

log = logging.getLogger("nst_demo")
log.setLevel(logging.INFO)  # one line per run on the server's stderr (Streamlit configures only its own loggers)
if not any(handler.get_name() == "nst_demo_stderr" for handler in log.handlers):  # the script reruns
    _handler = logging.StreamHandler()
    _handler.set_name("nst_demo_stderr")
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s nst_demo: %(message)s"))
    log.addHandler(_handler)
    log.propagate = False
T = TypeVar("T")


# ---------------------------------------------------------------- shared, per process


@dataclass(frozen=True)
class Runtime:
    """What every session shares: the device, its limits and its gate."""

    device: torch.device
    precision: Precision
    limits: Limits
    gate: DeviceGate


@st.cache_resource(show_spinner=False)
def get_runtime() -> Runtime:
    device = resolve_device(os.environ.get("NST_DEVICE", "auto"))
    raw = os.environ.get("NST_PRECISION", "auto").strip().lower() or "auto"
    if raw not in PRECISIONS:
        choices = ", ".join(PRECISIONS)
        raise ConfigError(f"The environment variable NST_PRECISION must be one of {choices}, not {raw!r}.")
    precision = cast(Precision, raw)
    resolve_precision(precision, device)  # bf16 on a GPU without it stops the page at start-up, with a sentence
    limits = Limits.for_device(device.type)
    if device.type == "cpu":
        # Share the cores between the runs allowed at once instead of oversubscribing them.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // limits.max_concurrent))
    return Runtime(device, precision, limits, shared_gate(limits.max_concurrent, limits.max_waiting))


class Handoff:
    """Runs that Streamlit interrupted (Stop, a new submit), passed to the session's next script run.

    The interrupted run's thread cannot safely write ``st.session_state`` while the next run
    of the same session is already starting (fastReruns), so it leaves its picture here,
    before it gives up its device slot, and the next run collects it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, Any] = {}

    def put(self, owner: str, entry: Any) -> None:
        with self._lock:
            self._entries[owner] = entry

    def pop(self, owner: str) -> Any:
        with self._lock:
            return self._entries.pop(owner, None)


@st.cache_resource(show_spinner=False)
def get_handoff() -> Handoff:
    return Handoff()


def collect_interrupted_run(runtime: Runtime) -> None:
    """Wait (a step at most) for this session's interrupted run to stop, and keep its picture."""
    owner = session_id()
    deadline = time.monotonic() + 10
    while runtime.gate.holds(owner) and time.monotonic() < deadline:
        time.sleep(0.05)
    entry = get_handoff().pop(owner)
    if entry is not None:
        remember(entry)


@st.cache_resource(show_spinner="Loading the VGG weights (once per server)...")
def load_model(weights: str, backbone: str, device: str, precision: str) -> FeatureExtractor:
    return get_extractor(weights, backbone, device, resolve_precision(precision, torch.device(device)))


@st.cache_data(show_spinner=False, max_entries=64)
def thumbnail(path: str, size: tuple[int, int] = (240, 180)) -> Image.Image:
    """An example image cropped to a uniform tile, so the gallery lines up."""
    return ImageOps.fit(load_image(path), size)


# ---------------------------------------------------------------- session state


@dataclass
class Entry:
    """One finished (or stopped) run, kept in this session's gallery."""

    number: int
    image: Image.Image
    content: Image.Image
    styles: list[Image.Image]
    recipe: dict[str, Any]
    seconds: float
    steps: int
    note: str
    history: list[dict[str, float]] = field(default_factory=list)
    frames: list[Image.Image] = field(default_factory=list)  # previews, for the time-lapse

    @property
    def png(self) -> bytes:
        return png_bytes(self.image, self.recipe)

    @property
    def timelapse(self) -> bytes:
        return compare.timelapse_gif([*self.frames, self.image]) if self.frames else b""


def session_id() -> str:
    if "session_id" not in st.session_state:
        st.session_state["session_id"] = uuid.uuid4().hex
    sid: str = st.session_state["session_id"]
    return sid


def gallery() -> list[Entry]:
    if "gallery" not in st.session_state:
        st.session_state["gallery"] = []
    entries: list[Entry] = st.session_state["gallery"]
    return entries


def remember(entry: Entry) -> None:
    """Keep a run in this session's gallery, with its inputs shrunk to what the page shows."""
    entry.content = shrunk(entry.content)
    entry.styles = [shrunk(style) for style in entry.styles]
    entries = gallery()
    entries.insert(0, entry)
    del entries[GALLERY_SIZE:]


def shrunk(image: Image.Image, longest: int = 512) -> Image.Image:
    """A copy no larger than ``longest`` px, so a session's gallery stays small in memory."""
    small = image.copy()
    small.thumbnail((longest, longest))
    return small


# ---------------------------------------------------------------- inputs


def example_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))


def pretty(path: Path) -> str:
    return path.stem.replace("_", " ").replace("-", " ").title()


def read_upload(upload: Any, limits: Limits) -> Image.Image:
    """An uploaded file as a checked RGB image; raises ImageError."""
    max_bytes = int(limits.max_upload_mb * 1024 * 1024)
    if upload.size > max_bytes:
        raise ImageError(
            f"{upload.name} is too large ({upload.size / 1e6:.1f} MB); the limit is {limits.max_upload_mb:g} MB."
        )
    try:
        return load_image(
            upload.getvalue(),
            max_bytes=max_bytes,
            max_pixels=int(limits.max_megapixels * 1e6),
            max_side=2 * limits.max_size,
        )
    except ImageError as error:
        raise ImageError(f"{upload.name}: {error}") from None


def render_content_picker(limits: Limits) -> Image.Image | None:
    st.subheader("1 · Your photo")
    source = st.radio(
        "Photo from",
        ["Examples", "Upload", "Camera"],
        horizontal=True,
        key="content_source",
        label_visibility="collapsed",
    )
    if source == "Upload":
        upload = st.file_uploader("Upload a photo (PNG, JPEG or WebP)", type=UPLOAD_TYPES, key="content_upload")
        return read_upload(upload, limits) if upload is not None else None
    if source == "Camera":
        shot = st.camera_input("Take a photo", key="content_camera")
        return read_upload(shot, limits) if shot is not None else None
    files = example_files(CONTENT_DIR)
    names = [p.name for p in files]
    choice = st.session_state.get("content_example", "tubingen.jpg")
    choice = choice if choice in names else names[0]
    columns = st.columns(len(files))
    for column, path in zip(columns, files, strict=True):
        with column:
            st.image(thumbnail(str(path)), width="stretch")
            selected = path.name == choice
            if st.button(
                ("✓ " if selected else "") + pretty(path),
                key=f"content_pick_{path.stem}",
                type="primary" if selected else "secondary",
                width="stretch",
            ):
                st.session_state["content_example"] = path.name
                st.rerun()
    return load_image(CONTENT_DIR / choice)


def render_style_picker(limits: Limits) -> list[tuple[str, Image.Image]]:
    st.subheader("2 · The painting(s)")
    files = example_files(STYLE_DIR)
    by_label = {pretty(p): p for p in files}
    picked = st.multiselect(
        "Example paintings",
        list(by_label),
        default=["Starry Night"] if "Starry Night" in by_label else [],
        key="style_examples",
    )
    uploads = st.file_uploader(
        "…or upload your own (several are blended)", type=UPLOAD_TYPES, accept_multiple_files=True, key="style_uploads"
    )
    styles = [(label, load_image(by_label[label])) for label in picked]
    for upload in uploads or []:
        styles.append((upload.name, read_upload(upload, limits)))
    if len(styles) > MAX_STYLES:
        raise ConfigError(f"At most {MAX_STYLES} style images can be blended; {len(styles)} were chosen.")
    if styles:
        columns = st.columns(4)
        for index, (label, image) in enumerate(styles):
            with columns[index % 4]:
                st.image(ImageOps.fit(image, (240, 180)), caption=label, width="stretch")
    return styles


def render_form(limits: Limits, style_labels: list[str]) -> tuple[str | None, dict[str, Any], tuple[str, list[str]]]:
    """The parameters, in a form so that moving a slider does not start a run."""
    defaults = TransferConfig()
    with st.form("parameters"):
        st.subheader("3 · How to paint it")
        left, right = st.columns(2)
        with left:
            size = st.slider(
                "Output size (longest side, px)", MIN_SIZE, limits.max_size, limits.default_size, step=32, key="size"
            )
            steps = st.slider(
                "Steps",
                1,
                min(limits.max_steps, HARD_MAX_STEPS),
                limits.default_steps,
                key="steps",
                help="Optimiser iterations at each scale; above 384 px the picture is first painted at about 256 px.",
            )
            style_weight = st.select_slider(
                "Style strength",
                options=list(STYLE_WEIGHT_PRESETS),
                value=defaults.style_weight,
                key="style_weight",
                help="Means the same at every output size.",
            )
            tv_weight = st.select_slider(
                "Smoothness", options=list(TV_WEIGHT_PRESETS), value=defaults.tv_weight, key="tv_weight"
            )
        with right:
            optimizer = st.radio(
                "Optimiser", OPTIMIZERS, format_func=OPTIMIZER_LABELS.__getitem__, key="optimizer", horizontal=True
            )
            init = st.radio(
                "Start from",
                [i for i in INITS if i != "image"],
                format_func=INIT_LABELS.__getitem__,
                key="init",
                horizontal=True,
            )
            color = st.radio("Colours", COLOR_MODES, format_func=COLOR_LABELS.__getitem__, key="color")
            seed = st.number_input("Seed", min_value=0, max_value=2**31 - 1, value=defaults.seed, step=1, key="seed")
        blend: list[float] = []
        if len(style_labels) > 1:
            st.caption("Blend of the paintings")
            blend_columns = st.columns(len(style_labels))
            for index, (column, label) in enumerate(zip(blend_columns, style_labels, strict=True)):
                with column:
                    blend.append(st.slider(label, 0.0, 1.0, 1.0, 0.05, key=f"blend_{index}"))
        with st.expander("Advanced"):
            a_left, a_right = st.columns(2)
            with a_left:
                content_weight = st.number_input(
                    "Content weight", 0.0, 100.0, defaults.content_weight, 0.1, key="content_weight"
                )
                style_scale = st.slider(
                    "Style scale (painting size vs. output)", 0.25, 2.0, defaults.style_scale, 0.05, key="style_scale"
                )
                learning_rate = st.number_input(
                    "Learning rate (0 = the optimiser's default)",
                    0.0,
                    10.0,
                    0.0,
                    0.01,
                    format="%.3f",
                    key="learning_rate",
                )
            with a_right:
                weights = st.selectbox("Weights", WEIGHT_SOURCES, format_func=WEIGHT_LABELS.__getitem__, key="weights")
                backbone = st.selectbox("Backbone", BACKBONES, key="backbone")
                multiscale = st.checkbox("Coarse-to-fine above 384 px", defaults.multiscale, key="multiscale")
                early_stop = st.checkbox("Stop when converged", defaults.early_stop, key="early_stop")
        submitted = st.form_submit_button("Paint it", type="primary", width="stretch")
        with st.expander("Compare (for presenters)"):
            dimension = st.selectbox(
                "Vary", compare.DIMENSIONS, format_func=DIMENSION_LABELS.__getitem__, key="compare_dimension"
            )
            st.caption("Values for the chosen dimension (2 to 6); everything else as set above.")
            compare_values = {
                name: st.multiselect(DIMENSION_LABELS[name], choices, default=list(choices[:3]), key=f"compare_{name}")
                for name, choices in compare.CHOICES.items()
            }
            compared = st.form_submit_button("Compare", width="stretch")
    action = "paint" if submitted else "compare" if compared else None
    values = {
        "size": int(size),
        "steps": int(steps),
        "style_weight": float(style_weight),
        "tv_weight": float(tv_weight),
        "optimizer": optimizer,
        "init": init,
        "color": color,
        "seed": int(seed),
        "style_blend": tuple(blend),
        "content_weight": float(content_weight),
        "style_scale": float(style_scale),
        "learning_rate": float(learning_rate) or None,
        "weights": weights,
        "backbone": backbone,
        "multiscale": bool(multiscale),
        "early_stop": bool(early_stop),
    }
    return action, values, (dimension, list(compare_values[dimension]))


def apply_recipe(recipe: dict[str, Any]) -> None:
    """Put a recipe's values back into the form's widgets ("use these settings again")."""
    for key in (
        "size",
        "steps",
        "style_weight",
        "tv_weight",
        "optimizer",
        "color",
        "seed",
        "content_weight",
        "style_scale",
        "weights",
        "backbone",
        "multiscale",
        "early_stop",
    ):
        if key in recipe:
            st.session_state[key] = recipe[key]
    if recipe.get("init") in ("content", "noise"):
        st.session_state["init"] = recipe["init"]
    st.session_state["learning_rate"] = recipe.get("learning_rate") or 0.0


# ---------------------------------------------------------------- the run


def loss_chart_spec(points: list[dict[str, float]]) -> dict[str, Any]:
    rows = [
        {"step": p["step"], "seconds": p["seconds"], "term": term, "loss": p[term]}
        for p in points
        for term in ("content", "style", "total")
        if p[term] > 0  # a log scale cannot show 0 (the content loss of the first step)
    ]
    return {
        "data": {"values": rows},
        "mark": {"type": "line", "point": False},
        "encoding": {
            "x": {"field": "step", "type": "quantitative"},
            "y": {"field": "loss", "type": "quantitative", "scale": {"type": "log"}},
            "color": {"field": "term", "type": "nominal"},
        },
        "height": 220,
    }


class Throttle:
    """True at most once per ``interval`` seconds of run time, and always when forced (the last step)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last: float | None = None

    def __call__(self, now: float, force: bool = False) -> bool:
        if force or self.last is None or now - self.last >= self.interval:
            self.last = now
            return True
        return False


def progress_line(progress: Progress, rate: float) -> str:
    left = (progress.total - progress.step) / rate if rate > 0 else 0.0
    scale = f" · scale {progress.scale + 1}/{progress.scales}" if progress.scales > 1 else ""
    return (
        f"Step {progress.step}/{progress.total} · {rate:.1f} steps/s · about {left:.0f} s left · "
        f"{progress.size[0]}×{progress.size[1]} px{scale}"
    )


def in_gate(runtime: Runtime, status: Any, bar: Any, job: Callable[[threading.Event], T]) -> T | None:
    """Run ``job(cancel)`` holding a device slot; every failure becomes one sentence on the page.

    Exceptions that are not ``Exception`` (Streamlit stopping the script) propagate; the slot
    is released in any case.
    """

    def on_wait(position: int, estimate: float) -> None:
        status.info(f"You are number {position} in line; about {estimate:.0f} s to wait.")

    try:
        with runtime.gate.slot(session_id(), on_wait=on_wait) as ticket:
            status.empty()
            return job(ticket.cancel)
    except BusyError as error:
        status.warning(str(error))
    except NSTError as error:
        status.error(str(error))
    except Exception:
        log.exception("run failed")
        status.error("Something went wrong while painting; please try again, perhaps smaller.")
    bar.empty()
    return None


def checked_config(runtime: Runtime, values: dict[str, Any]) -> TransferConfig:
    """The form's values as a config within this deployment's limits; raises NSTError."""
    device, precision = str(runtime.device), runtime.precision
    config = runtime.limits.clamp(TransferConfig(**values, preview_every=5, device=device, precision=precision))
    runtime.limits.check(config)
    return config


def preload(config: TransferConfig, runtime: Runtime) -> FeatureExtractor:
    """The model for a config, with the fix named if its weights cannot be had."""
    try:
        return load_model(config.weights, config.backbone, str(runtime.device), runtime.precision)
    except WeightsError as error:
        raise WeightsError(f"{error} Choose 'Original VGG19' (and VGG19) under Advanced to continue.") from None


def run_transfer(
    runtime: Runtime, content: Image.Image, styles: list[tuple[str, Image.Image]], values: dict[str, Any]
) -> None:
    """Validate, queue, run with live progress, keep the result; every failure becomes one sentence."""
    if not styles:
        st.error("Choose at least one painting.")
        return
    try:
        config = checked_config(runtime, values)
        model = preload(config, runtime)
    except NSTError as error:
        st.error(str(error))
        return

    status = st.empty()
    bar = st.progress(0.0, text="Waiting for the device…")
    st.button(
        "Stop and keep this", key="stop_run", help="Ends the run after the current step and keeps the image so far."
    )
    columns = st.columns(3)
    columns[0].image(content, caption="Photo", width="stretch")
    columns[1].image(styles[0][1], caption=" + ".join(label for label, _ in styles), width="stretch")
    live = columns[2].empty()
    chart = st.empty()
    points: list[dict[str, float]] = []
    frames: list[Image.Image] = []
    first_step_at: list[float] = []

    def on_retry(old: int, new: int) -> None:
        status.warning(f"The GPU ran out of memory at {old} px; retrying at {new} px.")

    bar_due, preview_due = Throttle(BAR_INTERVAL), Throttle(PREVIEW_INTERVAL)

    def on_progress(progress: Progress) -> None:
        if not first_step_at:
            first_step_at.append(progress.elapsed)
        rate = (progress.step - 1) / max(progress.elapsed - first_step_at[0], 1e-6) if progress.step > 1 else 0.0
        last = progress.step >= progress.total
        if bar_due(progress.elapsed, last):
            bar.progress(progress.fraction, text=progress_line(progress, rate))
        points.append(history_point(progress))
        if progress.preview is not None:
            frames.append(progress.preview)  # every one, for the time-lapse
            del frames[:-MAX_FRAMES]
            if preview_due(progress.elapsed, last):
                live.image(progress.preview, caption=f"Step {progress.step}", width="stretch")
                chart.vega_lite_chart(loss_chart_spec(points), width="stretch")
        elif progress.step % CHART_EVERY == 0 and preview_due(progress.elapsed, last):
            chart.vega_lite_chart(loss_chart_spec(points), width="stretch")

    number = gallery()[0].number + 1 if gallery() else 1
    style_images = [image for _, image in styles]
    started = time.monotonic()
    # Taken now: once Streamlit is stopping this script, st.* calls (caches, session state) raise again.
    owner, handoff = session_id(), get_handoff()

    def job(cancel: threading.Event) -> Any:
        try:
            return stylize_with_retry(
                content, style_images, config, on_retry=on_retry, on_progress=on_progress, cancel=cancel,
                extractor=model,
            )  # fmt: skip
        except BaseException as stop:
            if not isinstance(stop, Exception) and frames:
                # Streamlit stopped this script (Stop, a new submit): hand the picture so far to the next run.
                step = int(points[-1]["step"])
                recipe = {**config.to_dict(), "stopped_at_step": step}
                note = f"stopped at step {step}"
                seconds = time.monotonic() - started
                entry = Entry(number, frames[-1], content, style_images, recipe, seconds, step, note, points, frames)
                handoff.put(owner, entry)
            raise

    result = in_gate(runtime, status, bar, job)
    if result is None:
        return
    note = STOP_NOTES.get(result.stopped or "", "")
    log.info(
        "run done: %dx%d px, %d steps, %.1f s, %s, %s, GPU peak %s MiB",
        result.image.width, result.image.height, result.steps, result.seconds, result.device, result.precision,
        result.recipe.get("gpu_peak_mib", "-"),
    )  # fmt: skip
    remember(Entry(number, result.image, content, style_images, result.recipe, result.seconds, result.steps, note,
                   points, frames))  # fmt: skip
    st.rerun()


def history_point(progress: Progress) -> dict[str, float]:
    losses = progress.losses
    return {"step": progress.step, "seconds": progress.elapsed, "content": losses.content, "style": losses.style,
            "total": losses.total}  # fmt: skip


@dataclass
class ComparisonView:
    """A finished comparison, kept for this session."""

    labels: list[str]
    images: list[Image.Image]
    captions: list[str]
    curves: list[dict[str, Any]]  # one row per step and variant, for the charts
    sheet: bytes  # PNG, recipes embedded


def run_comparison(
    runtime: Runtime,
    content: Image.Image,
    styles: list[tuple[str, Image.Image]],
    values: dict[str, Any],
    dimension: str,
    chosen: list[str],
) -> None:
    """The same picture under several settings, one after the other, with live progress."""
    if not styles:
        st.error("Choose at least one painting.")
        return
    try:
        variants = compare.variants(dimension, chosen, checked_config(runtime, values))
        for variant in variants:
            preload(variant.config, runtime)
    except NSTError as error:
        st.error(str(error))
        return
    status = st.empty()
    bar = st.progress(0.0, text="Waiting for the device…")
    live = [column.empty() for column in st.columns(len(variants))]
    total = sum(planned_steps(v.config) for v in variants)
    done = [0]

    def on_progress(index: int, progress: Progress) -> None:
        done[0] += 1
        bar.progress(min(1.0, done[0] / total), text=f"{variants[index].label}: step {progress.step}/{progress.total}")
        if progress.preview is not None:
            live[index].image(progress.preview, caption=variants[index].label, width="stretch")

    style_images = [image for _, image in styles]

    def job(cancel: threading.Event) -> Any:
        return compare.run(content, style_images, variants, on_progress=on_progress, cancel=cancel)

    results = in_gate(runtime, status, bar, job)
    if not results:
        return
    labels = [v.label for v in variants[: len(results)]]
    sheet = compare.comparison_sheet(content, style_images[0], results, labels)
    curves = [
        {"variant": label, "step": p.step, "seconds": p.elapsed, "total": p.losses.total,
         "content": p.losses.content, "style": p.losses.style}
        for label, result in zip(labels, results, strict=True)
        for p in result.history
    ]  # fmt: skip
    captions = [f"{label} · {r.steps} steps · {r.seconds:.1f} s" for label, r in zip(labels, results, strict=True)]
    st.session_state["comparison"] = ComparisonView(
        labels, [r.image for r in results], captions, curves, compare.sheet_png(sheet, results, labels)
    )
    st.rerun()


def comparison_chart_spec(rows: list[dict[str, Any]], x_axis: str, term: str) -> dict[str, Any]:
    return {
        "data": {"values": [row for row in rows if row[term] > 0]},
        "mark": {"type": "line"},
        "encoding": {
            "x": {"field": x_axis, "type": "quantitative"},
            "y": {"field": term, "type": "quantitative", "scale": {"type": "log"}, "title": f"{term} loss"},
            "color": {"field": "variant", "type": "nominal"},
        },
        "height": 220,
    }


def render_comparison(view: ComparisonView) -> None:
    st.subheader("Comparison")
    for column, image, caption in zip(st.columns(len(view.images)), view.images, view.captions, strict=True):
        column.image(image, caption=caption, width="stretch")
    term = st.radio("Curve", ["total", "content", "style"], horizontal=True, key="comparison_term")
    left, right = st.columns(2)
    left.vega_lite_chart(comparison_chart_spec(view.curves, "step", term), width="stretch")
    right.vega_lite_chart(comparison_chart_spec(view.curves, "seconds", term), width="stretch")
    st.download_button("Download the comparison sheet (PNG)", view.sheet, file_name="comparison.png",
                       mime="image/png", key="download_sheet")  # fmt: skip


# ---------------------------------------------------------------- results


def render_result(entry: Entry) -> None:
    st.subheader("Result")
    columns = st.columns(3)
    columns[0].image(entry.content, caption="Photo", width="stretch")
    columns[1].image(
        entry.styles[0],
        caption="Painting" if len(entry.styles) == 1 else f"Paintings (1 of {len(entry.styles)})",
        width="stretch",
    )
    caption = f"#{entry.number} · {entry.steps} steps · {entry.seconds:.1f} s" + (
        f" · {entry.note}" if entry.note else ""
    )
    columns[2].image(entry.image, caption=caption, width="stretch")
    buttons = st.columns(4)
    downloads: list[tuple[str, str | bytes, str, str]] = [
        ("Download PNG", entry.png, "png", "image/png"),
        ("Download recipe (JSON)", json.dumps(entry.recipe, indent=2, sort_keys=True), "json", "application/json"),
    ]
    if entry.frames:
        downloads.append(("Download time-lapse (GIF)", entry.timelapse, "gif", "image/gif"))
    for button, (label, data, extension, mime) in zip(buttons, downloads, strict=False):
        button.download_button(
            label,
            data,
            file_name=f"painting-{entry.number}.{extension}",
            mime=mime,
            key=f"download_{extension}_{entry.number}",
            width="stretch",
        )
    buttons[3].button(
        "Use these settings again",
        on_click=apply_recipe,
        args=(entry.recipe,),
        key=f"reuse_{entry.number}",
        width="stretch",
    )
    if entry.history:
        with st.expander("Loss curves"):
            st.vega_lite_chart(loss_chart_spec(entry.history), width="stretch")


def render_gallery(entries: list[Entry]) -> None:
    if len(entries) < 2:
        return
    st.subheader("This session's paintings")
    columns = st.columns(4)
    for index, entry in enumerate(entries):
        recipe = entry.recipe
        settings = f"strength {recipe.get('style_weight', 0):g} · {recipe.get('optimizer', '')}"
        caption = f"#{entry.number} · {settings} · {entry.seconds:.0f} s"
        columns[index % 4].image(entry.image, caption=caption, width="stretch")


# ---------------------------------------------------------------- page


def render_header(runtime: Runtime, model: FeatureExtractor) -> None:
    st.title("Neural style transfer")
    st.caption(
        "Paint a photo in the manner of a painting, as Gatys, Ecker and Bethge did in 2016: the pixels are optimised "
        "so that VGG19 sees the photo's content and the painting's textures. "
        f"Running on {describe_device(runtime.device)} ({describe_precision(model.dtype)}) · {model.description} · "
        f"up to {runtime.limits.max_size} px and {runtime.limits.max_steps} steps."
    )


def main() -> None:
    st.set_page_config(page_title="Neural style transfer", page_icon="🎨", layout="wide")
    try:
        runtime = get_runtime()
    except NSTError as error:
        st.error(f"The demo cannot start: {error}")
        return
    try:
        # Load the default weights at start-up, so a missing file is said at once, not after a submit.
        defaults = TransferConfig()
        model = load_model(defaults.weights, defaults.backbone, str(runtime.device), runtime.precision)
    except WeightsError as error:
        st.error(f"The demo cannot start: {error}")
        return
    collect_interrupted_run(runtime)
    render_header(runtime, model)
    left, right = st.columns(2, gap="large")
    content: Image.Image | None = None
    styles: list[tuple[str, Image.Image]] = []
    with left:
        try:
            content = render_content_picker(runtime.limits)
        except NSTError as error:
            st.error(str(error))
    with right:
        try:
            styles = render_style_picker(runtime.limits)
        except NSTError as error:
            st.error(str(error))
    action, values, (dimension, chosen) = render_form(runtime.limits, [label for label, _ in styles])
    if action is not None and content is None:
        st.error("Choose or upload a photo first.")
    elif action == "paint" and content is not None:
        run_transfer(runtime, content, styles, values)
    elif action == "compare" and content is not None:
        run_comparison(runtime, content, styles, values, dimension, chosen)
    if "comparison" in st.session_state:
        render_comparison(st.session_state["comparison"])
    entries = gallery()
    if entries:
        render_result(entries[0])
        render_gallery(entries)


if __name__ == "__main__":
    main()
