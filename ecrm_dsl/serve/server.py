"""Running the app on uvicorn, on a socket bound beforehand (so a port in use is a sentence, not a log line)."""

from __future__ import annotations

import logging
import signal
import socket
from types import FrameType

import uvicorn
from starlette.applications import Starlette


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port); raises OSError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def make_server(app: Starlette, log_level: str = "info") -> uvicorn.Server:
    """A uvicorn server without its access log (ours names no customer data and no query string)."""
    logging.getLogger("ecrm.serve").setLevel(log_level.upper())
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    return uvicorn.Server(config)


class Stopped(Exception):
    """SIGINT or SIGTERM ended the server after it finished the requests in flight."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signal.Signals(signum).name)


def run(server: uvicorn.Server, sock: socket.socket) -> None:
    """Serve until SIGINT/SIGTERM; uvicorn finishes the requests in flight first, then raises the signal again,
    which ends here as :class:`Stopped` (an exit status of 0 rather than death by the signal)."""
    previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[sock])
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
