"""What every session of the server shares, created once per process behind ``st.cache_resource``.

The device and its precision, this server's limits, the job service (one line of visitors for the whole
server, or a Ray cluster's line when ``NST_RAY_ADDRESS`` names one), the loaded model, and the operators' log.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
from dataclasses import dataclass
from typing import cast

import streamlit as st
import torch

from job_service.capacity import largest_size, measure_instant, measure_once
from job_service.client import ClusterError, ClusterService
from job_service.jobs import Service
from job_service.limits import Limits
from job_service.pace import Pace
from job_service.scheduler import Scheduler
from nst_core.backbone import FeatureExtractor, get_extractor
from nst_core.config import PRECISIONS, Precision, TransferConfig
from nst_core.cpu import usable_cores
from nst_core.device import cap_memory, resolve_device, resolve_precision
from nst_core.errors import ConfigError, WeightsError


@dataclass(frozen=True)
class Runtime:
    """The device, its limits and the job service."""

    device: torch.device
    precision: Precision
    limits: Limits
    service: Service  # every painting of this server is a job here
    cluster: str | None = None  # the Ray cluster's address whose painters paint, if any
    note: str | None = None  # said at the top of every page (the cluster could not be reached, say)

    @property
    def pace(self) -> Pace:
        """How fast this device paints, learned from each finished job (plans the waits)."""
        return self.service.pace


@st.cache_resource(show_spinner=False)
def get_runtime() -> Runtime:
    """This server's runtime, read from the environment once.

    Raises:
        ConfigError: an environment variable is out of bounds, or asks for a precision the device lacks.
        ClusterError: ``NST_RAY_ADDRESS`` names a cluster that cannot be reached (and no fallback is set).
    """
    get_log()  # the job service logs each job's plan and turns from the first job on
    runtime = _runtime_from_environment()
    import_ahead()
    keep_out_of_collections()
    return runtime


def import_ahead() -> None:
    """Import now what the pages would import on first use: Streamlit's charts convert their data with pandas
    (and pyarrow), a clip is read with PyAV. On a busy server the first result with a chart waited 1.9 s for that
    import (py-spy on ``python -m bench.load``, docs/design.md), and imported after :func:`keep_out_of_collections`
    it would be collected after every script run."""
    import av  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401


def _runtime_from_environment() -> Runtime:
    address = os.environ.get("NST_RAY_ADDRESS", "").strip()
    if not address:
        return embedded_runtime()
    try:
        return cluster_runtime(address)
    except ClusterError as error:
        if os.environ.get("NST_RAY_FALLBACK", "").strip().lower() != "local":
            raise
        note = f"{error} Pictures are painted on this server instead, one visitor at a time."
    return dataclasses.replace(embedded_runtime(), note=note)


def keep_out_of_collections() -> None:
    """Move every object alive now (torch, the networks, Streamlit: the server's for its life) out of the
    garbage collector's view.

    Streamlit collects all generations after every script run (``runner.postScriptGC``), with the GIL held:
    over everything a server with its networks loaded holds, that made every click of every visitor wait, and
    every painting thread with it (docs/design.md). What a session makes afterwards is still collected.
    """
    gc.collect()
    gc.freeze()


def cluster_runtime(address: str) -> Runtime:
    """The runtime of a page server whose jobs the Ray cluster at ``address`` paints: its line's turns and limits.

    Raises:
        ClusterError: the cluster cannot be reached, or has no demo deployed.
    """
    service = ClusterService(address)
    settings = service.settings
    limits = Limits.for_device(str(settings["device"]), server_upload_mb=float(st.get_option("server.maxUploadSize")))
    limits = dataclasses.replace(
        limits,
        max_concurrent=int(settings["slots"]),
        max_waiting=int(settings["max_waiting"]),
        fair_share_seconds=float(settings["share_seconds"]),
    )
    return Runtime(torch.device("cpu"), "auto", limits, service, cluster=address)


def embedded_runtime() -> Runtime:
    """The runtime of a server that paints its own jobs on its best device."""
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
        # Share the cores (a container's quota, not the host's count) between the runs allowed at once.
        torch.set_num_threads(max(1, usable_cores() // limits.max_concurrent))
    pace = Pace.for_device(device.type)
    defaults = TransferConfig()
    model = load_model(defaults.weights, defaults.backbone, str(device), precision)
    capacity = measure_once(model, device, limits.gpu_memory_gib)
    pace.take_step(capacity.seconds_per_megapixel_step, capacity.overhead_seconds)
    pace.take_instant(measure_instant())
    get_log().info("%s probed: %.3f s per megapixel-step and %.4f s a step besides, the instant network %.3f s per "
                   "megapixel, a clip's frame %.3f s per megapixel", device, pace.step, pace.overhead, pace.instant,
                   pace.frame)  # fmt: skip
    if not os.environ.get("NST_MAX_SIZE", "").strip():
        # The largest picture offered comes from this device's own speed (not the load of the moment) and memory.
        limits = limits.with_max_size(*largest_size(capacity, limits.max_seconds, limits.default_steps))
    service = Scheduler(pace, limits.max_concurrent, limits.max_waiting, limits.fair_share_seconds)
    return Runtime(device, precision, limits, service)


@st.cache_resource(show_spinner="Loading the painting network (once per server)...")
def load_model(weights: str, backbone: str, device: str, precision: str) -> FeatureExtractor:
    return get_extractor(weights, backbone, device, resolve_precision(precision, torch.device(device)))


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


def default_model(runtime: Runtime) -> FeatureExtractor | None:
    """The model of the default settings, loaded at start-up so a missing file is said at once (None when a
    cluster paints: its painters load their own).

    Raises:
        WeightsError: the weights cannot be loaded.
    """
    if runtime.cluster:
        return None
    defaults = TransferConfig()
    return load_model(defaults.weights, defaults.backbone, str(runtime.device), runtime.precision)


PREVIEW_EVERY = 5  # steps between a picture's previews on the page


def checked_config(runtime: Runtime, chosen: TransferConfig) -> TransferConfig:
    """The form's config on this server's device, within this deployment's limits; raises NSTError."""
    config = chosen.replace(preview_every=PREVIEW_EVERY, device=str(runtime.device), precision=runtime.precision)
    config = runtime.limits.clamp(config)
    runtime.limits.check(config)
    return config


def preload(config: TransferConfig, runtime: Runtime) -> FeatureExtractor | None:
    """The model for a config, with the fix named if its weights cannot be had (None when a cluster paints)."""
    if runtime.cluster:
        return None
    try:
        return load_model(config.weights, config.backbone, str(runtime.device), runtime.precision)
    except WeightsError as error:
        raise WeightsError(f"{error} Choose 'Original VGG19' (and VGG19) under Advanced to continue.") from None
