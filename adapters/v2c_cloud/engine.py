"""The sans-IO heart of both clients: one call's attempts as a generator.

`Engine.run(call)` yields `HttpRequest` (send it, send back an `HttpResponse`
or a `TransportFailure`) and `Sleep` (wait, send back None), and finally
returns the parsed result or raises a `V2CError`. The async and the sync
client are ~15-line drivers of this generator, so retries, the 404 path
fallback, quota tracking, the call ledger and error mapping exist once.

Policy, because every attempt costs one of 1000 daily calls:
- every attempt is counted and reported to `on_call`, failed ones included;
- only reads (`x-v2c-read`) are retried, on 5xx and transport failures, with
  bounded exponential backoff; writes are never repeated (they could act twice);
- 401 and 429 are never retried (429 retries would burn the quota);
- a 429 blocks the whole client (the quota is the account's, not a charger's)
  until its `Retry-After` (delta-seconds or an HTTP date), else its
  `RateLimit-Reset`: a call before then raises `V2CRateLimited` without being
  sent, so no other charger and no daily job spends an attempt on a sure 429;
- an endpoint with `x-v2c-fallback-paths` tries them once on 404 and
  remembers the path that answered.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from pydantic import SecretStr

from adapters.v2c_cloud.calls import Call
from adapters.v2c_cloud.errors import (
    V2CAuthError,
    V2CHTTPError,
    V2CNotFound,
    V2CRateLimited,
    V2CTransportError,
)
from adapters.v2c_cloud.models import RawText
from adapters.v2c_cloud.redaction import excerpt, redact
from optimizer.interfaces import ApiCall, CallListener, Quota

T = TypeVar("T")

logger = logging.getLogger("adapters.v2c_cloud")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries for reads: `attempts` in total, backoff `backoff_s * multiplier**n` (s)."""

    attempts: int = 3
    backoff_s: float = 0.5
    multiplier: float = 2.0
    max_backoff_s: float = 8.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be >= 1, got {self.attempts}")
        if self.backoff_s < 0 or self.max_backoff_s < 0 or self.multiplier < 1:
            raise ValueError("RetryPolicy: backoffs must be >= 0 and multiplier >= 1")

    def delay_s(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return min(self.max_backoff_s, self.backoff_s * self.multiplier ** (attempt - 1))


NO_RETRY = RetryPolicy(attempts=1)
"""Never retry anything."""


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """What to send. `path` is relative to the base URL; headers hold the key (not in repr)."""

    method: str
    path: str
    params: Mapping[str, str]
    json: Mapping[str, Any] | None
    headers: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait before the next attempt (s)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """An answer; `headers` with lower-case names."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    latency_s: float


@dataclass(frozen=True, slots=True)
class TransportFailure:
    """No answer: `timeout` True for timeouts, False for connection and protocol failures."""

    timeout: bool
    detail: str
    latency_s: float


Outcome = HttpResponse | TransportFailure
Action = HttpRequest | Sleep


def parse_quota(headers: Mapping[str, str]) -> Quota | None:
    """The quota from `RateLimit-Limit`/`-Remaining`/`-Reset` (lower-case keys); None if absent."""
    try:
        limit = int(headers["ratelimit-limit"])
        remaining = int(headers["ratelimit-remaining"])
    except (KeyError, ValueError):
        return None
    reset_s: float | None = None
    if "ratelimit-reset" in headers:
        try:
            reset_s = float(headers["ratelimit-reset"])
        except ValueError:
            reset_s = None
        if reset_s is not None and not (math.isfinite(reset_s) and reset_s >= 0):
            reset_s = None
    return Quota(limit=limit, remaining=remaining, reset_s=reset_s)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds from `now` (delta-seconds or an HTTP date); None if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def decode_body(content: bytes) -> object:
    """JSON value of a body; None when empty; `RawText` when it is not JSON."""
    if not content.strip():
        return None
    try:
        return json.loads(content)
    except ValueError:
        return RawText(content.decode("utf-8", errors="replace"))


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Engine:
    """Per-client state (quota, call count, chosen paths) and the attempt loop."""

    def __init__(
        self,
        api_key: SecretStr,
        *,
        retry: RetryPolicy = RetryPolicy(),
        on_call: CallListener | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._api_key = api_key
        self.retry = retry
        self.on_call = on_call
        self.clock = clock or _utc_now
        self.quota: Quota | None = None
        self.calls_made = 0
        self.blocked_until: datetime | None = None
        """No call is sent before this (clock time), after a 429 that said when to retry."""
        self._chosen_path: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Engine(calls_made={self.calls_made}, quota={self.quota})"

    def paths(self, call: Call[Any]) -> list[str]:
        """The paths to try for `call`, in order (the remembered one alone once known)."""
        ep = call.endpoint
        if ep.operation_id in self._chosen_path:
            return [self._chosen_path[ep.operation_id]]
        return [ep.path, *ep.fallback_paths]

    def run(self, call: Call[T]) -> Generator[Action, Outcome | None, T]:
        """Drive one call to its result; see the module docstring for the protocol."""
        self._refuse_while_blocked(call)
        paths = self.paths(call)
        path_index = 0
        attempt = 0
        while True:
            attempt += 1
            path = paths[path_index]
            outcome = yield self._request(call, path)
            if outcome is None:
                raise RuntimeError("Engine.run: the driver must send back an outcome")
            self._record(call, path, outcome)
            if isinstance(outcome, TransportFailure):
                if self._may_retry(call, attempt):
                    yield Sleep(self.retry.delay_s(attempt))
                    continue
                raise self._transport_error(call, path, outcome, attempt)
            status = outcome.status
            if 200 <= status < 300:
                if len(paths) > 1:
                    self._chosen_path[call.endpoint.operation_id] = path
                return call.parse(decode_body(outcome.content))
            if status == 404 and path_index + 1 < len(paths):
                logger.info(
                    "%s: %s answered 404, trying %s",
                    call.endpoint.operation_id,
                    path,
                    paths[path_index + 1],
                )
                path_index += 1
                attempt = 0
                continue
            if status >= 500 and self._may_retry(call, attempt):
                yield Sleep(self.retry.delay_s(attempt))
                continue
            raise self._http_error(call, path, outcome)

    def _block(self, headers: Mapping[str, str], quota: Quota | None) -> float | None:
        """Block the client after a 429 (see the module doc); its `Retry-After` (s) or None."""
        now = self.clock()
        retry_after = parse_retry_after(headers.get("retry-after"), now)
        wait_s = retry_after if retry_after is not None else quota.reset_s if quota else None
        if wait_s is not None:
            self.blocked_until = now + timedelta(seconds=wait_s)
        return retry_after

    def _refuse_while_blocked(self, call: Call[Any]) -> None:
        """Raise `V2CRateLimited` (nothing sent, nothing counted) while a 429 block runs."""
        if self.blocked_until is None:
            return
        left_s = (self.blocked_until - self.clock()).total_seconds()
        if left_s <= 0:
            self.blocked_until = None
            return
        raise V2CRateLimited(
            f"{call.endpoint.operation_id}: not sent, rate-limited by an earlier HTTP 429 "
            f"until {self.blocked_until:%Y-%m-%d %H:%M:%S}Z",
            retry_after_s=left_s,
        )

    def _may_retry(self, call: Call[Any], attempt: int) -> bool:
        return call.endpoint.read and attempt < self.retry.attempts

    def _request(self, call: Call[Any], path: str) -> HttpRequest:
        return HttpRequest(
            method=call.endpoint.method,
            path=path,
            params=dict(call.query),
            json=None if call.body is None else dict(call.body),
            headers={"apikey": self._api_key.get_secret_value(), "accept": "application/json"},
        )

    def _record(self, call: Call[Any], path: str, outcome: Outcome) -> None:
        """Count the attempt, update the quota, report it to the ledger."""
        self.calls_made += 1
        status: int | None = None
        quota: Quota | None = None
        retry_after: float | None = None
        if isinstance(outcome, HttpResponse):
            status = outcome.status
            quota = parse_quota(outcome.headers)
            if quota is not None:
                self.quota = quota
            if status == 429:
                retry_after = self._block(outcome.headers, quota)
        logger.debug(
            "%s %s device=%s -> %s in %.3f s",
            call.endpoint.method,
            path,
            call.device_id,
            status if status is not None else "no answer",
            outcome.latency_s,
        )
        if self.on_call is None:
            return
        record = ApiCall(
            time=self.clock(),
            device_id=call.device_id,
            endpoint=call.endpoint.operation_id,
            status=status,
            latency_s=outcome.latency_s,
            quota=quota,
            retry_after_s=retry_after,
        )
        try:
            self.on_call(record)
        except Exception:  # the ledger must not turn a done call into a failed one
            logger.exception("on_call listener failed for %s", call.endpoint.operation_id)

    def _secrets(self, call: Call[Any]) -> tuple[str, ...]:
        return (self._api_key.get_secret_value(), *call.secrets)

    def _where(self, call: Call[Any], path: str) -> str:
        return f"{call.endpoint.operation_id} ({call.endpoint.method} {path})"

    def _transport_error(
        self, call: Call[Any], path: str, failure: TransportFailure, attempts: int
    ) -> V2CTransportError:
        kind = "timed out" if failure.timeout else "connection failed"
        detail = redact(excerpt(failure.detail, 120), self._secrets(call))
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return V2CTransportError(
            f"{self._where(call, path)}: {kind}{tries}: {detail}", timeout=failure.timeout
        )

    def _http_error(self, call: Call[Any], path: str, response: HttpResponse) -> V2CHTTPError:
        body = redact(
            excerpt(response.content.decode("utf-8", errors="replace")), self._secrets(call)
        )
        status = response.status
        where = self._where(call, path)
        suffix = f": {body}" if body else ""
        if status == 401:
            return V2CAuthError(
                f"{where}: HTTP 401: the API key was refused{suffix}",
                status=status,
                body_excerpt=body,
            )
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"), self.clock())
            own_quota = parse_quota(response.headers)
            if retry_after is None and own_quota is not None:
                retry_after = own_quota.reset_s
            when = f" (retry after {retry_after:.0f} s)" if retry_after is not None else ""
            return V2CRateLimited(
                f"{where}: HTTP 429: daily call quota exhausted{when}{suffix}",
                body_excerpt=body,
                retry_after_s=retry_after,
            )
        if status == 404:
            return V2CNotFound(f"{where}: HTTP 404{suffix}", status=status, body_excerpt=body)
        return V2CHTTPError(f"{where}: HTTP {status}{suffix}", status=status, body_excerpt=body)
