"""What a server sends its pages, read off the loopback interface with the kernel's own times.

A page's browser, on cores as busy as the bench makes them (ten pages on one core), read what the server had sent
it seconds late: a result its server sent within 0.2 s of the job's end reached the page's websocket 4.5 s later
(this module's times against chromium's own, ``python -m bench.load``, 2026-12-02). A raw socket on ``lo`` is told
of each packet with the time the kernel sent it, whenever its reader gets to it, so the times here are the
server's, not the browser's. Needs Linux and the right to open a raw socket (root, or CAP_NET_RAW).
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

STREAM = b"GET /_stcore/stream"  # a page's websocket opens with this request
SO_TIMESTAMPNS = 35  # socket.SO_TIMESTAMPNS where Python lacks the name (Linux)
PACKET_OUTGOING = 4  # each loopback packet is seen leaving and arriving: the leaving one is kept
ETH_P_ALL = 0x0003


class Wire:
    """Every packet the server on loopback ``port`` sends a page's websocket, as ``note(page, time, payload)``,
    pages counted in the order their websockets opened (one per page, opened one page after another)."""

    def __init__(self, port: int, note: Callable[[int, float, bytes], None]) -> None:
        self.port, self.note = port, note
        self.pages: list[int] = []  # each page's websocket's client port, in the order they opened
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(ETH_P_ALL))
        self._sock.bind(("lo", 0))
        self._sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._sock.settimeout(0.2)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._read, name="wire", daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, port: int, note: Callable[[int, float, bytes], None]) -> Wire | None:
        """A wire on ``port``, or None where raw sockets are not allowed (then the bench times what pages draw)."""
        try:
            return cls(port, note)
        except (OSError, AttributeError):
            return None

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _read(self) -> None:
        while not self._done.is_set():
            try:
                data, ancillary, _, address = self._sock.recvmsg(1 << 18, 1024)
            except TimeoutError:
                continue
            if address[2] == PACKET_OUTGOING:
                self._take(data, _kernel_time(ancillary))

    def _take(self, frame: bytes, at: float | None) -> None:
        ip = frame[14:]  # past the loopback's zeroed Ethernet header
        if at is None or len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_TCP:
            return
        tcp = ip[(ip[0] & 15) * 4 :]
        source, target = struct.unpack("!HH", tcp[:4])
        payload = tcp[(tcp[12] >> 4) * 4 :]
        if not payload:
            return
        if target == self.port and payload.startswith(STREAM):
            self.pages.append(source)
        elif source == self.port and target in self.pages:
            self.note(self.pages.index(target), at, payload)


def _kernel_time(ancillary: list[tuple[int, int, Any]]) -> float | None:
    for level, kind, raw in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanoseconds = struct.unpack("qq", raw[:16])
            return float(seconds + nanoseconds / 1e9)
    return None
