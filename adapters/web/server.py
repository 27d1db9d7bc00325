"""The web server in a background thread, for `v2c-solar run --web` and `demo --web`.

The socket is bound first (`adapters.served.bind_socket`), so a port in use or a
bad address is one line (`ListenError`) and the command exits 2 instead of a
thread dying with a traceback. uvicorn's logging is not configured here
(`log_config=None`): its records go through the project's logging like
everything else, and it logs no access lines.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence

import uvicorn
from starlette.applications import Starlette

from adapters.served import BindError, UvicornThread, bind_socket
from adapters.web.app import create_app
from adapters.web.auth import TOKEN_ENV
from adapters.web.sessions import SessionsReader
from adapters.web.sites import WebSite

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:8787"
"""Where `run` serves unless told otherwise: loopback only."""

START_TIMEOUT_S = 10.0


class ListenError(ValueError):
    """A listen address that cannot be served: one line naming it."""


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` (IPv6 as `[::1]:8787`) -> (host, port); port 0 means any free port.

    Raises `ListenError` naming `--web`.
    """
    host, sep, port_text = text.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host:
        raise ListenError(f"--web {text!r}: expected HOST:PORT, e.g. {DEFAULT_LISTEN}")
    try:
        port = int(port_text)
    except ValueError:
        raise ListenError(f"--web {text!r}: the port must be a number") from None
    if not 0 <= port <= 65535:
        raise ListenError(f"--web {text!r}: the port must be in 0..65535")
    return host, port


class WebServer(UvicornThread):
    """The web app served by uvicorn in a daemon thread until `stop()`."""

    def __init__(
        self, app: Starlette, host: str, sock: socket.socket, sessions: SessionsReader | None
    ) -> None:
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
        super().__init__(uvicorn.Server(config), host, sock, "v2c-solar-web")
        self.app = app
        self._sessions = sessions

    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:8787`."""
        return self.root_url

    def start(self) -> None:
        """Serve; returns once uvicorn accepts connections."""
        self._start(START_TIMEOUT_S)
        log.info("web: serving on %s", self.url)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving, wait for the thread, close the sessions' connection (idempotent).

        Open event streams are ended first: uvicorn waits for every open response.
        """
        for events in self.app.state.events:
            events.close()
        super().stop(timeout_s)
        if self._sessions is not None:
            self._sessions.close()


def web_server(
    listen: str,
    sites: WebSite | Sequence[WebSite],
    *,
    database_url: str | None = None,
    token: str | None = None,
) -> WebServer:
    """The web server for `listen` (`HOST:PORT`) over `sites` (`create_app`: one home, or
    a fleet's every home), bound but not started.

    The write token defaults to `V2C_SOLAR_WEB_TOKEN`; `database_url` is where
    `GET /api/sessions` reads (a connection of its own). Raises `ListenError`.
    """
    host, port = parse_listen(listen)
    try:
        sock = bind_socket(host, port)
    except BindError as exc:
        raise ListenError(f"--web {listen}: {exc}") from None
    if token is None:
        token = os.environ.get(TOKEN_ENV, "").strip() or None
    sessions = None if database_url is None else SessionsReader(database_url)
    app = create_app(sites, token=token, sessions=sessions)
    return WebServer(app, host, sock, sessions)


__all__ = ["DEFAULT_LISTEN", "ListenError", "WebServer", "parse_listen", "web_server"]
