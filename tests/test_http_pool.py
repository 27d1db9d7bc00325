"""`HttpPool`: every client of the process through one `httpx.AsyncClient`, each client on
a lane of keep-alive connections of its own (`LaneTransport`).

A real HTTP/1.1 server on 127.0.0.1 notes the client port of every request: a client's
requests reuse its one connection, and two clients never share one, however their
requests interleave.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from adapters.served import LOOPBACK, free_port
from adapters.v2c_cloud.base import Attempt
from adapters.v2c_cloud.engine import HttpRequest
from adapters.v2c_cloud.pool import HttpPool


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int) -> None:
        super().__init__((LOOPBACK, port), _Handler)
        self.seen: list[tuple[str, int]] = []
        """(request path, client port) of every request, in order."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, _Server)
        server.seen.append((self.path, self.client_address[1]))
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server(free_port())
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _get(pool: HttpPool, server: _Server, lane: int, name: str) -> httpx.Response:
    url = f"http://{LOOPBACK}:{server.server_address[1]}/{name}"
    attempt = Attempt(pool.http, HttpRequest("GET", url, {}, None, {}))
    return pool.exchange(attempt, lane)


def test_each_lane_keeps_its_own_connection(server: _Server) -> None:
    with HttpPool(timeout=10) as pool:
        a, b = pool.new_lane(), pool.new_lane()
        for name, lane in [("a", a), ("b", b), ("a", a), ("a", a), ("b", b)]:
            assert _get(pool, server, lane, name).status_code == 200
    ports = {name: {port for path, port in server.seen if path == f"/{name}"} for name in "ab"}
    assert len(server.seen) == 5
    assert len(ports["a"]) == 1, "a lane's requests reuse its keep-alive connection"
    assert len(ports["b"]) == 1
    assert ports["a"] != ports["b"], "two lanes never share a connection"


def test_a_closed_pool_refuses_requests(server: _Server) -> None:
    pool = HttpPool(timeout=10)
    lane = pool.new_lane()
    assert _get(pool, server, lane, "a").status_code == 200
    pool.close()
    with pytest.raises(httpx.TransportError):
        _get(pool, server, lane, "a")
