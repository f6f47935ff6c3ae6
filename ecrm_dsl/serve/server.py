"""Running the app on uvicorn, on a socket bound beforehand (so a port in use is a sentence, not a log line)."""

from __future__ import annotations

import logging
import socket

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


def run(server: uvicorn.Server, sock: socket.socket) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn finishes the requests in flight first)."""
    server.run(sockets=[sock])
