"""Run the simulator under uvicorn in a background thread (tests, notebooks, the demo).

    with start_simulator(world, config) as running:
        client = V2CClient(api_key=..., base_url=running.base_url)

`port=0` picks a free port on the host; the server is bound to loopback unless
told otherwise. `stop()` shuts uvicorn down and joins its thread.

The socket is bound here, before uvicorn starts (`bind_socket`): a host that
does not resolve or a port in use is a `BindError` naming which, raised before
anything is printed or served, and port 0 is the port actually bound (no race
between picking a free port and binding it).
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from typing import Literal

import uvicorn

from adapters.closing import Closing
from adapters.simulator.server.app import create_app
from adapters.simulator.server.config import SimulatorConfig
from adapters.simulator.server.handlers import WorldLike
from adapters.simulator.server.simulator import Simulator

LOOPBACK = "127.0.0.1"


class RunningSimulator(Closing):
    """A simulator served by uvicorn in a daemon thread; a context manager."""

    def __init__(
        self, simulator: Simulator, server: uvicorn.Server, host: str, sock: socket.socket
    ) -> None:
        self.simulator = simulator
        self.host = host
        self.port: int = sock.getsockname()[1]
        self._server = server
        self._sock = sock
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="v2c-simulator", daemon=True
        )

    @property
    def root_url(self) -> str:
        """`http://HOST:PORT`, where `/sim/clock` lives."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API's base URL, to give a V2C client (`http://HOST:PORT/kong/v2c_service`)."""
        return self.root_url + self.simulator.config.base_path

    def _start(self, timeout_s: float) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"simulator did not start on {self.root_url}")
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

    def __repr__(self) -> str:
        return f"RunningSimulator({self.base_url})"


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


def start_simulator(
    world: WorldLike,
    config: SimulatorConfig,
    *,
    host: str = LOOPBACK,
    port: int = 0,
    startup_timeout_s: float = 10.0,
) -> RunningSimulator:
    """Serve `world` with `config` on `host:port` (a free port if 0) and wait until it listens.

    Raises `BindError` (nothing started) when `host:port` cannot be bound.
    """
    sock = bind_socket(host, port)
    simulator = Simulator(world, config)
    uv_config = uvicorn.Config(
        create_app(simulator),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(uv_config)
    running = RunningSimulator(simulator, server, host, sock)
    running._start(startup_timeout_s)
    return running
