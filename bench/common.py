"""What the benchmarks share: the example pair, where results go, a timed child process, writing results."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from nst_core.backbone import get_extractor
from nst_core.config import CONTENT_LAYER, STYLE_LAYERS
from nst_core.cpu import usable_cores
from nst_core.losses import content_loss, gram_matrix, style_loss

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
CONTENT = ASSETS / "content" / "tubingen.jpg"
STYLE = ASSETS / "style" / "starry_night.jpg"
RESULTS = ROOT / "bench" / "results"


def child(argv: list[str]) -> tuple[float, float, str]:
    """Run a process; (wall seconds, its peak RSS in MiB, stdout).

    The peak is read from /proc (VmHWM) while it runs: ``wait4``'s ru_maxrss would
    report this (large) parent's size, which a child inherits across fork and exec.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=err, text=True)
        peak = 0.0
        while process.poll() is None:
            peak = max(peak, _peak_rss_mib(process.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise RuntimeError(f"{argv[:4]} failed: {err.read()[-2000:]}")
        return seconds, peak, out.read()


def _peak_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def ours(out: Path, size: int, steps: int | None, extra: list[str] | None = None) -> list[str]:
    argv = [sys.executable, "-m", "nst_core", str(CONTENT), str(STYLE), "-o", str(out), "--size", str(size)]
    if steps is not None:
        argv += ["--steps", str(steps)]
    return [*argv, "--quiet", "--json", *(extra or [])]


def machine() -> str:
    """This machine in words for a result's header: "AMD EPYC, 2 cores, AVX2" (the widest vectors it has)."""
    model, flags = "an unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    widest = "AMX" if "amx_tile" in flags else "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else ""
    return ", ".join(part for part in (model, f"{usable_cores()} cores", widest) if part)


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def flops_per_iteration(size: tuple[int, int], dtype: torch.dtype) -> float:
    """FLOPs of one step: forward to relu5_1, the losses, backward to the image."""
    extractor = get_extractor(dtype=dtype)
    image = torch.rand(1, 3, size[1], size[0], requires_grad=True)
    with torch.no_grad():
        targets = extractor(torch.rand(1, 3, size[1], size[0]), [CONTENT_LAYER, *STYLE_LAYERS])
    counter = FlopCounterMode(display=False)
    with counter:
        features = extractor(image, [CONTENT_LAYER, *STYLE_LAYERS])
        loss = content_loss(features[CONTENT_LAYER], targets[CONTENT_LAYER].float())
        for name in STYLE_LAYERS:
            loss = loss + style_loss(features[name], gram_matrix(targets[name])[0])
        loss.backward()  # type: ignore[no-untyped-call]
    return float(counter.get_total_flops())


def save(report: dict[str, Any], name: str, summarise: Callable[[dict[str, Any]], str]) -> str:
    """``bench/results/NAME.json`` (the report) and ``NAME.md`` (its summary); returns the summary."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2))
    text = summarise(report)
    (RESULTS / f"{name}.md").write_text(text)
    return text
