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
from collections.abc import AsyncIterator, Awaitable, Callable

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

    def offer(self, status: SiteStatus) -> None:
        """Daemon thread: hand `status` to the loop without waiting (a closed loop: dropped)."""
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._set, status)

    def _set(self, status: SiteStatus) -> None:
        self._status = status
        self._ready.set()

    async def next(self, timeout_s: float) -> SiteStatus | None:
        """The newest status offered since the last call, or None after `timeout_s`."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout_s)
        except TimeoutError:
            return None
        self._ready.clear()
        return self._status


async def _stream(
    board: StatusBoard, latest: _Latest, min_interval_s: float, keepalive_s: float
) -> AsyncIterator[str]:
    yield "retry: 3000\n\n"
    yield sse_event(board.current())
    while True:
        status = await latest.next(keepalive_s)
        if status is None:
            yield ": keep-alive\n\n"
            continue
        yield sse_event(status)
        await asyncio.sleep(min_interval_s)


def status_events(
    board: StatusBoard,
    *,
    min_interval_s: float = MIN_INTERVAL_S,
    keepalive_s: float = KEEPALIVE_S,
) -> Callable[[Request], Awaitable[Response]]:
    """The `GET /api/events` endpoint over `board`."""

    async def events(request: Request) -> Response:
        latest = _Latest(asyncio.get_running_loop())
        unsubscribe = board.subscribe(latest.offer)

        async def body() -> AsyncIterator[str]:
            try:
                async for chunk in _stream(board, latest, min_interval_s, keepalive_s):
                    yield chunk
            finally:
                unsubscribe()

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(body(), media_type="text/event-stream", headers=headers)

    return events


__all__ = ["KEEPALIVE_S", "MIN_INTERVAL_S", "sse_event", "status_events"]
