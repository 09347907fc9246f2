"""Choosing the device (CUDA, then Apple MPS, then CPU) and the precision that is fastest on it."""

from __future__ import annotations

import torch

from .cpu import usable_cores
from .errors import ConfigError


def resolve_device(requested: str = "auto") -> torch.device:
    """The device to run on.

    Args:
        requested: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``,
            ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    On the CPU, torch's threads are also capped at the cores this process may use (:func:`usable_cores`: in a
    container, its CPU quota, which torch does not read; never raised).

    Raises:
        ConfigError: the name is not a device, or that device is not available.
    """
    name = requested.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return _on_cpu(torch.device("cpu"))
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
    else:
        _on_cpu(device)
    return device


def _on_cpu(device: torch.device) -> torch.device:
    """``device`` (the CPU), torch's threads capped at the cores this process may use."""
    cores = usable_cores()
    if torch.get_num_threads() > cores:
        torch.set_num_threads(cores)
    return device


def cuda_index(device: torch.device) -> int:
    """The GPU's number: ``cuda:N``'s N, or the current GPU's for plain ``cuda`` (some torch calls refuse it)."""
    return device.index if device.index is not None else torch.cuda.current_device()


def cap_memory(device: torch.device, gib: float) -> float:
    """Let this process's allocator use at most ``gib`` GiB of a CUDA GPU (a larger GPU behaves like a smaller
    one, for a host that shares it or to check a smaller card's limits); returns the fraction set.

    cuDNN's workspaces come from the same allocator, so its autotuner keeps to the cap as well.

    Raises:
        ConfigError: the device is not a CUDA GPU, or ``gib`` is not positive.
    """
    if device.type != "cuda":
        raise ConfigError(f"A memory cap applies to a CUDA GPU, not to {device.type}.")
    if gib <= 0:
        raise ConfigError(f"A memory cap must be above 0 GiB, not {gib:g}.")
    index = cuda_index(device)
    total = torch.cuda.get_device_properties(index).total_memory
    fraction = min(1.0, gib * 2**30 / total)
    torch.cuda.set_per_process_memory_fraction(fraction, index)
    return fraction


def describe_device(device: torch.device) -> str:
    """For people: ``"CPU, 2 threads"`` or ``"CUDA: NVIDIA H100"``."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU, {torch.get_num_threads()} threads"


PRECISION_DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16}


def resolve_precision(requested: str, device: torch.device) -> torch.dtype:
    """The dtype of the VGG convolutions; Grams, losses and the image always stay fp32.

    ``"auto"`` picks bf16 where the hardware runs it natively and much faster
    than fp32: CUDA GPUs with bf16 support (Ampere and later) and CPUs with AMX
    (Intel Sapphire Rapids and later) or AVX512-BF16 (AMD Zen 4 and later, Intel
    Cooper Lake); ``python -m bench`` measures the gain and the quality
    (docs/design.md). Elsewhere (AVX2 alone emulates bf16, and slowly), and on
    MPS, it is fp32.

    fp16 is not offered: without loss scaling, the gradients of these
    normalised losses underflow in fp16; bf16 has fp32's range.

    Raises:
        ConfigError: an unknown name, or bf16 on a GPU without it.
    """
    if requested == "auto":
        return torch.bfloat16 if _fast_bf16(device) else torch.float32
    dtype = PRECISION_DTYPES.get(requested)
    if dtype is None:
        raise ConfigError(f"precision must be auto, fp32 or bf16; {requested!r} was given.")
    native = torch.cuda.is_bf16_supported(including_emulation=False) if device.type == "cuda" else True
    if dtype == torch.bfloat16 and not native:
        raise ConfigError("This GPU has no native bf16; use precision fp32 or auto.")
    return dtype


def describe_precision(dtype: torch.dtype) -> str:
    """``"bf16"`` or ``"fp32"``."""
    return next((name for name, value in PRECISION_DTYPES.items() if value == dtype), str(dtype))


def _fast_bf16(device: torch.device) -> bool:
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    if device.type == "cpu":  # torch's own checks are private, hence the guards
        checks = [getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
        return any(bool(check()) for check in checks if callable(check))
    return False
