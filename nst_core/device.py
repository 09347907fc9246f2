"""Choosing the device: CUDA, then Apple MPS, then CPU, unless one is forced."""

from __future__ import annotations

import torch

from .errors import ConfigError


def resolve_device(requested: str = "auto") -> torch.device:
    """The device to run on.

    Args:
        requested: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``,
            ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    Raises:
        ConfigError: the name is not a device, or that device is not available.
    """
    name = requested.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"{requested!r} is not a device; use auto, cpu, cuda, cuda:N or mps.") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("CUDA was asked for, but this machine has no usable CUDA GPU; use --device cpu or auto.")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"There is no GPU {device.index}; this machine has {torch.cuda.device_count()}.")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError("Apple MPS was asked for, but it is not available here; use --device cpu or auto.")
    elif device.type != "cpu":
        raise ConfigError(f"{requested!r} is not a supported device; use auto, cpu, cuda, cuda:N or mps.")
    return device


def describe_device(device: torch.device) -> str:
    """For people: ``"CPU, 2 threads"`` or ``"CUDA: NVIDIA H100"``."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU, {torch.get_num_threads()} threads"
