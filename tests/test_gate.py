"""The device gate with real threads: bounds, FIFO order, positions, release on any exit."""

from __future__ import annotations

import threading
import time

import pytest

from nst_core import TransferConfig, stylize
from nst_core.errors import BusyError
from nst_core.gate import DeviceGate, shared_gate
from nst_core.reports import Progress


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.005)


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_never_more_than_n_inside(limit):
    gate = DeviceGate(max_concurrent=limit, max_waiting=20)
    inside, peak, lock = [0], [0], threading.Lock()

    def job(owner: str) -> None:
        with gate.slot(owner, poll=0.01):
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.03)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=job, args=(f"visitor-{i}",)) for i in range(limit + 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] == limit
    assert gate.inside == 0 and gate.waiting == 0


def test_first_in_first_out_and_positions_shrink():
    gate = DeviceGate(max_concurrent=1, max_waiting=10)
    first = gate.try_enter("first")
    assert gate.wait(first, 0) and gate.position(first) == 0
    admitted: list[str] = []
    release: dict[str, threading.Event] = {}

    def job(owner: str) -> None:
        release[owner] = threading.Event()
        with gate.slot(owner, poll=0.01):
            admitted.append(owner)
            release[owner].wait(5)

    names = ["b", "c", "d"]
    threads = []
    for index, name in enumerate(names, start=1):
        thread = threading.Thread(target=job, args=(name,))
        thread.start()
        threads.append(thread)
        wait_until(lambda index=index: gate.waiting == index)
    last = next(t for t in gate._line if t.owner == "d")
    positions = [gate.position(last)]
    gate.release(first)
    for name in names:
        wait_until(lambda name=name: name in admitted)
        positions.append(gate.position(last))
        release[name].set()
    for thread in threads:
        thread.join()
    assert admitted == names
    assert positions[:3] == [3, 2, 1]
    assert gate.position(last) == -1


def test_a_full_line_answers_busy_at_once_and_takes_no_place():
    gate = DeviceGate(max_concurrent=1, max_waiting=2)
    tickets = [gate.try_enter(name) for name in ("a", "b", "c")]
    started = time.monotonic()
    with pytest.raises(BusyError, match="busy"):
        gate.try_enter("d")
    assert time.monotonic() - started < 0.5
    assert gate.inside == 1 and gate.waiting == 2
    for ticket in tickets:
        gate.release(ticket)


class ScriptStopped(BaseException):
    """Stands for Streamlit's StopException, which is not an Exception."""


@pytest.mark.parametrize("error", [RuntimeError("boom in step 3"), ScriptStopped()])
def test_the_slot_is_released_whatever_ends_the_job(error):
    gate = DeviceGate(max_concurrent=1, max_waiting=4)
    with pytest.raises(type(error)), gate.slot("visitor"):
        raise error
    assert gate.inside == 0
    ticket = gate.try_enter("next")
    assert gate.wait(ticket, 0)  # admitted at once
    gate.release(ticket)


def test_a_new_ticket_from_the_same_owner_supersedes_the_old_one():
    gate = DeviceGate(max_concurrent=1, max_waiting=4)
    running = gate.try_enter("alice")
    waiting = gate.try_enter("bob")
    again = gate.try_enter("bob")  # bob resubmits while waiting: one place in line, not two
    assert waiting.cancel.is_set() and gate.position(waiting) == -1
    assert gate.waiting == 1 and gate.position(again) == 1
    with pytest.raises(BusyError, match="replaced"):
        gate.wait(waiting, 0)
    replacement = gate.try_enter("alice")  # alice resubmits while running: told to stop
    assert running.cancel.is_set() and gate.position(replacement) == 2
    gate.release(running)
    assert gate.position(again) == 0


def test_a_superseded_run_stops_within_a_step(content_image, style_image):
    gate = DeviceGate(max_concurrent=1, max_waiting=4)
    steps: list[int] = []
    first_step = threading.Event()
    outcome: dict[str, object] = {}

    def run() -> None:
        with gate.slot("carol") as ticket:

            def report(progress: Progress) -> None:
                steps.append(progress.step)
                first_step.set()
                time.sleep(0.05)

            config = TransferConfig(size=64, steps=200, early_stop=False)
            outcome["result"] = stylize(content_image, style_image, config, on_progress=report, cancel=ticket.cancel)

    thread = threading.Thread(target=run)
    thread.start()
    assert first_step.wait(30)
    newer = gate.try_enter("carol")
    thread.join(30)
    result = outcome["result"]
    assert result.stopped == "cancelled"  # type: ignore[attr-defined]
    assert len(steps) <= 3
    assert gate.wait(newer, 1)
    gate.release(newer)


def test_estimates_follow_finished_runs():
    gate = DeviceGate(max_concurrent=2, max_waiting=4)
    for _ in range(20):
        with gate.slot("x", poll=0.01):
            pass
    assert gate.estimate_seconds(4) < 1.0
    assert gate.estimate_seconds(4) == pytest.approx(2 * gate.estimate_seconds(2))


def test_shared_gate_is_one_per_process_and_limits():
    assert shared_gate(1, 8) is shared_gate(1, 8)
    assert shared_gate(2, 8) is not shared_gate(1, 8)


def test_the_wait_is_planned_from_the_work_ahead_and_shrinks_as_it_is_done():
    gate = DeviceGate(max_concurrent=1, max_waiting=4)
    running = gate.try_enter("running", work=100.0)
    assert gate.wait(running, 0)
    second = gate.try_enter("second", work=30.0)
    third = gate.try_enter("third", work=5.0)
    assert gate.wait_seconds(running) == 0.0
    assert gate.wait_seconds(second) == pytest.approx(100.0, abs=0.5)
    assert gate.wait_seconds(third) == pytest.approx(130.0, abs=0.5)
    running.started = (running.started or 0.0) - 60  # the running one is 60 s into its 100
    assert gate.wait_seconds(third) == pytest.approx(70.0, abs=0.5)
    gate.release(running)
    assert gate.wait(second, 0)
    assert gate.wait_seconds(third) == pytest.approx(30.0, abs=0.5)
    gate.release(second)
    gate.release(third)
