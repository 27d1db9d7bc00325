"""Serving a starlette app with uvicorn in a background thread: the simulator and the web API.

The socket is bound first (`bind_socket`): a host that does not resolve or a port
in use is a `BindError` naming which, raised before anything is printed or served,
and port 0 is the port actually bound (no race between picking a free port and
binding it). `UvicornThread` then runs the server in a daemon thread until `stop()`.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from typing import Literal

import uvicorn

from adapters.closing import Closing

LOOPBACK = "127.0.0.1"


class BindError(OSError):
    """`host:port` cannot be bound; `field` says which of the two is the problem."""

    def __init__(self, field: Literal["host", "port"], value: str | int, detail: str) -> None:
        super().__init__(f"{field} {value}: {detail}")
        self.field = field
        self.value = value
        self.detail = detail


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port` (port 0: any free one), ready for uvicorn.

    Raises `BindError`: the host does not resolve or is not an address of this
    machine (`field` "host"), the port is in use or needs privileges ("port").
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise BindError("host", host, f"cannot bind ({_reason(exc)})") from None
    except OverflowError:
        raise BindError("port", port, "must be in 0..65535") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise BindError("port", port, "already in use") from None
        if exc.errno == errno.EACCES:
            raise BindError(
                "port", port, "permission denied (ports below 1024 need root)"
            ) from None
        raise BindError("host", host, f"cannot bind ({_reason(exc)})") from None
    return sock


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free on `host` right now (`BindError` if `host` cannot be bound)."""
    with bind_socket(host, 0) as s:
        port: int = s.getsockname()[1]
        return port


class UvicornThread(Closing):
    """A uvicorn server on a bound socket, run in a daemon thread; a context manager."""

    def __init__(self, server: uvicorn.Server, host: str, sock: socket.socket, name: str) -> None:
        self.host = host
        self.port: int = sock.getsockname()[1]
        self._server = server
        self._sock = sock
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True
        )

    @property
    def root_url(self) -> str:
        """`http://HOST:PORT` (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _start(self, timeout_s: float) -> None:
        """Start the thread and wait until uvicorn accepts connections (`RuntimeError` if not)."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self._thread.name} did not start on {self.root_url}")
            time.sleep(0.01)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Shut the server down and wait for its thread (idempotent)."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout_s)
        self._sock.close()  # uvicorn closes it too; this covers a server that never started

    def close(self) -> None:
        """`stop` with its default timeout (what leaving a `with` block does)."""
        self.stop()


__all__ = ["LOOPBACK", "BindError", "UvicornThread", "bind_socket", "free_port"]
