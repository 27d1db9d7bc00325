"""Run the simulator under uvicorn in a background thread (tests, notebooks, the demo).

    with start_simulator(world, config) as running:
        client = V2CClient(api_key=..., base_url=running.base_url)

`port=0` picks a free port on the host; the server is bound to loopback unless
told otherwise. `stop()` shuts uvicorn down and joins its thread.

The socket is bound before uvicorn starts (`adapters.served.bind_socket`): a host
that does not resolve or a port in use is a `BindError` naming which, raised before
anything is printed or served, and port 0 is the port actually bound (no race
between picking a free port and binding it).
"""

from __future__ import annotations

import socket

import uvicorn

from adapters.served import LOOPBACK, BindError, UvicornThread, bind_socket, free_port
from adapters.simulator.server.app import create_app
from adapters.simulator.server.config import SimulatorConfig
from adapters.simulator.server.handlers import WorldLike
from adapters.simulator.server.simulator import Simulator


class RunningSimulator(UvicornThread):
    """A simulator served by uvicorn in a daemon thread; a context manager."""

    def __init__(
        self, simulator: Simulator, server: uvicorn.Server, host: str, sock: socket.socket
    ) -> None:
        super().__init__(server, host, sock, "v2c-simulator")
        self.simulator = simulator

    @property
    def base_url(self) -> str:
        """The API's base URL, to give a V2C client (`http://HOST:PORT/kong/v2c_service`)."""
        return self.root_url + self.simulator.config.base_path

    def __repr__(self) -> str:
        return f"RunningSimulator({self.base_url})"


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


__all__ = [
    "LOOPBACK",
    "BindError",
    "RunningSimulator",
    "bind_socket",
    "free_port",
    "start_simulator",
]
