"""What every session of the server shares, created once per process behind ``st.cache_resource``.

The device and its precision, this server's limits, the device gate (one line
of visitors for the whole server), the loaded model, the hand-off box for
interrupted runs, and the operators' log.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import streamlit as st
import torch

from app.capacity import largest_size, measure
from app.limits import Limits
from nst_core.backbone import FeatureExtractor, get_extractor
from nst_core.config import PRECISIONS, Precision, TransferConfig
from nst_core.device import cap_memory, resolve_device, resolve_precision
from nst_core.errors import ConfigError
from nst_core.gate import DeviceGate, shared_gate
from nst_core.schedule import Pace

# A real step's cost over the probe's (measured on a 2-core CPU in fp32, seconds per megapixel-step: the probe
# 13.0-14.8, steps at 256 px 14.3, a whole 1024 px run 15.6).
PROBE_TO_STEP = 1.1

if TYPE_CHECKING:
    from app.session import Entry, VideoEntry


@dataclass(frozen=True)
class Runtime:
    """The device, its limits and its gate."""

    device: torch.device
    precision: Precision
    limits: Limits
    gate: DeviceGate
    pace: Pace  # how fast this device paints, learned from each finished run (plans the waits)


@st.cache_resource(show_spinner=False)
def get_runtime() -> Runtime:
    """This server's runtime, read from the environment once.

    Raises:
        ConfigError: an environment variable is out of bounds, or asks for a precision the device lacks.
    """
    device = resolve_device(os.environ.get("NST_DEVICE", "auto"))
    raw = os.environ.get("NST_PRECISION", "auto").strip().lower() or "auto"
    if raw not in PRECISIONS:
        choices = ", ".join(PRECISIONS)
        raise ConfigError(f"The environment variable NST_PRECISION must be one of {choices}, not {raw!r}.")
    precision = cast(Precision, raw)
    resolve_precision(precision, device)  # bf16 on a GPU without it stops the page at start-up, with a sentence
    limits = Limits.for_device(device.type, server_upload_mb=float(st.get_option("server.maxUploadSize")))
    if device.type == "cuda" and limits.gpu_memory_gib:
        cap_memory(device, limits.gpu_memory_gib)
    if device.type == "cpu":
        # Share the cores between the runs allowed at once instead of oversubscribing them.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // limits.max_concurrent))
    pace = Pace.for_device(device.type)
    if not os.environ.get("NST_MAX_SIZE", "").strip():
        # The largest picture offered comes from what this device measures now (speed and free memory).
        defaults = TransferConfig()
        model = load_model(defaults.weights, defaults.backbone, str(device), precision)
        capacity = measure(model, device, limits.gpu_memory_gib)
        pace = Pace(step=capacity.seconds_per_megapixel_step * PROBE_TO_STEP, instant=pace.instant)
        capacity = dataclasses.replace(capacity, seconds_per_megapixel_step=pace.step)
        limits = limits.with_max_size(*largest_size(capacity, limits.max_seconds, limits.default_steps))
    gate = shared_gate(limits.max_concurrent, limits.max_waiting)
    return Runtime(device, precision, limits, gate, pace)


@st.cache_resource(show_spinner="Loading the painting network (once per server)...")
def load_model(weights: str, backbone: str, device: str, precision: str) -> FeatureExtractor:
    return get_extractor(weights, backbone, device, resolve_precision(precision, torch.device(device)))


class Handoff:
    """Runs that Streamlit interrupted (Stop, a new submit), passed to the session's next script run:
    the picture or clip so far, or a sentence (a visitor who left the line).

    The interrupted run's thread cannot safely write ``st.session_state`` while the next run
    of the same session is already starting (fastReruns), so it leaves its picture here,
    before it gives up its device slot, and the next run collects it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, Entry | VideoEntry | str] = {}

    def put(self, owner: str, entry: Entry | VideoEntry | str) -> None:
        with self._lock:
            self._entries[owner] = entry

    def pop(self, owner: str) -> Entry | VideoEntry | str | None:
        with self._lock:
            return self._entries.pop(owner, None)


@st.cache_resource(show_spinner=False)
def get_handoff() -> Handoff:
    return Handoff()


def get_log() -> logging.Logger:
    """The operators' log: one line per run on the server's stderr (Streamlit configures only its own loggers)."""
    log = logging.getLogger("nst_demo")
    if not any(handler.get_name() == "nst_demo_stderr" for handler in log.handlers):  # the script reruns
        handler = logging.StreamHandler()
        handler.set_name("nst_demo_stderr")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s nst_demo: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


def default_model(runtime: Runtime) -> FeatureExtractor:
    """The model of the default settings, loaded at start-up so a missing file is said at once.

    Raises:
        WeightsError: the weights cannot be loaded.
    """
    defaults = TransferConfig()
    return load_model(defaults.weights, defaults.backbone, str(runtime.device), runtime.precision)
