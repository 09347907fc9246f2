"""``python -m bench.page_time``: click to finished picture on the page, with its defaults, in a real browser.

Starts ``streamlit run`` (fp32 under ``ONEDNN_MAX_CPU_ISA=AVX2`` by default, standing in for the free tier's
AMD EPYC with AVX2 only; ``--isa ""`` for this CPU's own), opens the paint page in chromium, presses "Paint it"
on the example photo with the page's defaults (Instant, then refined) and times it until the download button
is there; the first run warms the server and is not counted. Writes ``bench/results/page-time.{json,md}``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from bench.common import RESULTS, machine, save
from bench.load import BROWSER_ARGS, CHROMIUM, add_browser_nice, browsers_kept_low, free_port, start_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.page_time", description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="timed runs after the warm-up")
    parser.add_argument("--isa", default="AVX2", help="ONEDNN_MAX_CPU_ISA of the server (empty: the CPU's own)")
    parser.add_argument("--precision", default="fp32", help="NST_PRECISION of the server")
    add_browser_nice(parser)
    parser.add_argument("--name", default="page-time", help="results stem")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    env = {"NST_PRECISION": args.precision, **({"ONEDNN_MAX_CPU_ISA": args.isa} if args.isa else {})}
    port = free_port()
    server = start_server(port, env)
    runs: list[dict[str, Any]] = []
    try:
        with sync_playwright() as playwright, browsers_kept_low(args.browser_nice):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            for index in range(args.runs + 1):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"http://127.0.0.1:{port}")
                button = page.get_by_role("button", name="Paint it")
                button.wait_for(timeout=120_000)
                page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=60_000)
                page.wait_for_timeout(500)
                size = page.locator("input[type='range'][aria-label='Output size (longest side, px)']").input_value()
                began = time.monotonic()
                button.click()
                page.get_by_role("button", name="Download PNG").wait_for(timeout=300_000)
                seconds = time.monotonic() - began
                caption = page.locator("[data-testid='stImage']").filter(has_text="#1 · ").first.inner_text()
                if index == args.runs:
                    page.screenshot(path=str(RESULTS / f"{args.name}.png"))
                runs.append({"warm_up": index == 0, "size": int(size), "seconds": seconds, "caption": caption})
                print(runs[-1], file=sys.stderr, flush=True)
                page.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    report = {"isa": args.isa or "the CPU's own", "precision": args.precision, "browser_nice": args.browser_nice,
              "name": args.name, "machine": machine(), "isa_option": args.isa,
              "runs": runs}  # fmt: skip
    print(save(report, args.name, summary))
    return 0


def summary(report: dict[str, Any]) -> str:
    timed = [run for run in report["runs"] if not run["warm_up"]]
    median = statistics.median(run["seconds"] for run in timed)
    nice = report.get("browser_nice", 0)
    isa = report.get("isa_option", "AVX2")
    shown_isa = isa or '""'  # the CPU's own ISA: the option given empty
    options = (f" --isa {shown_isa}" if isa != "AVX2" else "") + (f" --browser-nice {nice}" if nice else "")
    name = report.get("name", "page-time")
    command = options + (f" --name {name}" if name != "page-time" else "")
    where = f", the browser at nice {nice}, as if it were the visitor's own machine" if nice else ""
    lines = [f"# Click to finished picture on the page, its defaults ({report['precision']}, oneDNN ISA: "
             f"{report['isa']})", "",
             f"Command: `python -m bench.page_time{command}` on {report.get('machine', '2 cores')} (the server and "
             f"the browser on the same cores{where}). Median of {len(timed)} runs after a warm-up: **{median:.1f} s**.",
             "", "| run | size | seconds | the result's caption |", "| --- | --- | --- | --- |"]  # fmt: skip
    for index, run in enumerate(report["runs"]):
        label = "warm-up" if run["warm_up"] else str(index)
        lines.append(f"| {label} | {run['size']} | {run['seconds']:.1f} | {run['caption']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
