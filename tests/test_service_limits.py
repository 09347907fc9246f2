"""The page's serving policy: limits per device, from the environment."""

from __future__ import annotations

import pytest

from job_service.limits import Limits
from nst_core.config import HARD_MAX_SIZE, HARD_MAX_STEPS, TransferConfig
from nst_core.errors import ConfigError


def test_limits_depend_on_the_device_and_the_environment():
    cpu, gpu = Limits.for_device("cpu", {}), Limits.for_device("cuda", {})
    assert cpu.max_size < gpu.max_size and cpu.max_steps < gpu.max_steps
    custom = Limits.for_device("cpu", {"NST_MAX_SIZE": "300", "NST_MAX_STEPS": "20", "NST_MAX_CONCURRENT": "2"})
    assert (custom.max_size, custom.max_steps, custom.max_concurrent) == (300, 20, 2)
    assert custom.default_steps <= 20 and custom.default_size <= 300
    with pytest.raises(ConfigError, match="NST_MAX_SIZE must be a whole number"):
        Limits.for_device("cpu", {"NST_MAX_SIZE": "big"})
    with pytest.raises(ConfigError, match="between"):
        Limits.for_device("cpu", {"NST_MAX_SIZE": str(HARD_MAX_SIZE + 1)})


def test_limits_check_and_clamp():
    limits = Limits.for_device("cpu", {"NST_MAX_SECONDS": "30"})
    with pytest.raises(ConfigError, match="limited to 512 px"):
        limits.check(TransferConfig(size=1024))
    with pytest.raises(ConfigError, match="limited to 200 steps per scale"):
        limits.check(TransferConfig(steps=HARD_MAX_STEPS))
    assert limits.clamp(TransferConfig()).max_seconds == 30
    assert limits.clamp(TransferConfig(max_seconds=5)).max_seconds == 5


def test_the_stated_upload_limit_is_never_above_the_servers_cap():
    assert Limits.for_device("cpu", {}, server_upload_mb=1).max_upload_mb == 1
    assert Limits.for_device("cpu", {"NST_MAX_UPLOAD_MB": "5"}, server_upload_mb=10).max_upload_mb == 5


def test_a_memory_cap_is_refused_off_a_cuda_gpu():
    import torch

    from nst_core.device import cap_memory
    from nst_core.errors import ConfigError

    with pytest.raises(ConfigError, match="CUDA GPU"):
        cap_memory(torch.device("cpu"), 16)
    assert Limits.for_device("cuda", {"NST_GPU_MEMORY_GIB": "16"}).gpu_memory_gib == 16
    assert Limits.for_device("cuda", {}).gpu_memory_gib == 0
