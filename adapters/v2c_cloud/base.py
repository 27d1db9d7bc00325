"""What the async and the sync client share: configuration, the key, the engine, the operations.

A client is a driver of the sans-IO `Engine`: it only moves bytes (`httpx`)
and waits. Everything else, including the 46 typed operations (inherited from
`Operations`), is written once here or below.
"""

from __future__ import annotations

import os
import time as _time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypedDict, TypeVar

import httpx
from pydantic import SecretStr

from adapters.v2c_cloud.endpoints import DEFAULT_BASE_URL
from adapters.v2c_cloud.engine import (
    Action,
    Engine,
    HttpRequest,
    HttpResponse,
    Outcome,
    RetryPolicy,
    TransportFailure,
)
from adapters.v2c_cloud.errors import V2CValidationError
from adapters.v2c_cloud.operations import Operations
from adapters.v2c_cloud.redaction import install_log_redaction
from optimizer.interfaces import CallListener, Quota

T = TypeVar("T")

API_KEY_ENV = "V2C_API_KEY"
"""Environment variable holding the API key when none is passed."""

DEFAULT_TIMEOUT_S = 10.0
"""Per-request timeout (s): the cloud relays reads to the charger, which can be slow."""


def resolve_api_key(api_key: str | SecretStr | None) -> SecretStr:
    """The key from the argument or `V2C_API_KEY`, wrapped so it never prints."""
    if isinstance(api_key, SecretStr):
        api_key = api_key.get_secret_value()
    if api_key is None:
        api_key = os.environ.get(API_KEY_ENV)
    api_key = (api_key or "").strip()
    if not api_key:
        raise V2CValidationError(f"no V2C API key: pass api_key= or set {API_KEY_ENV}")
    if not api_key.isascii() or any(c.isspace() for c in api_key):
        raise V2CValidationError("the V2C API key must be ASCII without whitespace")
    return SecretStr(api_key)


class ClientOptions(TypedDict, total=False):
    """The keyword settings both clients pass on to `ClientBase` (see there)."""

    base_url: str
    timeout: float
    retry: RetryPolicy | None
    on_call: CallListener | None
    clock: Callable[[], datetime] | None


class ClientBase(Operations):
    """Configuration and state common to `AsyncV2CClient` and `V2CClient`.

    `api_key` defaults to `V2C_API_KEY`; `timeout` is per request (s); `retry`
    bounds the retries of reads; `on_call` receives an `ApiCall` for every
    attempt; `clock` stamps those (tz-aware UTC).
    """

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        on_call: CallListener | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise V2CValidationError(f"base_url must start with http:// or https://: {base_url!r}")
        if not timeout > 0:
            raise V2CValidationError(f"timeout must be > 0 s, got {timeout!r}")
        install_log_redaction()
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self._engine = Engine(
            resolve_api_key(api_key), retry=retry or RetryPolicy(), on_call=on_call, clock=clock
        )

    @property
    def quota(self) -> Quota | None:
        """The latest quota the cloud reported (RateLimit-* headers), None before any."""
        return self._engine.quota

    @property
    def calls_made(self) -> int:
        """Attempts made by this client, failed ones and retries included."""
        return self._engine.calls_made

    @property
    def on_call(self) -> CallListener | None:
        """The listener told about every attempt (the budget's ledger)."""
        return self._engine.on_call

    @on_call.setter
    def on_call(self, listener: CallListener | None) -> None:
        self._engine.on_call = listener

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, api_key=SecretStr('**********'), "
            f"calls_made={self.calls_made}, quota={self.quota})"
        )


@dataclass(frozen=True, slots=True)
class Done(Generic[T]):
    """The engine has finished the call with `result`."""

    result: T


def advance(steps: Generator[Action, Outcome | None, T], reply: Outcome | None) -> Action | Done[T]:
    """Send `reply` into `Engine.run` (None to start or after a sleep); its next step."""
    try:
        return steps.send(reply)
    except StopIteration as done:
        return Done(done.value)


class Attempt:
    """One HTTP exchange of a call: the httpx request to send and the engine's view of its end.

    Latencies (s) run from the attempt's creation, on the monotonic clock.
    """

    def __init__(self, http: httpx.Client | httpx.AsyncClient, request: HttpRequest) -> None:
        self.started = _time.monotonic()
        self.request = http.build_request(
            request.method,
            request.path,
            params=request.params,
            json=request.json,
            headers=request.headers,
        )

    def failed(self, exc: httpx.TransportError) -> TransportFailure:
        """No answer: `exc` (a timeout or a connection/protocol failure) ended the attempt."""
        timeout = isinstance(exc, httpx.TimeoutException)
        return TransportFailure(timeout, f"{type(exc).__name__}: {exc}", self._elapsed_s())

    def answered(self, response: httpx.Response) -> HttpResponse:
        """The answer, header names lower-case."""
        return HttpResponse(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            content=response.content,
            latency_s=self._elapsed_s(),
        )

    def _elapsed_s(self) -> float:
        return _time.monotonic() - self.started
