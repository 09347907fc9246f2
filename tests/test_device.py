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


def test_auto_precision_is_bf16_exactly_where_the_cpu_runs_it_natively():
    """AMX or AVX512-BF16: 15 steps at 256 px took 3.1 s in bf16 against 5.9 s in fp32 on a 2-core AMD EPYC with
    AVX512-BF16, no AMX (docs/design.md); AVX2 alone emulates bf16, slower than fp32."""
    native = torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()
    assert resolve_precision("auto", CPU) == (torch.bfloat16 if native else torch.float32)


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


def quota(root, v2: str | None = None, v1: tuple[int, int] | None = None):
    """A made-up cgroup folder: v2's ``cpu.max`` line, or v1's quota and period."""
    if v2 is not None:
        (root / "cpu.max").write_text(v2 + "\n")
    if v1 is not None:
        (root / "cpu").mkdir()
        (root / "cpu" / "cpu.cfs_quota_us").write_text(f"{v1[0]}\n")
        (root / "cpu" / "cpu.cfs_period_us").write_text(f"{v1[1]}\n")
    return root


@pytest.mark.parametrize(
    ("v2", "v1", "cores"),
    [
        ("150000 100000", None, 1),  # 1.5 cores of CPU time: one thread, rounded down
        ("50000 100000", None, 1),  # never none
        (None, (100000, 100000), 1),  # cgroup v1
        ("max 100000", None, None),  # no quota: the cores it may run on
        (None, (-1, 100000), None),
        (None, None, None),  # no cgroup files at all
    ],
)
def test_the_cores_a_process_may_use_are_its_containers_quota_at_most(tmp_path, v2, v1, cores):
    """A 2-core Space sees the node's cores (os.cpu_count) while its quota allows two: threads beyond it are
    throttled together."""
    import os

    from nst_core.cpu import usable_cores

    mine = len(os.sched_getaffinity(0))
    assert usable_cores(quota(tmp_path, v2, v1)) == (min(cores, mine) if cores else mine)


def test_on_the_cpu_torch_is_given_no_more_threads_than_the_quota(tmp_path, monkeypatch):
    import nst_core.cpu

    before = torch.get_num_threads()
    monkeypatch.setattr(nst_core.cpu, "CGROUP", quota(tmp_path, "100000 100000"))
    try:
        torch.set_num_threads(2)
        assert resolve_device("cpu") == CPU and torch.get_num_threads() == 1
        torch.set_num_threads(1)
        monkeypatch.setattr(nst_core.cpu, "CGROUP", tmp_path / "none")
        resolve_device("cpu")
        assert torch.get_num_threads() == 1  # capped, never raised
    finally:
        torch.set_num_threads(before)


def test_a_process_in_a_limited_group_under_the_root_is_held_to_its_groups_quota(tmp_path):
    """Where the container's group is not the mount's root (no cgroup namespace), /proc/self/cgroup says which
    group is the process's; a parent's tighter quota holds too."""
    import os

    from nst_core.cpu import usable_cores

    own = tmp_path / "cpu" / "demo" / "painter"
    own.mkdir(parents=True)
    (own / "cpu.cfs_quota_us").write_text("300000\n")
    (own / "cpu.cfs_period_us").write_text("100000\n")
    (tmp_path / "cpu" / "demo" / "cpu.cfs_quota_us").write_text("100000\n")  # the parent allows one core
    (tmp_path / "cpu" / "demo" / "cpu.cfs_period_us").write_text("100000\n")
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text("2:cpuacct:/\n1:cpu:/demo/painter\n0::/\n")
    assert usable_cores(tmp_path, proc) == 1
    proc.write_text("1:cpu:/elsewhere\n")
    assert usable_cores(tmp_path, proc) == len(os.sched_getaffinity(0))
