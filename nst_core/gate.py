"""Sharing one device between visitors: at most N runs at once, the rest in a FIFO line.

The gate is a plain object (the page keeps one per process in
``st.cache_resource``). A visitor takes a :class:`Ticket`, waits until it is
admitted, runs, and releases it in ``finally``, whatever ends the run, even
exceptions that are not ``Exception`` (Streamlit stops a script with those).
A new ticket from the same owner supersedes the old one: a waiting one
leaves the line, a running one is told to stop through its ``cancel`` event.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .errors import BusyError


@dataclass(eq=False)
class Ticket:
    """A place in line, or in a slot once admitted."""

    owner: str  # one per visitor session
    number: int  # arrival order
    work: float | None = None  # s the run is planned to take (None: unknown, the mean of recent runs is assumed)
    cancel: threading.Event = field(default_factory=threading.Event)  # set when superseded
    started: float | None = None  # monotonic time of admission


class DeviceGate:
    """At most ``max_concurrent`` runs inside; at most ``max_waiting`` in line behind them."""

    def __init__(self, max_concurrent: int = 1, max_waiting: int = 8) -> None:
        if max_concurrent < 1 or max_waiting < 0:
            raise ValueError("max_concurrent must be at least 1 and max_waiting at least 0.")
        self.max_concurrent = max_concurrent
        self.max_waiting = max_waiting
        self._line: list[Ticket] = []  # arrival order; the first max_concurrent hold the slots
        self._condition = threading.Condition()
        self._numbers = itertools.count(1)
        self._mean_run_seconds = 20.0  # updated from finished runs

    def try_enter(self, owner: str, work: float | None = None) -> Ticket:
        """Join the line, replacing this owner's earlier ticket; ``work`` is the run's planned seconds.

        Raises:
            BusyError: the line is full.
        """
        with self._condition:
            for old in [t for t in self._line if t.owner == owner]:
                old.cancel.set()
                if self._line.index(old) >= self.max_concurrent:
                    self._line.remove(old)  # a waiting ticket just leaves
            waiting = max(0, len(self._line) - self.max_concurrent)
            if waiting >= self.max_waiting and len(self._line) >= self.max_concurrent:
                raise BusyError(f"The demo is busy ({len(self._line)} runs ahead); please try again in a minute.")
            ticket = Ticket(owner, next(self._numbers), work)
            self._line.append(ticket)
            self._condition.notify_all()
            return ticket

    def position(self, ticket: Ticket) -> int:
        """0 once admitted; k >= 1 for the k-th in line; -1 if no longer in line."""
        with self._condition:
            return self._position(ticket)

    def _position(self, ticket: Ticket) -> int:
        if ticket not in self._line:
            return -1
        index = self._line.index(ticket)
        return 0 if index < self.max_concurrent else index - self.max_concurrent + 1

    def wait(self, ticket: Ticket, timeout: float) -> bool:
        """Wait up to ``timeout`` s to be admitted; True once admitted.

        Raises:
            BusyError: the ticket was superseded while waiting.
        """
        with self._condition:
            admitted = self._condition.wait_for(lambda: self._position(ticket) in (0, -1), timeout)
            if self._position(ticket) == -1:
                raise BusyError("This run was replaced by a newer one.")
            if admitted and ticket.started is None:
                ticket.started = time.monotonic()
            return admitted

    def release(self, ticket: Ticket, ran_seconds: float | None = None) -> None:
        """Leave the slot or the line; safe to call twice."""
        with self._condition:
            if ticket in self._line:
                self._line.remove(ticket)
            if ran_seconds is not None:
                self._mean_run_seconds = 0.7 * self._mean_run_seconds + 0.3 * ran_seconds
            self._condition.notify_all()

    def estimate_seconds(self, position: int) -> float:
        """Rough wait for the k-th in line, from the mean duration of recent runs (work unknown)."""
        return position * self._mean_run_seconds / self.max_concurrent

    def wait_seconds(self, ticket: Ticket) -> float:
        """The wait ahead of ``ticket``: what the running runs still plan, plus the planned work of those
        ahead in line, shared between the slots; 0 once admitted. Changes as the runs ahead progress."""
        with self._condition:
            if ticket not in self._line:
                return 0.0
            index = self._line.index(ticket)
            if index < self.max_concurrent:
                return 0.0
            now = time.monotonic()
            ahead = []
            for other in self._line[:index]:
                planned = self._mean_run_seconds if other.work is None else other.work
                done = now - other.started if other.started is not None else 0.0
                ahead.append(max(planned - done, 0.5 if other.started is not None else planned))
            return sum(ahead) / self.max_concurrent

    def holds(self, owner: str) -> bool:
        """Whether this owner has a ticket in a slot or in line."""
        with self._condition:
            return any(ticket.owner == owner for ticket in self._line)

    @property
    def inside(self) -> int:
        """Runs holding a slot now."""
        with self._condition:
            return min(len(self._line), self.max_concurrent)

    @property
    def waiting(self) -> int:
        """Tickets in line behind the slots."""
        with self._condition:
            return max(0, len(self._line) - self.max_concurrent)

    @contextmanager
    def slot(
        self,
        owner: str,
        on_wait: Callable[[int, float], None] | None = None,
        poll: float = 0.5,
        work: float | None = None,
    ) -> Iterator[Ticket]:
        """Hold a slot for the ``with`` body; ``on_wait(position, estimate_s)`` is called while in line.

        ``work`` is the run's planned seconds, so those behind it are told an honest wait.

        Raises:
            BusyError: the line is full, or the ticket was superseded.
        """
        ticket = self.try_enter(owner, work)
        started: float | None = None
        try:
            while not self.wait(ticket, poll):
                if on_wait is not None:
                    on_wait(self.position(ticket), self.wait_seconds(ticket))
            started = time.monotonic()
            yield ticket
        finally:
            self.release(ticket, None if started is None else time.monotonic() - started)


_shared: dict[tuple[int, int], DeviceGate] = {}
_shared_lock = threading.Lock()


def shared_gate(max_concurrent: int = 1, max_waiting: int = 8) -> DeviceGate:
    """The process-wide gate for these limits, so every session of a server shares one line."""
    with _shared_lock:
        gate = _shared.get((max_concurrent, max_waiting))
        if gate is None:
            gate = _shared[(max_concurrent, max_waiting)] = DeviceGate(max_concurrent, max_waiting)
        return gate
