"""`GET /api/events`: the site status as server-sent events, for the dashboard.

The first event is the current status; then one `status` event (the `/api/status`
body) whenever the daemon publishes, at most one per `min_interval_s` (at 720x the
demo publishes far faster than a page can show), and a comment line every
`keepalive_s` so that proxies keep an idle stream open. The board's listener runs
in the daemon thread and only hands the status to the event loop
(`call_soon_threadsafe`): it never blocks the daemon, and a slow client only ever
gets the newest status, never a backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from optimizer.status.board import StatusBoard
from optimizer.status.snapshot import SiteStatus

MIN_INTERVAL_S = 0.5
KEEPALIVE_S = 15.0


def sse_event(status: SiteStatus) -> str:
    """One `status` event carrying `status.to_json()`, with its version as the event id."""
    return f"event: status\nid: {status.version}\ndata: {json.dumps(status.to_json())}\n\n"


class _Latest:
    """The newest status handed over from the daemon thread; older ones are dropped."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._ready = asyncio.Event()
        self._status: SiteStatus | None = None
        self.ended = False

    def offer(self, status: SiteStatus) -> None:
        """Any thread: hand `status` to the loop without waiting (a closed loop: dropped)."""
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._set, status)

    def end(self) -> None:
        """Any thread: let the stream finish (the server is stopping)."""
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._finish)

    def _set(self, status: SiteStatus) -> None:
        self._status = status
        self._ready.set()

    def _finish(self) -> None:
        self.ended = True
        self._ready.set()

    async def next(self, timeout_s: float) -> SiteStatus | None:
        """The newest status offered since the last call; None after `timeout_s` or at the end."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout_s)
        except TimeoutError:
            return None
        self._ready.clear()
        return None if self.ended else self._status


async def _stream(
    board: StatusBoard, latest: _Latest, min_interval_s: float, keepalive_s: float
) -> AsyncIterator[str]:
    yield "retry: 3000\n\n"
    yield sse_event(board.current())
    while not latest.ended:
        status = await latest.next(keepalive_s)
        if status is not None:
            yield sse_event(status)
            await asyncio.sleep(min_interval_s)
        elif not latest.ended:
            yield ": keep-alive\n\n"


class StatusEvents:
    """The `GET /api/events` endpoint over `board`; `close()` ends every open stream.

    uvicorn waits for open responses before it stops, and an event stream never
    ends by itself: the web server calls `close()` first, so that stopping takes
    no longer with a dashboard open than without.
    """

    def __init__(
        self,
        board: StatusBoard,
        *,
        min_interval_s: float = MIN_INTERVAL_S,
        keepalive_s: float = KEEPALIVE_S,
    ) -> None:
        self.board = board
        self.min_interval_s = min_interval_s
        self.keepalive_s = keepalive_s
        self._lock = threading.Lock()
        self._streams: set[_Latest] = set()
        self._closed = False

    async def endpoint(self, request: Request) -> Response:
        """The route's handler: `Route("/api/events", events.endpoint)`."""
        latest = _Latest(asyncio.get_running_loop())
        with self._lock:
            if self._closed:
                return Response("the server is stopping", status_code=503)
            self._streams.add(latest)
        unsubscribe = self.board.subscribe(latest.offer)

        async def body() -> AsyncIterator[str]:
            try:
                stream = _stream(self.board, latest, self.min_interval_s, self.keepalive_s)
                async for chunk in stream:
                    yield chunk
            finally:
                unsubscribe()
                with self._lock:
                    self._streams.discard(latest)

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(body(), media_type="text/event-stream", headers=headers)

    def close(self) -> None:
        """End every open stream and refuse new ones (any thread; idempotent)."""
        with self._lock:
            self._closed = True
            streams = tuple(self._streams)
        for latest in streams:
            latest.end()


__all__ = ["KEEPALIVE_S", "MIN_INTERVAL_S", "StatusEvents", "sse_event"]
