"""The load bench's own instruments: what it reads off the wire is what the server sent, when it sent it."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from bench.load import free_port, sent_notes
from bench.wire import Wire


def test_the_wire_times_what_the_server_sends_each_page_as_it_sends_it():
    """Ten pages on one core read what the server sent them seconds late (a result sent 0.2 s after its job's end
    reached its page's websocket 4.5 s after): the bench times what the server sends by the kernel's clock."""
    port = free_port()
    notes, note = sent_notes(["refined", "clip"])

    def slow_reader(page: int, at: float, payload: bytes) -> None:
        if not notes[0]:  # the reader is held up at the first packet: the next ones wait in the socket's buffer
            time.sleep(0.5)
        note(page, at, payload)

    wire = Wire.open(port, slow_reader)
    if wire is None:
        pytest.skip("raw sockets are not allowed here (root or CAP_NET_RAW)")
    sent: list[float] = []
    with socket.create_server(("127.0.0.1", port)) as server:

        def serve() -> None:
            pages = []
            for _ in range(2):
                page, _ = server.accept()
                page.recv(1024)
                pages.append(page)
            for text in (b"Step 3/20 \xc2\xb7 about 12 s left", b"Frame 2/40 \xc2\xb7 about 7 s left",
                         b"Step 4/20 \xc2\xb7 about 12 s left", b"Step 5/20 \xc2\xb7 a few seconds left"):  # fmt: skip
                time.sleep(0.2)
                sent.append(time.time())
                (pages[0] if text.startswith(b"Step") else pages[1]).sendall(b"\x82" + text)
            time.sleep(0.2)
            for page in pages:
                page.close()

        thread = threading.Thread(target=serve)
        thread.start()
        clients = []
        for _ in range(2):  # the pages open their websockets one after the other
            clients.append(socket.create_connection(("127.0.0.1", port)))
            clients[-1].sendall(b"GET /_stcore/stream HTTP/1.1\r\n\r\n")
            time.sleep(0.1)
        thread.join(timeout=10)
        for client in clients:
            client.close()
    time.sleep(0.3)
    wire.close()
    # The page that opened first is page 0; a figure said again is not a new note; "a few seconds" is None.
    assert [note[1:] for note in notes[0]] == [[-1, True, False, None, 12.0], [-1, True, False, None, None]]
    assert [note[1:] for note in notes[1]] == [[-1, True, False, None, 7.0]]
    for at, when in zip((notes[0][0][0], notes[1][0][0], notes[0][1][0]), (sent[0], sent[1], sent[3]), strict=True):
        assert abs(at - when) < 0.05
