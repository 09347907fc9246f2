"""Choosing the device and the precision."""

from __future__ import annotations

import pytest
import torch

from nst_core.device import describe_precision, resolve_device, resolve_precision
from nst_core.errors import ConfigError

CPU = torch.device("cpu")


def test_cpu_is_always_available_and_unknown_devices_are_refused():
    assert resolve_device("cpu") == CPU
    assert resolve_device("auto").type in ("cuda", "mps", "cpu")
    with pytest.raises(ConfigError, match="not a"):
        resolve_device("tpu")


def test_explicit_precisions_are_honoured_on_cpu():
    assert resolve_precision("fp32", CPU) == torch.float32
    assert resolve_precision("bf16", CPU) == torch.bfloat16
    assert describe_precision(torch.bfloat16) == "bf16" and describe_precision(torch.float32) == "fp32"


def test_auto_precision_is_bf16_exactly_where_the_cpu_has_amx():
    has_amx = torch.cpu._is_amx_tile_supported()
    assert resolve_precision("auto", CPU) == (torch.bfloat16 if has_amx else torch.float32)


def test_auto_precision_on_cuda_follows_native_bf16(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    assert resolve_precision("auto", torch.device("cuda")) == torch.float32
    with pytest.raises(ConfigError, match="no native bf16"):
        resolve_precision("bf16", torch.device("cuda"))
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert resolve_precision("auto", torch.device("cuda")) == torch.bfloat16


def test_unknown_precision_is_refused():
    with pytest.raises(ConfigError, match="auto, fp32 or bf16"):
        resolve_precision("fp16", CPU)
