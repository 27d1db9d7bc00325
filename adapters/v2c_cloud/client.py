"""`AsyncV2CClient`: the V2C Cloud API over `httpx.AsyncClient`.

Every operation (`client.intensity(...)`, inherited from `Operations`)
validates its arguments before sending (a bad value costs no call), sends the
`apikey` header, and returns a typed result in SI units. All logic (retries,
path fallback, quota, ledger, errors) lives in the sans-IO `Engine`; this
class only moves bytes. Use it as an async context manager, or call `aclose()`.

    async with AsyncV2CClient() as client:          # key from V2C_API_KEY
        state = await client.currentstatecharge("DEVICE")
        await client.intensity("DEVICE", 16)
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, ParamSpec, TypeVar, Unpack

import anyio
import httpx
from pydantic import SecretStr

from adapters.v2c_cloud.base import Attempt, ClientBase, ClientOptions, Done, advance
from adapters.v2c_cloud.calls import Call, Operation
from adapters.v2c_cloud.engine import HttpRequest, Outcome, Sleep
from adapters.v2c_cloud.operations import build_call

P = ParamSpec("P")
T = TypeVar("T")


class AsyncV2CClient(ClientBase, AbstractAsyncContextManager["AsyncV2CClient"]):
    """Asynchronous V2C Cloud client; `ClientBase` describes the settings.

    `transport` replaces the network (`httpx.MockTransport`, respx, the
    simulator's ASGI app).
    """

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        super().__init__(api_key, **options)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=self.timeout, transport=transport
        )

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def call(self, operation: Operation[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `operation` with typed arguments: what `client.<operation>(...)` does."""
        return await self.send(operation(*args, **kwargs))

    async def send(self, call: Call[T]) -> T:
        """Execute a prepared call (from an `Operation` or `build_call`) and return its result."""
        steps = self._engine.run(call)
        step = advance(steps, None)
        while not isinstance(step, Done):
            if isinstance(step, Sleep):
                await anyio.sleep(step.seconds)
                step = advance(steps, None)
            else:
                step = advance(steps, await self._exchange(step))
        return step.result

    async def request(
        self,
        operation_id: str,
        query: Mapping[str, object] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call any operation by `operationId`; arguments in API names and units (the CLI)."""
        return await self.send(build_call(operation_id, query, body))

    async def _exchange(self, request: HttpRequest) -> Outcome:
        attempt = Attempt(self._http, request)
        try:
            response = await self._http.send(attempt.request)
        except httpx.TransportError as exc:
            return attempt.failed(exc)
        return attempt.answered(response)
