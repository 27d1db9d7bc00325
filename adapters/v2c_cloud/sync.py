"""`V2CClient`: the synchronous twin of `AsyncV2CClient` (notebooks, the CLI, the daemon).

Same operations, same arguments, same results and errors: both inherit the
one `Operations` layer and drive the same sans-IO `Engine`; only the I/O
(`httpx.Client`, `time.sleep`) differs.

    with V2CClient() as client:                     # key from V2C_API_KEY
        state = client.currentstatecharge("DEVICE")
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, ParamSpec, TypeVar, Unpack

import httpx
from pydantic import SecretStr

from adapters.v2c_cloud.base import Attempt, ClientBase, ClientOptions, Done, advance
from adapters.v2c_cloud.calls import Call, Operation
from adapters.v2c_cloud.engine import HttpRequest, Outcome, Sleep
from adapters.v2c_cloud.operations import build_call

P = ParamSpec("P")
T = TypeVar("T")


class V2CClient(ClientBase, AbstractContextManager["V2CClient"]):
    """Synchronous V2C Cloud client; `ClientBase` describes the settings.

    `transport` replaces the network (`httpx.MockTransport`); `sleep` is how
    retries wait (s); tests inject a recorder.
    """

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = _time.sleep,
        **options: Unpack[ClientOptions],
    ) -> None:
        super().__init__(api_key, **options)
        self._sleep = sleep
        self._http = httpx.Client(base_url=self.base_url, timeout=self.timeout, transport=transport)

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def call(self, operation: Operation[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `operation` with typed arguments: what `client.<operation>(...)` does."""
        return self.send(operation(*args, **kwargs))

    def send(self, call: Call[T]) -> T:
        """Execute a prepared call (from an `Operation` or `build_call`) and return its result."""
        steps = self._engine.run(call)
        step = advance(steps, None)
        while not isinstance(step, Done):
            if isinstance(step, Sleep):
                self._sleep(step.seconds)
                step = advance(steps, None)
            else:
                step = advance(steps, self._exchange(step))
        return step.result

    def request(
        self,
        operation_id: str,
        query: Mapping[str, object] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call any operation by `operationId`; arguments in API names and units (the CLI)."""
        return self.send(build_call(operation_id, query, body))

    def _exchange(self, request: HttpRequest) -> Outcome:
        attempt = Attempt(self._http, request)
        try:
            response = self._http.send(attempt.request)
        except httpx.TransportError as exc:
            return attempt.failed(exc)
        return attempt.answered(response)
