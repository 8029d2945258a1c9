"""How gunicorn serves the intake to slow or hostile clients (used by sidecar/gunicorn_conf.py).

A sync worker is held by one connection until its client finishes sending, so a handful of clients that
send headers and one body byte and then go silent stop the intake (issue 8). Hence threaded workers (a
stalled client holds one of THREADS threads, not a process; gunicorn's gthread waits for a connection's
first bytes in its poller, not in a thread) and a receive timeout on every accepted connection
(RECEIVE_TIMEOUT: a read that gets no byte for that long fails, the view answers 408 and the thread is
free again), and :class:`IntakeWorker`, whose closing of a finished connection never waits for the
client. A public deployment also puts the documented proxy in front (docker-compose.yml): it buffers
whole requests before they reach gunicorn.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from collections.abc import Iterable
from typing import Any

from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]

THREADS = 16
# Seconds a connection may go without sending a byte while its request is read. The plugin sends at most
# 64 KiB in one go; a longer silence is a stalled or hostile client.
RECEIVE_TIMEOUT = 5.0


def receive_timeout_option(seconds: float) -> bytes:
    """``struct timeval`` for SO_RCVTIMEO."""
    whole = int(seconds)
    return struct.pack("ll", whole, int((seconds - whole) * 1_000_000))


def set_receive_timeout(listeners: Iterable[socket.socket], seconds: float = RECEIVE_TIMEOUT) -> None:
    """Bound every blocking read on the connections these listening sockets accept.

    Linux copies SO_RCVTIMEO from a listening socket to each connection it accepts, so one option covers
    everything gunicorn and the app read (headers and body alike); the listener itself is non-blocking
    and unaffected.
    """
    for sock in listeners:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, receive_timeout_option(seconds))


def close_without_lingering(sock: socket.socket) -> None:
    """FIN after the response, drop what the client already sent, close: never wait for the client."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
    with contextlib.suppress(OSError):
        sock.setblocking(False)
        drained = 0
        while drained < 65536 and (chunk := sock.recv(4096)):
            drained += len(chunk)
    with contextlib.suppress(OSError):
        sock.close()


class IntakeWorker(ThreadWorker):
    """gunicorn's gthread worker whose main loop cannot be held by a client that does not hang up.

    gthread closes a finished connection on its main thread and lingers there up to 2 s for the client
    to close first (util.close_graceful). A client that answers a 408 (or any "Connection: close"
    response) by keeping the socket open therefore stops accept() for every other client for 2 s, one
    client after another. Here the close sends FIN and drains only what already arrived.
    """

    def finish_request(self, conn: Any, fs: Any) -> None:
        conn.close = lambda graceful=False: close_without_lingering(conn.sock)
        super().finish_request(conn, fs)
