"""One asynchronous HTTP pool for every account of a process, and the sync clients over it.

A fleet daemon drives hundreds of accounts. Each account's client keeps what is
the account's own (its key, quota, 429 block, call listener: the `Engine`), but
the bytes of every account move through one `httpx.AsyncClient` on one event
loop (`HttpPool`): one connection pool, one thread doing I/O, however many
accounts. The controllers stay synchronous: `PooledV2CClient` is the sync
`V2CClient` whose exchanges are submitted to the loop and awaited by the
calling thread (each account's worker thread), so one account's slow or hanging
request waits in that account's thread alone and never holds another's.

    pool = HttpPool()
    client = PooledV2CClient(pool, api_key=key, base_url=url)
    client.currentstatecharge("DEVICE")     # from any thread but the loop's
    pool.close()                            # cancels what is in flight
"""

from __future__ import annotations

import asyncio
import concurrent.futures
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

POOL_CONNECTIONS = 256
"""Connections the pool keeps (open and idle): about one per account's worker thread."""


class HttpPool:
    """An event loop in a daemon thread with one `httpx.AsyncClient` (no base URL: each
    client sends absolute URLs), shared by every `PooledV2CClient` of the process.

    `timeout` (s) is per request. `transport` replaces the network (tests).
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        connections: int = POOL_CONNECTIONS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="v2c-http-pool", daemon=True
        )
        self._thread.start()
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

        async def make() -> httpx.AsyncClient:
            return httpx.AsyncClient(timeout=timeout, limits=limits, transport=transport)

        self.http: httpx.AsyncClient = self._submit(make()).result()
        self._closed = False

    def _submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def exchange(self, attempt: Attempt) -> httpx.Response:
        """Send the attempt's request on the loop and wait for the answer (calling thread).

        Raises `httpx.TransportError` as `httpx.AsyncClient.send` does, and a
        `httpx.TransportError` too when the pool closes under the request.
        """
        if self._closed:
            raise httpx.ConnectError("the HTTP pool is closed")
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

    def close(self) -> None:
        """Nothing to release: the connections are the pool's."""

    def _exchange(self, request: HttpRequest) -> Outcome:
        attempt = Attempt(self._pool.http, replace(request, path=self.base_url + request.path))
        try:
            response = self._pool.exchange(attempt)
        except httpx.TransportError as exc:
            return attempt.failed(exc)
        return attempt.answered(response)


__all__ = ["POOL_CONNECTIONS", "HttpPool", "PooledV2CClient"]
