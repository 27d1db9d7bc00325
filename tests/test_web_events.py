"""`GET /api/events` (adapters/web/events.py) over a real uvicorn server, read like a browser."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from adapters.web.events import StatusEvents, sse_event
from optimizer.status.board import StatusBoard
from optimizer.status.snapshot import SiteStatus

T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)


@pytest.fixture
def served() -> Iterator[tuple[str, StatusBoard, StatusEvents]]:
    """A board and the events endpoint over it, served by uvicorn on a free loopback port."""
    board = StatusBoard(replace(SiteStatus.empty(T0), policy="solar_only"))
    endpoint = StatusEvents(board, min_interval_s=0.0)
    app = Starlette(routes=[Route("/api/events", endpoint.endpoint)])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/api/events", board, endpoint
    endpoint.close()
    server.should_exit = True
    thread.join(10)
    assert not thread.is_alive()


def events(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """The stream's events as {field: value}, comments and the retry hint left out."""
    event: dict[str, str] = {}
    for line in lines:
        if line == "":
            if "data" in event:
                yield event
            event = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(": ")
            event[field] = value


Served = tuple[str, StatusBoard, StatusEvents]


def test_the_current_status_first_then_each_publish(served: Served) -> None:
    url, board, _ = served
    with httpx.stream("GET", url, timeout=10.0) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = events(response.iter_lines())
        first = next(stream)
        assert first["event"] == "status" and first["id"] == "0"
        assert json.loads(first["data"])["policy"] == "solar_only"

        later = replace(board.current(), policy="target", pv_w=4200.0)
        threading.Thread(target=board.publish, args=(later,)).start()  # as the daemon thread
        second = next(stream)
        body = json.loads(second["data"])
        assert second["id"] == "1"
        assert body["policy"] == "target" and body["pv_w"] == 4200.0
        assert body == later.to_json() | {"version": 1}


def test_an_event_is_one_data_line_of_the_status_json() -> None:
    status = replace(SiteStatus.empty(T0), version=7)
    text = sse_event(status)
    assert text.endswith("\n\n") and text.count("\ndata: ") == 1
    assert json.loads(text.split("data: ", 1)[1]) == status.to_json()


def test_close_ends_open_streams_so_the_server_stops_at_once(served: Served) -> None:
    """uvicorn waits for open responses: without close() an open page holds the exit."""
    url, _, endpoint = served
    with httpx.stream("GET", url, timeout=10.0) as response:
        stream = events(response.iter_lines())
        next(stream)
        started = time.monotonic()
        endpoint.close()
        assert list(stream) == []  # the stream ended by itself
        assert time.monotonic() - started < 2.0
    assert httpx.get(url, timeout=5.0).status_code == 503  # no new stream once closing
