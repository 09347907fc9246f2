"""Serving policy: what a shared deployment allows one visitor, tighter than the core's hard bounds.

Defaults depend on the device; an operator overrides them with the
environment variables named in each field's comment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from nst_core.config import (
    DEFAULT_SIZE,
    HARD_MAX_SIZE,
    HARD_MAX_STEPS,
    MIN_SIZE,
    TransferConfig,
    check_float,
    check_int,
)
from nst_core.errors import ConfigError


@dataclass(frozen=True)
class Limits:
    """Per-visitor limits of this server."""

    max_size: int  # px; NST_MAX_SIZE
    max_steps: int  # per scale; NST_MAX_STEPS
    max_seconds: float  # wall-clock budget per run; NST_MAX_SECONDS
    max_concurrent: int  # runs on the device at once; NST_MAX_CONCURRENT
    max_waiting: int  # visitors allowed to queue; NST_MAX_WAITING
    fair_share_seconds: float = 30.0  # while others wait, a run ends after this long; NST_FAIR_SHARE_SECONDS
    max_upload_mb: float = 10.0  # per file; NST_MAX_UPLOAD_MB
    server_upload_mb: float = 200.0  # the server's own cap on any upload (server.maxUploadSize); clips meet it
    max_megapixels: float = 40.0  # decoded size per image; NST_MAX_MEGAPIXELS
    gpu_memory_gib: float = 0.0  # this process's share of a CUDA GPU, 0 = all of it; NST_GPU_MEMORY_GIB
    default_size: int = DEFAULT_SIZE  # px; the page's starting value
    size_reason: str = "set by this server's operator"  # what set max_size, for the page's sentence
    default_steps: int = field(default=TransferConfig.steps)

    @classmethod
    def for_device(
        cls, device_type: str, environ: Mapping[str, str] | None = None, server_upload_mb: float | None = None
    ) -> Limits:
        """Limits for ``"cpu"``, ``"cuda"`` or ``"mps"``, with environment overrides.

        ``server_upload_mb``: the server's own cap on an upload (``server.maxUploadSize``); the per-file limit
        the page states is never above it.

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
            fair_share_seconds=_env_float(env, "NST_FAIR_SHARE_SECONDS", 15.0 if gpu else 30.0, 1.0, 24 * 3600.0),
            max_upload_mb=min(_env_float(env, "NST_MAX_UPLOAD_MB", 10.0, 0.01, 200.0), server_upload_mb or 200.0),
            server_upload_mb=server_upload_mb or 200.0,
            max_megapixels=_env_float(env, "NST_MAX_MEGAPIXELS", 40.0, 0.01, 178.0),
            gpu_memory_gib=_env_float(env, "NST_GPU_MEMORY_GIB", 0.0, 0.0, 1024.0),
            default_size=DEFAULT_SIZE if not gpu else 2 * DEFAULT_SIZE,
        )
        return dataclasses.replace(
            limits,
            default_size=min(limits.default_size, limits.max_size),
            default_steps=min(limits.default_steps, limits.max_steps),
        )

    def with_max_size(self, size: int, reason: str) -> Limits:
        """These limits with the largest size measured for this device (see ``job_service.capacity``)."""
        return dataclasses.replace(self, max_size=size, default_size=min(self.default_size, size), size_reason=reason)

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


def _env_int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    return int(_env(env, name, default, low, high, whole=True))


def _env_float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    return _env(env, name, default, low, high, whole=False)


def _env(env: Mapping[str, str], name: str, default: float, low: float, high: float, whole: bool) -> float:
    """The variable's value within its bounds, or ``default`` when unset or blank."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        what = "a whole number" if whole else "a number"
        raise ConfigError(f"The environment variable {name} must be {what}, not {raw!r}.") from None
    if whole:
        check_int(name, value, int(low), int(high))
    else:
        check_float(name, value, low, high)
    return value


# The variables an operator sets, what each means, and the Limits field it sets (the README's table is made here).
VARIABLES = {
    "NST_DEVICE": ("", "auto (CUDA, then MPS, then the CPU), cpu, cuda, cuda:N or mps"),
    "NST_PRECISION": (
        "",
        "of the convolutions: auto (bf16 where native: AMX or AVX512-BF16 CPUs, Ampere and later GPUs), fp32, bf16",
    ),
    "NST_MAX_SIZE": ("", "largest output, px; unset, the largest whose default run fits NST_MAX_SECONDS here"),
    "NST_MAX_STEPS": ("max_steps", "most steps per scale a visitor may ask for"),
    "NST_MAX_SECONDS": ("max_seconds", "time limit of one job on the device, s (a clip's, all its turns together)"),
    "NST_MAX_CONCURRENT": ("max_concurrent", "jobs on the device at once"),
    "NST_MAX_WAITING": ("max_waiting", "jobs that may wait in line; one more is told the demo is busy"),
    "NST_FAIR_SHARE_SECONDS": ("fair_share_seconds", "a job's turn while others wait, s"),
    "NST_MAX_UPLOAD_MB": ("max_upload_mb", "largest photo or painting, MB (never above server.maxUploadSize)"),
    "NST_MAX_MEGAPIXELS": ("max_megapixels", "largest decoded image, megapixels"),
    "NST_GPU_MEMORY_GIB": ("gpu_memory_gib", "this process's share of a CUDA GPU, GiB (0: all of it)"),
    "NST_RAY_ADDRESS": ("", "a Ray cluster's head (host:port) whose job service paints instead of this server"),
    "NST_RAY_FALLBACK": ("", "local: paint on this server when that cluster cannot be reached at start-up"),
}


def environment_table() -> str:
    """The README's table of the operator's variables with their defaults on a CPU and on a GPU."""
    cpu, gpu = Limits.for_device("cpu", {}), Limits.for_device("cuda", {})
    rows = ["| variable | default on a CPU | on a GPU | meaning |", "| --- | --- | --- | --- |"]
    unset = {"NST_DEVICE": "auto", "NST_PRECISION": "auto", "NST_MAX_SIZE": "measured", "NST_RAY_ADDRESS": "none",
             "NST_RAY_FALLBACK": "none"}  # fmt: skip
    for name, (field_name, meaning) in VARIABLES.items():
        if field_name:
            on_cpu, on_gpu = f"{getattr(cpu, field_name):g}", f"{getattr(gpu, field_name):g}"
        else:
            on_cpu = on_gpu = unset[name]
        rows.append(f"| `{name}` | {on_cpu} | {on_gpu} | {meaning} |")
    return "\n".join(rows)
