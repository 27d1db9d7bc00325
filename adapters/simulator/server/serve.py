"""Run the simulator under uvicorn in a background thread (tests, notebooks, the demo).

    with start_simulator(world, config) as running:
        client = V2CClient(api_key=..., base_url=running.base_url)

`port=0` picks a free port on the host; the server is bound to loopback unless
told otherwise. `stop()` shuts uvicorn down and joins its thread.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from adapters.simulator.server.app import create_app
from adapters.simulator.server.config import SimulatorConfig
from adapters.simulator.server.handlers import WorldLike
from adapters.simulator.server.simulator import Simulator

LOOPBACK = "127.0.0.1"


class RunningSimulator:
    """A simulator served by uvicorn in a daemon thread; a context manager."""

    def __init__(self, simulator: Simulator, server: uvicorn.Server, host: str, port: int) -> None:
        self.simulator = simulator
        self.host = host
        self.port = port
        self._server = server
        self._thread = threading.Thread(target=server.run, name="v2c-simulator", daemon=True)

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

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningSimulator({self.base_url})"


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
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
    """Serve `world` with `config` on `host:port` (a free port if 0) and wait until it listens."""
    simulator = Simulator(world, config)
    chosen = port or free_port(host)
    uv_config = uvicorn.Config(
        create_app(simulator),
        host=host,
        port=chosen,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(uv_config)
    running = RunningSimulator(simulator, server, host, chosen)
    running._start(startup_timeout_s)
    return running
