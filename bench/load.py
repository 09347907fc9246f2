"""``python -m bench.load``: K visitors of mixed kinds in real browsers, and the waits they are told against the real.

Starts ``streamlit run`` on a free loopback port, opens K pages of Debian's chromium through Playwright (each
its own session), and has them press their page's button a few tenths of a second apart, in turn: a refined
picture, an instant picture, a comparison and a clip (``--kinds`` for another mix). For every visitor it
records the first wait it was told ("You are number k in line; about N s to wait"), every later figure, when
its job really started, every time left its progress line told while it ran ("about N s left") and when its
result was on the page; then it reports each visitor's told waits and times left against the real ones and
fails if a page showed an error. Bounded: K pages, one round, a timeout; loopback only.

Each figure is timed twice: when the page drew it (its own text, as a visitor reads it) and when the server sent
it (:mod:`bench.wire`: the packets on loopback, with the kernel's times). Ten pages on one or two cores beside the
server drew a result up to ten seconds after the server had sent it, where each visitor's own device would draw it
at once; the times as sent show what the server told and when, without that lag.
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
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.wire import Wire

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Desktop chromium reads an emulated finger's sideways stroke as "swipe back", and went back a page at the
    # next rerun (a phone's browser leaves that gesture to the screen's edge).
    "--disable-features=OverscrollHistoryNavigation",
]
KINDS = ("refined", "instant", "comparison", "clip")
PAGES = {"refined": "", "instant": "", "comparison": "/compare", "clip": "/video"}
BUTTONS = {"refined": "Paint it", "instant": "Paint it", "comparison": "Compare", "clip": "Paint the clip"}
WAIT = re.compile(r"(?:in line|carries on in); (?:about (\d+) s|a few seconds)")
LEFT = re.compile(r"(?:about (\d+) s|a few seconds) left")
RUNNING = re.compile(r"Instant painting ready|Step \d+/\d+|step \d+/\d+|Frame \d+/\d+|Starting")
DONE = {"refined": "#1 · ", "instant": "#1 · ", "comparison": "Comparison", "clip": "Painted clip"}
FEW_SECONDS = 5.0  # "a few seconds" is read as this
FEW = "a few seconds"
TIMED_OUT = "timed out"
SENT = (
    "real_wait",
    "first_told",
    "first_real",
    "worst_error",
    "figures",
    "worst_left_error",
    "left_figures",
    "left_series",
    "series",
    "done_after",
)  # a visitor's figures timed as the server sent them too


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_server(
    port: int, env: dict[str, str], *extra: str, log: Path | None = None, cpus: set[int] | None = None
) -> subprocess.Popen[bytes]:
    """``streamlit run`` the app on a loopback port (on ``cpus`` only, if given); returns once /_stcore/health
    answers ok.

    Raises:
        RuntimeError: no answer within 90 s.
    """
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", *extra],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL if log is None else log.open("wb"),
        preexec_fn=None if cpus is None else lambda: os.sched_setaffinity(0, cpus),
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError("streamlit did not answer /_stcore/health with ok within 90 s")


def lower_browsers(level: int) -> int:
    """Put every thread of every chromium process at nice ``level`` (0: leave them); returns the threads moved.

    The visitors' browsers are not on the server's cores in a real deployment; on a 2-core test host, ten pages
    drawn beside the server took 120% of its 200% of CPU and slowed a clip's frames threefold. Chromium sets its
    renderers' priorities itself (a nice at launch does not reach them), so this is called again as it goes.
    """
    moved = 0
    if level == 0:
        return moved
    for task in Path("/proc").glob("[0-9]*/task/[0-9]*"):
        try:
            if (task.parent.parent / "comm").read_text().strip() != "chromium":
                continue
            tid = int(task.name)
            if os.getpriority(os.PRIO_PROCESS, tid) < level:
                os.setpriority(os.PRIO_PROCESS, tid, level)
                moved += 1
        except (OSError, ValueError):  # the thread ended meanwhile
            continue
    return moved


def add_browser_nice(parser: argparse.ArgumentParser) -> None:
    """The ``--browser-nice`` option of the benches that drive the page in chromium."""
    parser.add_argument("--browser-nice", type=int, default=0, choices=range(20), metavar="0-19",
                        help="run the browsers at this lower priority, as if on visitors' own machines")  # fmt: skip


@contextmanager
def browsers_kept_low(level: int) -> Iterator[None]:
    """While inside, :func:`lower_browsers` every half second on a thread of its own (0: nothing)."""
    done = threading.Event()

    def keep() -> None:
        while not done.wait(0.5):
            lower_browsers(level)

    thread = threading.Thread(target=keep, daemon=True)
    if level:
        thread.start()
    try:
        yield
    finally:
        done.set()


def told_wait(text: str) -> float | None:
    """The wait a page says, in seconds ("a few seconds" read as 5 s), or None if it says none."""
    found = WAIT.search(text)
    if found is None:
        return None
    return float(found.group(1)) if found.group(1) else FEW_SECONDS


def prepare(page: Any, kind: str, steps: int) -> None:
    """Set a page up for its kind: the method, and the steps of pictures and comparisons."""
    try:
        page.get_by_role("button", name=BUTTONS[kind]).wait_for(timeout=90_000)
    except Exception:
        page.screenshot(path=str(RESULTS / f"load-{kind}-not-ready.png"), full_page=True)
        raise
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=60_000)
    if kind == "instant":
        page.get_by_text("Instant", exact=True).click()
    if kind in ("refined", "comparison"):
        slider = page.locator("input[type='range'][aria-label='Steps per scale']")
        slider.focus()
        slider.press("Home")
        for _ in range(steps - 1):
            slider.press("ArrowRight")
    page.wait_for_timeout(300)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--visitors", type=int, default=10, help="concurrent browser sessions (K)")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="the mix, in turn")
    parser.add_argument("--size", type=int, default=96, help="the server's largest size, px (its default too)")
    parser.add_argument("--steps", type=int, default=20, help="steps per scale of the pictures and comparisons")
    parser.add_argument("--share", type=float, default=10.0, help="the server's fair turn, s")
    parser.add_argument("--timeout", type=float, default=900, help="seconds the whole round may take")
    parser.add_argument("--name", default="load", help="results stem in bench/results")
    add_browser_nice(parser)
    parser.add_argument("--browser-cpus", type=lambda text: {int(cpu) for cpu in text.split(",")}, metavar="N[,N]",
                        help="run the browsers (and this bench) on these CPUs and the server on the others, as if "
                        "the visitors' browsers were on their own machines")  # fmt: skip
    parser.add_argument("--server-log", type=Path, help="write the server's log here (every job's plan and turns)")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    port = free_port()
    env = {"NST_MAX_SIZE": str(args.size), "NST_MAX_WAITING": str(args.visitors + 2),
           "NST_FAIR_SHARE_SECONDS": str(args.share)}  # fmt: skip
    everywhere = os.sched_getaffinity(0)
    server_cpus = everywhere - args.browser_cpus if args.browser_cpus else None
    if server_cpus is not None and (not server_cpus or not args.browser_cpus <= everywhere):
        parser.error(f"--browser-cpus must leave the server some of the CPUs {sorted(everywhere)}")
    server = start_server(port, env, log=args.server_log, cpus=server_cpus)
    url = f"http://127.0.0.1:{port}"
    kinds = [args.kinds[index % len(args.kinds)] for index in range(args.visitors)]
    if args.browser_cpus:
        os.sched_setaffinity(0, args.browser_cpus)  # Playwright's driver and chromium start from here: theirs too
    try:
        with sync_playwright() as playwright:
            sent, note = sent_notes(kinds)
            wire = Wire.open(port, note)
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            pages = []
            for kind in kinds:
                page = browser.new_context(viewport={"width": 1200, "height": 1600}).new_page()
                page.goto(url + PAGES[kind])
                prepare(page, kind, args.steps)
                pages.append(page)
            lower_browsers(args.browser_nice)
            for page, kind in zip(pages, kinds, strict=True):
                start_notes(page, kind)
            pressed, submitted = [], []  # before each click, and once the click returned (the page's own notes)
            for page, kind in zip(pages, kinds, strict=True):
                pressed.append(time.time())
                page.get_by_role("button", name=BUTTONS[kind]).click()
                submitted.append(time.time())
                time.sleep(0.3)
            records = watch(pages, kinds, submitted, args.timeout, args.browser_nice)
            if wire is not None and len(wire.pages) == len(pages):  # else a page's websocket opened again
                for item, notes, at in zip(records, sent, pressed, strict=True):  # a busy core returns clicks late
                    as_sent = record(item["visitor"], item["kind"], at, notes)
                    item["sent"] = {key: as_sent[key] for key in SENT}
            rss = rss_mib(server.pid)
            browser.close()
            if wire is not None:
                wire.close()
    finally:
        os.sched_setaffinity(0, everywhere)
        server.terminate()
        server.wait(timeout=30)
    return report(records, rss, args)


# Each page notes what it says itself, when it changes (a look at most 0.1 s after a change of its text): the
# times are the page's own, where a bench reading ten pages one after another read each one late by the others.
NOTES_JS = r"""([wait, running, done, left]) => {
  const waitRe = new RegExp(wait), runningRe = new RegExp(running), leftRe = new RegExp(left);
  window.nstNotes = [];
  let last = "", queued = false;
  const look = () => {
    queued = false;
    const main = document.querySelector("[data-testid='stMain']");
    if (!main) return;
    const text = main.innerText;
    const found = text.match(waitRe);
    const error = document.querySelector("[data-testid='stException']") ? "an exception is shown"
      : (document.querySelector("[data-testid='stAlertContentError']") || {}).innerText || null;
    const told = text.match(leftRe);
    const state = [found ? (found[1] ? Number(found[1]) : null) : -1, runningRe.test(text), text.includes(done), error,
      told ? (told[1] ? Number(told[1]) : null) : -1];
    const key = JSON.stringify(state);
    if (key !== last) { last = key; window.nstNotes.push([Date.now() / 1000, ...state]); }
  };
  new MutationObserver(() => { if (!queued) { queued = true; setTimeout(look, 100); } })
    .observe(document.body, {subtree: true, childList: true, characterData: true});
  look();
}"""


def said(kind: str, text: str) -> list[Any] | None:
    """What ``text`` the server sent a page of ``kind`` tells, in the form of :func:`record`'s notes (without their
    time; no error: the page's own notes have those), or None if it tells nothing the bench reads."""
    wait, left = WAIT.search(text), LEFT.search(text)
    state = [-1 if wait is None else (float(wait.group(1)) if wait.group(1) else None),
             bool(RUNNING.search(text)), DONE[kind] in text, None,
             -1 if left is None else (float(left.group(1)) if left.group(1) else None)]  # fmt: skip
    return None if state == [-1, False, False, None, -1] else state


def sent_notes(kinds: list[str]) -> tuple[list[list[list[Any]]], Callable[[int, float, bytes], None]]:
    """Each page's notes of what the server sent it, and the function a :class:`~bench.wire.Wire` fills them with
    (a note when what is told changes)."""
    notes: list[list[list[Any]]] = [[] for _ in kinds]

    def note(page: int, at: float, payload: bytes) -> None:
        if page >= len(kinds):  # a page that opened its websocket again: the pages can no longer be told apart
            return
        state = said(kinds[page], payload.decode("utf-8", "replace"))
        if state is not None and (not notes[page] or notes[page][-1][1:] != state):
            notes[page].append([at, *state])

    return notes, note


def start_notes(page: Any, kind: str) -> None:
    """Have the page note each change of what it tells (its wait, running, done, an error, its time left) with the
    time."""
    page.evaluate(NOTES_JS, [WAIT.pattern, RUNNING.pattern, DONE[kind], LEFT.pattern])


def watch(
    pages: list[Any], kinds: list[str], submitted: list[float], timeout: float, nice: int = 0
) -> list[dict[str, Any]]:
    """Wait until every page says its job is done (a look every half second), then read what each page noted
    and when: every wait it told, when its job started and when it was done (the browsers kept at ``nice``,
    see :func:`lower_browsers`). Times are wall-clock seconds, as ``submitted``."""
    deadline = min(submitted) + timeout
    while True:
        lower_browsers(nice)
        notes = [page.evaluate("window.nstNotes") for page in pages]
        records = [record(index, kind, submitted[index], notes[index]) for index, kind in enumerate(kinds)]
        if all(item["error"] != TIMED_OUT for item in records) or time.time() > deadline:
            return records
        time.sleep(0.5)


def record(index: int, kind: str, submitted: float, notes: list[list[Any]]) -> dict[str, Any]:
    """One visitor's figures from its page's notes ``[time, wait (None: "a few seconds", -1: none), running,
    done, error, time left (as the wait)]``, read as the page said them in turn."""
    told: list[tuple[float, float | None]] = []  # (when, the wait said: None for "a few seconds")
    lefts: list[tuple[float, float | None]] = []  # (when, the time left said while it ran)
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    for at, said, running, done, shown_error, left in notes:
        if at < submitted - 1:  # before the button was pressed: the page as prepared
            continue
        error = error or shown_error
        if said != -1 and started is None:
            told.append((at, None if said is None else float(said)))
        elif started is None and running:
            started = at
        if started is not None and left != -1:
            lefts.append((at, None if left is None else float(left)))
        if done and not running and (started is not None or said == -1):
            finished = at
            started = at if started is None else started  # an instant picture can start and end between looks
            break
    figures = [(at, wait, None if started is None else started - at) for at, wait in told]
    left_figures = [(at, left, finished - at) for at, left in lefts if finished is not None and finished > at]
    return {
        "visitor": index, "kind": kind, "submitted": submitted, "started": started, "finished": finished,
        "real_wait": None if started is None else started - submitted,
        "first_told": (FEW if figures[0][1] is None else figures[0][1]) if figures else None,
        "first_real": figures[0][2] if figures else None,
        "worst_error": max((abs(wait_error(w, r)) for _, w, r in figures if r), default=None),
        "figures": len(figures),
        "worst_left_error": max((abs(wait_error(w, r)) for _, w, r in left_figures), default=None),
        "left_figures": len(left_figures),
        "left_series": [(round(at - submitted, 1), left, round(real, 1)) for at, left, real in left_figures],
        "series": [(round(at - submitted, 1), wait, None if real is None else round(real, 1))
                   for at, wait, real in figures],
        "done_after": (finished if finished is not None else time.time()) - submitted,
        "error": error or (None if finished is not None else TIMED_OUT),
    }  # fmt: skip


def wait_error(told: float | str | None, real: float) -> float:
    """How far a wait told was from the real one, as a share of it. "A few seconds" (None, or :data:`FEW`) is said
    below :data:`FEW_SECONDS` and holds for any real wait under that; a longer one is counted from it."""
    if told is None or told == FEW:
        return 0.0 if real < FEW_SECONDS else (FEW_SECONDS - real) / real
    return (float(told) - real) / real


def summary_of(records: list[dict[str, Any]]) -> dict[str, float | None]:
    """The summary of visitors' figures (their own records, or their ``sent`` ones)."""
    told = [r for r in records if r["first_told"] is not None and r["first_real"]]
    errors = [abs(wait_error(r["first_told"], r["first_real"])) for r in told]
    return {
        "first_wait_error_median": statistics.median(errors) if errors else None,
        "first_wait_error_max": max(errors) if errors else None,
        "any_figure_error_max": max((r["worst_error"] for r in records if r["worst_error"] is not None), default=None),
        "any_left_error_max": max(
            (r["worst_left_error"] for r in records if r["worst_left_error"] is not None), default=None),
    }  # fmt: skip


def columns(r: dict[str, Any]) -> list[str]:
    """A visitor's first wait told, the real one, the error, the worst later figure and the worst time left."""
    said = r["first_told"]
    first = "-" if said is None else said if said == FEW else f"{said:.0f} s"
    real = "-" if r["first_real"] is None else f"{r['first_real']:.1f} s"
    error = "-" if said is None or not r["first_real"] else f"{wait_error(said, r['first_real']):+.0%}"
    worst = "-" if r["worst_error"] is None else f"{r['worst_error']:.0%}"
    left = "-" if r["worst_left_error"] is None else f"{r['worst_left_error']:.0%} ({r['left_figures']})"
    return [first, real, error, worst, left]


def report(records: list[dict[str, Any]], rss: float, args: argparse.Namespace) -> int:
    from bench.common import machine  # (torch with it: not for the browser tests that import this module)

    sent = [r["sent"] for r in records if "sent" in r]
    summary = {
        "visitors": args.visitors, "kinds": args.kinds, "size": args.size, "steps": args.steps, "share": args.share,
        "browser_nice": args.browser_nice, "browser_cpus": sorted(args.browser_cpus) if args.browser_cpus else None,
        "failed": sum(1 for r in records if r["error"]),
        **summary_of(records),
        "sent": summary_of(sent) if len(sent) == len(records) else None,
        "server_rss_mib": round(rss), "machine": machine(),
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps({"summary": summary, "visitors": records}, indent=2))
    nice = f" --browser-nice {args.browser_nice}" if args.browser_nice else ""
    if args.browser_cpus:
        nice += f" --browser-cpus {','.join(map(str, sorted(args.browser_cpus)))}"
    heads = ["first wait told", "real wait from then", "error", "worst later figure", "worst time left (figures)"]
    lines = [
        f"# Load: {args.visitors} visitors ({', '.join(args.kinds)} in turn), {args.size} px, {args.steps} steps, "
        f"fair turn {args.share:g} s",
        "",
        f"Command: `python -m bench.load --visitors {args.visitors} --size {args.size} --steps {args.steps} "
        f"--share {args.share:g}{nice}` on {machine()}.",
        "",
        "Each visitor's figures as its page drew them, then as the server sent them (bench/wire.py: loopback packets, "
        "the kernel's times; ten pages on one core drew results seconds after the server sent them).",
        "",
        "| visitor | kind | "
        + " | ".join(heads)
        + " | "
        + " | ".join(f"{head}, as sent" for head in heads)
        + " | done after |",
        "| --- " * (3 + 2 * len(heads)) + "|",
    ]
    for r in records:
        failed = f" ({r['error']})" if r["error"] else ""
        got = columns(r["sent"]) if "sent" in r else ["-"] * len(heads)
        lines.append(f"| {r['visitor']} | {r['kind']} | " + " | ".join(columns(r) + got)
                     + f" | {r['done_after']:.0f} s{failed} |")  # fmt: skip
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print(json.dumps(summary, indent=2))
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
