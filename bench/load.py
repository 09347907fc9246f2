"""``python -m bench.load``: K visitors in real browsers, painting at once, several rounds.

Starts ``streamlit run`` on a free loopback port, opens K pages of Debian's
chromium through Playwright, and in each round has every page press
"Paint it" (a few tenths of a second apart, so the line has an order). It
checks that every run finishes without an error, that runs start in the order
they were submitted, and that the server's memory after the last round is
near its level after the first; it prints p50 and p95 of waiting and running
time. Bounded: K pages, R rounds, a timeout per run; loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def start_server(port: int, env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    """``streamlit run`` the app on a loopback port; returns once /_stcore/health answers ok.

    Raises:
        RuntimeError: no answer within 60 s.
    """
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", *extra],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError("streamlit did not answer /_stcore/health with ok within 60 s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--visitors", type=int, default=4, help="concurrent browser sessions (K)")
    parser.add_argument("--rounds", type=int, default=5, help="runs per visitor")
    parser.add_argument("--size", type=int, default=64, help="output size, px (the server's limit and default)")
    parser.add_argument("--steps", type=int, default=5, help="steps per run (the server's limit and default)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a run may take, queue included")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    port = free_port()
    limits = {"NST_MAX_SIZE": str(args.size), "NST_MAX_STEPS": str(args.steps), "NST_MAX_WAITING": "32"}
    server = start_server(port, limits)
    url = f"http://127.0.0.1:{port}"
    records: list[dict[str, Any]] = []
    memory: list[float] = []
    failures: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            pages = []
            for _ in range(args.visitors):
                page = browser.new_context(viewport={"width": 1200, "height": 1800}).new_page()
                page.goto(url)
                page.get_by_role("button", name="Paint it").wait_for(timeout=60_000)
                pages.append(page)
            for round_number in range(args.rounds):
                submitted: list[tuple[int, float]] = []
                for index, page in enumerate(pages):
                    page.get_by_role("button", name="Paint it").click()
                    submitted.append((index, time.monotonic()))
                    time.sleep(0.3)
                for record in watch(pages, dict(submitted), round_number, args.timeout):
                    records.append(record)
                    if record["error"]:
                        failures.append(f"round {round_number} visitor {record['visitor']}: {record['error']}")
                memory.append(rss_mib(server.pid))
                print(f"round {round_number + 1}: server RSS {memory[-1]:.0f} MiB", file=sys.stderr, flush=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return report(records, memory, failures, args)


RUNNING = re.compile(r"Instant painting ready|Step \d+/\d+")  # the progress line of a run that left the line


def watch(pages: list[Any], submitted: dict[int, float], round_number: int, timeout: float) -> list[dict[str, Any]]:
    """Poll every page until its run is done; note when it left the line and when it finished."""
    started: dict[int, float] = {}
    finished: dict[int, float] = {}
    errors: dict[int, str] = {}
    marker = f"#{round_number + 1} · "  # the caption of this round's painting
    deadline = min(submitted.values()) + timeout
    while len(finished) + len(errors) < len(pages) and time.monotonic() < deadline:
        for index, page in enumerate(pages):
            if index in finished or index in errors:
                continue
            now = time.monotonic()
            if page.locator("[data-testid='stException']").count():
                errors[index] = "an exception is shown"
            elif page.locator("[data-testid='stAlertContentError']").count():
                errors[index] = (
                    "an error is shown: " + page.locator("[data-testid='stAlertContentError']").first.inner_text()
                )
            elif index not in started and page.get_by_text(RUNNING).count():
                started[index] = now
            elif page.get_by_text(marker).count():
                finished[index] = now
                started.setdefault(index, now)
        time.sleep(0.05)
    records = []
    for index in range(len(pages)):
        end = finished.get(index, time.monotonic())
        begin = started.get(index, end)
        error = errors.get(index) or (None if index in finished else "timed out")
        wait = begin - submitted[index]
        records.append({"visitor": index, "round": round_number, "submitted": submitted[index], "started": begin,
                        "finished": end, "wait": wait, "run": end - begin, "error": error})  # fmt: skip
    return records


def report(records: list[dict[str, Any]], memory: list[float], failures: list[str], args: argparse.Namespace) -> int:
    waits = [r["wait"] for r in records]
    runs = [r["run"] for r in records]
    order_ok = True
    for round_number in range(args.rounds):
        in_round = sorted((r for r in records if r["round"] == round_number), key=lambda r: r["submitted"])
        starts = [r["started"] for r in in_round]
        order_ok = order_ok and starts == sorted(starts)
    summary = {
        "visitors": args.visitors, "rounds": args.rounds, "runs": len(records), "failed": len(failures),
        "size": args.size, "steps": args.steps,
        "wait_p50_s": statistics.median(waits), "wait_p95_s": percentile(waits, 0.95),
        "run_p50_s": statistics.median(runs), "run_p95_s": percentile(runs, 0.95),
        "fifo_order_held": order_ok,
        "rss_after_first_round_mib": memory[0] if memory else None,
        "rss_after_last_round_mib": memory[-1] if memory else None,
    }  # fmt: skip
    print(json.dumps(summary, indent=2))
    for failure in failures:
        print("FAILED:", failure, file=sys.stderr)
    grew = bool(memory) and memory[-1] > memory[0] * 1.25 + 50
    return 1 if failures or not order_ok or grew else 0


if __name__ == "__main__":
    sys.exit(main())
