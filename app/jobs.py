"""The pages' side of the job service: submit a job, watch it with live progress, stop it, collect its result.

A job runs on the service's own thread; the page's script only watches it. A rerun of the page (a widget
changed, the page's Stop button) leaves the job running and the next run watches it again; the toolbar's
Stop, a closed tab or another page of the navigation stops the job, which keeps what it painted for the
session's next run.

Streamlit stops a script the same way for all of these (with ``runner.fastReruns`` a rerun stops the old
script and starts a new one), so a watch that is stopped waits :data:`RERUN_GRACE` seconds: if no newer run
of the session has started by then, nobody is watching and the job is stopped.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import streamlit as st
from PIL import Image
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.scriptrunner_utils.exceptions import StopException

from app.runtime import Runtime
from app.session import session_id
from job_service.jobs import JobStatus, Progress, Work, look_after
from nst_core.errors import BusyError

W = TypeVar("W")
R = TypeVar("R")
HEARTBEAT = 0.5  # s at most between two draws of a watched job's progress, even when nothing in it changed
RERUN_GRACE = 0.5  # s a stopped watch waits for a newer run of its session before it stops the job
FEW_SECONDS = 5.0  # below this a wait or time left is said as "a few seconds"
RUN_RULE = "a run ends after {share} s with its best picture so far"
RULE_LOOK_SECONDS = 2.0  # while others are in line, the line's part of the rule before a button is said anew this often
LEFT_THE_LINE = "You left the line when you pressed Stop; press the button again to take a new place in it."


_runs: dict[str, int] = {}  # session -> the number of its latest script run that watches or collects
_numbers = itertools.count(1)
_runs_lock = threading.Lock()


def _new_run(owner: str) -> int:
    with _runs_lock:
        number = _runs[owner] = next(_numbers)
        return number


def about(seconds: float) -> str:
    """A planned time as a visitor reads it."""
    return "a few seconds" if seconds < FEW_SECONDS else f"about {seconds:.0f} s"


def submit(runtime: Runtime, work: Work, status: DeltaGenerator) -> str | None:
    """Put ``work`` in line for this visitor; the job's id, or None with the refusal said in ``status``."""
    try:
        return runtime.service.submit(session_id(), work)
    except BusyError as error:
        status.warning(str(error))
        return None


def active(runtime: Runtime, kinds: tuple[str, ...]) -> str | None:
    """This visitor's job of one of ``kinds`` that is waiting or running, if any."""
    for kind in kinds:
        job = runtime.service.active(session_id(), kind)
        if job is not None:
            return job
    return None


def active_work(runtime: Runtime, kinds: tuple[str, ...], works: type[W] | tuple[type[W], ...]) -> tuple[str, W] | None:
    """This visitor's job of one of ``kinds`` under way, with its work (of ``works``), if any."""
    job = active(runtime, kinds)
    if job is None:
        return None
    work = runtime.service.work(job)
    return (job, work) if isinstance(work, works) else None


def watch_to_the_end(runtime: Runtime, job_id: str, draw: Callable[[JobStatus], None]) -> None:
    """:func:`watch` the job, then run the page again: its next run collects the result (or says why none)."""
    watch(runtime, job_id, draw)
    st.rerun()


def finished(runtime: Runtime, kinds: tuple[str, ...], results: type[R]) -> list[tuple[JobStatus, R]]:
    """This visitor's jobs of ``kinds`` done since the last look, with their results; a job that gave none has
    its sentence said here."""
    done = []
    for status in collect(runtime, kinds):
        if not say_failure(status) and isinstance(status.result, results):
            done.append((status, status.result))
    return done


class Redrawn:
    """A place on the page drawn again only when what it shows changes, or after ``heartbeat`` s.

    Each draw is a message to the browser, which the browser then lays out on the same cores as the job: drawn
    at every look (ten a second), it slowed the page's default picture measurably (docs/design.md, "Figures
    behind choices in the code").
    A draw is also where Streamlit ends a script that a Stop or a rerun ended, so a place with a heartbeat is
    drawn at least that often.
    """

    def __init__(self, heartbeat: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.heartbeat, self.clock = heartbeat, clock
        self.shown: object = None
        self.at = 0.0

    def draw(self, what: object, how: Callable[[], object]) -> None:
        """Call ``how`` (which draws ``what``) unless ``what`` is on the page already and the heartbeat is not due."""
        now = self.clock()
        if what != self.shown or (self.heartbeat is not None and now - self.at >= self.heartbeat):
            how()
            self.shown, self.at = what, now


class StatusView:
    """A watched job's status line (its place in line, or when its turn ends) and progress bar, each drawn again
    only when it changes (the bar at least every :data:`HEARTBEAT` s)."""

    def __init__(self) -> None:
        self.line, self.bar = st.empty(), st.progress(0.0, text="Waiting for the device…")
        self._line, self._bar = Redrawn(), Redrawn(HEARTBEAT)

    def status(self, status: JobStatus, kept: str) -> None:
        """The line: the wait while in line; once running, when the turn ends with what it keeps (``kept``)."""
        if status.state == "waiting":
            line = waiting_line(status)
            self._line.draw(("info", line), lambda: self.line.info(line))
            return
        cut = cut_line(status, kept)
        if cut:
            self._line.draw(("warning", cut), lambda: self.line.warning(cut))
        else:
            self._line.draw(None, self.line.empty)

    def progress(self, fraction: float, text: str) -> None:
        self._bar.draw((fraction, text), lambda: self.bar.progress(fraction, text=text))


def waiting_line(status: JobStatus) -> str:
    """What a visitor in line is told."""
    if status.paused:
        return f"Others' turn: yours carries on in {about(status.wait)} (updated as it goes)."
    return f"You are number {status.position} in line; {about(status.wait)} to wait (updated as it goes)."


def cut_line(status: JobStatus, what: str) -> str | None:
    """What a running visitor is told as soon as someone waits: when this turn ends, and what it keeps."""
    if status.cut_in is None or status.cut_in >= status.left:
        return None
    return f"Others are waiting: this run ends in {about(status.cut_in)} with {what}."


def new_preview(status: JobStatus, shown: int) -> tuple[Progress, Image.Image] | None:
    """The job's latest report with a preview, and the preview, when it is not the one on the page (``shown``: the
    number of that one); None otherwise. The latest report itself rarely has one where steps are fast."""
    latest = status.preview
    if latest is None or latest.preview is None or status.preview_number == shown:
        return None
    return latest, latest.preview


def watch(runtime: Runtime, job_id: str, draw: Callable[[JobStatus], None]) -> JobStatus | None:
    """Draw the job with ``draw`` until it is done (every draw is also where Streamlit may stop the script).

    The toolbar's Stop or a closed tab stops the job (it keeps what it painted); a rerun leaves it running.
    """
    owner = session_id()
    run = _runs.get(owner) or _new_run(owner)
    seen = -1  # the preview ``draw`` has been given (it is not sent again)
    try:
        while True:
            try:
                status = runtime.service.status(job_id, seen)
            except KeyError:  # collected by a newer run of this page meanwhile: that run shows it
                return None
            draw(status)
            seen = status.preview_number
            if status.state == "done":
                return status
            time.sleep(look_after(status.state, status.wait))
    except StopException:
        service = runtime.service

        def unless_watched_again() -> None:
            if _runs.get(owner, 0) <= run:  # no newer run of this session: the visitor stopped it, or left
                service.cancel(job_id)

        threading.Timer(RERUN_GRACE, unless_watched_again).start()
        raise


def stop(runtime: Runtime, job_id: str) -> None:
    """The page's Stop: the job ends after its step or frame, with what it has painted."""
    runtime.service.cancel(job_id)


def collect(runtime: Runtime, kinds: tuple[str, ...]) -> list[JobStatus]:
    """This visitor's finished jobs of ``kinds``, once each; a job still stopping (a step at most) is waited for."""
    owner = session_id()
    _new_run(owner)  # every page's run collects first: a watch stopped for this run leaves its job running
    for kind in kinds:
        job = runtime.service.active(owner, kind)
        if job is not None and runtime.service.status(job).stopped is not None:
            runtime.service.wait(job, 10)
    return runtime.service.collect(owner, kinds)


def say_failure(status: JobStatus, where: DeltaGenerator | None = None) -> bool:
    """Say why a job gave nothing (its sentence, or that its visitor left the line); True if it did."""
    place = where or st
    if status.error is not None:
        place.error(status.error)
        return True
    if status.stopped == "left the line":
        place.info(LEFT_THE_LINE)
        return True
    return status.result is None


def show_fair_share_rule(runtime: Runtime, what: str = RUN_RULE, pressed: bool = False, before: str = "") -> None:
    """Say :func:`fair_share_rule` (after ``before``) as a caption. While others are in line its "Now: ..." is said
    anew every :data:`RULE_LOOK_SECONDS` (a fragment): drawn once, it still said "1 ahead of you" after the line had
    emptied, to a visitor who had not clicked since."""

    @st.fragment(run_every=RULE_LOOK_SECONDS if _ahead(runtime, pressed) else None)
    def rule() -> None:
        st.caption(before + fair_share_rule(runtime, what, pressed))

    rule()


def fair_share_rule(runtime: Runtime, what: str = RUN_RULE, pressed: bool = False) -> str:
    """The rule, said before the button is pressed, and the line as it is now for a visitor not in it yet. One who
    has just pressed (``pressed``) or has a job in line is told its own place and wait under the button; the
    rule's wait beside it ("about 12 s" above "about 7 s") said two waits for one place."""
    share = f"{runtime.limits.fair_share_seconds:g}"
    rule = f"Fair turns: while others wait, {what.format(share=share)}."
    if ahead := _ahead(runtime, pressed):
        rule += f" Now: {ahead} ahead of you, {about(runtime.service.wait_if_submitted(FEW_SECONDS))} to wait."
    return rule


def _ahead(runtime: Runtime, pressed: bool) -> int:
    """The jobs ahead of this visitor were it to press now; 0 for one who has just pressed or has a job in line."""
    service = runtime.service
    if pressed or service.active(session_id()) is not None:
        return 0
    return service.running + service.waiting
