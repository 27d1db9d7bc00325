"""One asynchronous HTTP pool for every account of a process, and the sync clients over it.

A fleet daemon drives hundreds of accounts. Each account's client keeps what is
the account's own (its key, quota, 429 block, call listener: the `Engine`), but
the bytes of every account move through one `httpx.AsyncClient` on one event
loop (`HttpPool`): one client, one thread doing I/O, however many accounts.
The controllers stay synchronous: `PooledV2CClient` is the sync
`V2CClient` whose exchanges are submitted to the loop and awaited by the
calling thread (each account's worker thread), so one account's slow or hanging
request waits in that account's thread alone and never holds another's.

Each client has its own lane of keep-alive connections under the one client
(`LaneTransport`): an account's worker sends one request at a time, so its lane
holds a connection or two, and a request looks only at those before it reuses
one. One shared connection pool checked every pooled connection's socket on each
request (httpcore's `has_expired`) and counted them all for each idle one: with a
hundred accounts a hundred polls and ten thousand checks per request, a large part
of the pool's CPU (BENCHMARKS.md, "Fleet CPU, second round"). Lanes also keep an
account that holds its connections (a hanging server) out of every other account's.

    pool = HttpPool()
    client = PooledV2CClient(pool, api_key=key, base_url=url)
    client.currentstatecharge("DEVICE")     # from any thread but the loop's
    pool.close()                            # cancels what is in flight
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import threading
import time as _time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any, TypeVar, Unpack

import httpx
from pydantic import SecretStr

from adapters.v2c_cloud.base import DEFAULT_TIMEOUT_S, Attempt, ClientBase, ClientOptions
from adapters.v2c_cloud.engine import HttpRequest, Outcome
from adapters.v2c_cloud.sync import V2CClient

T = TypeVar("T")

LANE_CONNECTIONS = 4
"""Connections one client's lane may hold open at once (its worker sends one request at a
time; a request given up by a timeout may still be closing)."""
LANE_KEEPALIVE = 2
"""Idle connections a lane keeps for reuse."""
_LANE = "v2c_pool_lane"
"""The request extension naming the lane a request goes through."""


class LaneTransport(httpx.AsyncBaseTransport):
    """Sends each request through the connection pool of its lane (the request's `_LANE`
    extension; one lane per `PooledV2CClient`), made on the lane's first request."""

    def __init__(self, make: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._make = make
        self._lanes: dict[int, httpx.AsyncBaseTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """The answer of the request's lane (lane 0 without the extension)."""
        lane: int = request.extensions.get(_LANE, 0)
        transport = self._lanes.get(lane)
        if transport is None:
            transport = self._lanes[lane] = self._make()
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        """Close every lane's connections."""
        for transport in self._lanes.values():
            await transport.aclose()


class HttpPool:
    """An event loop in a daemon thread with one `httpx.AsyncClient` (no base URL: each
    client sends absolute URLs), shared by every `PooledV2CClient` of the process.

    `timeout` (s) is per request. `transport` replaces the network (tests); by default
    each client's requests go through its own lane of connections (`LaneTransport`).
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="v2c-http-pool", daemon=True
        )
        self._thread.start()
        limits = httpx.Limits(
            max_connections=LANE_CONNECTIONS, max_keepalive_connections=LANE_KEEPALIVE
        )

        tls = httpx.create_ssl_context()  # one for every lane: each costs milliseconds

        async def make() -> httpx.AsyncClient:
            lanes = transport or LaneTransport(
                lambda: httpx.AsyncHTTPTransport(verify=tls, limits=limits)
            )
            return httpx.AsyncClient(timeout=timeout, transport=lanes)

        self.http: httpx.AsyncClient = self._submit(make()).result()
        self._closed = False
        self._lanes = itertools.count(1)

    def new_lane(self) -> int:
        """A lane of connections of its own, for one client (see `LaneTransport`)."""
        return next(self._lanes)

    def _submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def exchange(self, attempt: Attempt, lane: int = 0) -> httpx.Response:
        """Send the attempt's request on the loop through `lane` (`new_lane`) and wait for
        the answer (calling thread).

        Raises `httpx.TransportError` as `httpx.AsyncClient.send` does, and a
        `httpx.TransportError` too when the pool closes under the request.
        """
        if self._closed:
            raise httpx.ConnectError("the HTTP pool is closed")
        attempt.request.extensions[_LANE] = lane
        future = self._submit(self.http.send(attempt.request))
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise httpx.ConnectError("the HTTP pool closed during the request") from None

    def close(self) -> None:
        """Cancel what is in flight, close the connections, stop the loop (idempotent)."""
        if self._closed:
            return
        self._closed = True

        async def shut() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.http.aclose()

        self._submit(shut()).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> HttpPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class PooledV2CClient(V2CClient):
    """The sync `V2CClient` of one account whose requests go through a shared `HttpPool`.

    Same operations, engine, errors and ledger as `V2CClient`; `close` leaves the
    pool open (the pool is the process's). `sleep` is how retries wait (s).
    """

    def __init__(
        self,
        pool: HttpPool,
        api_key: str | SecretStr | None = None,
        *,
        sleep: Callable[[float], None] = _time.sleep,
        **options: Unpack[ClientOptions],
    ) -> None:
        ClientBase.__init__(self, api_key, **options)
        self._sleep = sleep
        self._pool = pool
        self._lane = pool.new_lane()

    def close(self) -> None:
        """Nothing to release: the connections are the pool's."""

    def _exchange(self, request: HttpRequest) -> Outcome:
        attempt = Attempt(self._pool.http, replace(request, path=self.base_url + request.path))
        try:
            response = self._pool.exchange(attempt, self._lane)
        except httpx.TransportError as exc:
            return attempt.failed(exc)
        return attempt.answered(response)


__all__ = ["HttpPool", "LaneTransport", "PooledV2CClient"]
