"""The V2C Cloud API over HTTP (starlette), routed from the OpenAPI description.

Every operation of `adapters/v2c_cloud/openapi.yaml` is served at its method
and path under `base_path` (default `/kong/v2c_service`, so a client with base
URL `http://127.0.0.1:PORT/kong/v2c_service` works unchanged), plus each
operation's `x-v2c-fallback-paths` (both `/thirdparty/device/currentstatecharge`
and `/device/currentstatecharge` answer). One request goes through, in order:

1. the world is advanced to the simulated clock's time;
2. outage window (fault) -> 503, nothing counted;
3. the `apikey` header: missing, wrong or revoked -> 401 (Kong's messages);
4. throttle window (fault) -> 429, empty body, `Retry-After` unless turned off,
   nothing counted; the key's daily quota: one call counted; past the limit
   -> 429, empty body;
5. injected faults: latency, connection drop, timeout (held, then dropped),
   random 5xx; a malformed body is applied to the 200 answer at the end;
6. query parameters checked against the spec (required, enum, pattern,
   bounds) and the JSON body (timer, power profiles) -> 400 {"message": ...};
7. the named device (`deviceId` or `id`) must exist and, with accounts (a
   fleet), belong to the key's account -> 404 (the same answer either way);
8. a device offline at this time (fault `offline`) -> 504, except
   `connected` (false) and `stadistic/device`;
9. the operation's handler acts on the world and answers.

Headers on every answer of the API: `RateLimit-Limit`, `RateLimit-Remaining`,
`RateLimit-Reset` (whole seconds to the simulated UTC midnight, when the
counter resets; answers that count no call show the key's current count, or a
fresh quota when no valid key was given).

The simulated clock. Simulated time runs `speed` times faster than wall time
from the world's start. Clients follow it two ways:
- every answer (API, errors, `/sim/*`) carries `X-Simulated-Time`, ISO 8601 UTC
  with milliseconds (`2025-06-21T10:00:00.000Z`);
- `GET /sim/clock` (no key, not counted) answers {"time": ISO 8601 UTC,
  "speed": simulated seconds per wall second}; `POST /sim/clock` with JSON
  {"advance_s": N} or {"time": ISO 8601} jumps the clock forward (tests, demos).
- `POST /sim/revoke` revokes every key now (as `--revoke-keys-at` does at a set
  time) and answers {"revoked_at": ISO 8601}: a soak revokes when its daemon
  has seen what it must, not at a time a loaded machine may reach first.
- `GET /sim/truth[?until=ISO 8601]` answers the ground truth: every device's
  sessions as of `until` (default now; the world never goes back, `time` says
  where it is), the sessions as the world passed the key revocation
  (`snapshots`) and the API requests received per simulated UTC day and
  outcome (`requests_per_day`, `tally.Outcome`), and with accounts (a fleet)
  the same per account name (`requests_per_account`).
`/sim/*` is outside the API's base path, needs no key and costs no quota.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.simulator.quota import QuotaState
from adapters.simulator.server.faults import Fault, malform
from adapters.simulator.server.handlers import HANDLERS, ApiError
from adapters.simulator.server.simulator import Simulator
from adapters.simulator.server.tally import Outcome
from adapters.v2c_cloud.endpoints import Endpoint, endpoints
from adapters.v2c_cloud.errors import V2CValidationError
from adapters.v2c_cloud.validation import build_body, check_parameter
from optimizer.interfaces import SessionRecord

SIMULATED_TIME_HEADER = "X-Simulated-Time"
"""Header carrying the simulated time of every answer (ISO 8601 UTC)."""

_RAW_SEND = "v2c_sim.raw_send"
_MISSING_KEY = "No API key found in request"
_BAD_KEY = "Invalid authentication credentials"


class ConnectionDropped(Exception):
    """Raised where the server cannot close the socket itself (an in-process test client)."""


def iso_utc(t: datetime) -> str:
    """`t` as ISO 8601 UTC with milliseconds and a `Z`."""
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def _drop_connection(scope: Scope) -> None:
    """Close the client's socket without writing any HTTP response.

    Works under uvicorn, whose `send` callable belongs to an object holding the
    connection's transport. Waits until the server has noticed the
    disconnection, so nothing sent afterwards reaches the socket.
    """
    cycle = getattr(scope.get(_RAW_SEND), "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionDropped("simulated connection drop")
    transport.close()
    for _ in range(1000):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0.001)


class _KeepRawSend:
    """Outermost ASGI layer: remembers the server's own `send` for connection drops."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[_RAW_SEND] = send
        await self.app(scope, receive, send)


def _json(status: int, body: object, headers: Mapping[str, str]) -> Response:
    return JSONResponse(body, status_code=status, headers=dict(headers))


def _message(status: int, message: str, headers: Mapping[str, str]) -> Response:
    return _json(status, {"message": message}, headers)


class _ApiRoute:
    """The endpoint of one operation: the request pipeline described in the module doc."""

    def __init__(self, sim: Simulator, endpoint: Endpoint) -> None:
        self.sim = sim
        self.endpoint = endpoint

    def _headers(self, now: datetime, quota: QuotaState) -> dict[str, str]:
        return {**quota.headers(), SIMULATED_TIME_HEADER: iso_utc(now)}

    async def __call__(self, request: Request) -> Response:
        sim = self.sim
        now = sim.now()
        key = request.headers.get("apikey")
        valid = sim.is_valid_key(key, now)
        if sim.faults.in_outage(now):
            sim.tally.add(Outcome.OUTAGE, now)
            peek = sim.quota.peek(key if valid else None, now)
            return _message(503, "Service temporarily unavailable", self._headers(now, peek))
        if not valid or key is None:
            sim.tally.add(Outcome.REFUSED_KEY, now)
            message = _MISSING_KEY if not key else _BAD_KEY
            return _message(401, message, self._headers(now, sim.quota.peek(None, now)))
        throttled_s = sim.faults.throttle(now)
        if throttled_s is not None:
            sim.tally.add(Outcome.THROTTLED, now)
            headers = self._headers(now, sim.quota.peek(key, now))
            if sim.faults.config.throttle_retry_after:
                headers["Retry-After"] = str(math.ceil(throttled_s))
            return Response(status_code=429, headers=headers)
        quota = sim.count_call(key, now)
        headers = self._headers(now, quota)
        outcome = Outcome.COUNTED if quota.allowed else Outcome.OVER_LIMIT
        sim.tally.add(outcome, now)
        account = sim.account_of(key)
        if account is not None:
            sim.account_tallies[account].add(outcome, now)
        if not quota.allowed:
            return Response(status_code=429, headers=headers)
        return await self._counted(request, headers, key)

    async def _counted(self, request: Request, headers: dict[str, str], key: str) -> Response:
        faults = self.sim.faults
        if faults.config.latency_s > 0:
            await asyncio.sleep(faults.config.latency_s)
        fault, status = faults.draw()
        if fault is Fault.DROP:
            await _drop_connection(request.scope)
            return Response(status_code=500)
        if fault is Fault.TIMEOUT:
            await asyncio.sleep(faults.config.timeout_s)
            await _drop_connection(request.scope)
            return Response(status_code=500)
        if fault is Fault.ERROR:
            return _message(status, "An unexpected error occurred", headers)
        try:
            body = self._answer(request.query_params, await request.body(), key)
        except ApiError as exc:
            return _message(exc.status, exc.message, headers)
        response = _json(200, body, headers)
        if fault is Fault.MALFORMED:
            response.body = malform(bytes(response.body))
            response.headers["content-length"] = str(len(response.body))
        return response

    def _answer(self, params: Mapping[str, str], raw_body: bytes, key: str) -> object:
        endpoint = self.endpoint
        query = self._query(params)
        body = self._body(raw_body)
        device_id = query.get(endpoint.device_param) if endpoint.device_param else None
        if device_id is not None and not self.sim.has_device(device_id, key):
            # Another account's device is answered like an unknown one: the key
            # learns nothing of devices outside its account.
            raise ApiError(404, f"device {device_id} not found")
        return self.sim.dispatch(endpoint.operation_id, device_id, query, body, key)

    def _query(self, params: Mapping[str, str]) -> dict[str, str]:
        """The spec's parameters present in the request, validated; unknown ones ignored."""
        query: dict[str, str] = {}
        try:
            for param in self.endpoint.parameters:
                text = params.get(param.name)
                if text is None:
                    if param.required:
                        raise V2CValidationError(
                            f"{self.endpoint.operation_id}: {param.name} is required"
                        )
                    continue
                check_parameter(self.endpoint, param, text)
                query[param.name] = text
        except V2CValidationError as exc:
            raise ApiError(400, str(exc)) from None
        return query

    def _body(self, raw: bytes) -> dict[str, Any] | None:
        """The validated JSON body of operations that take one; None for the others."""
        if self.endpoint.body_fields is None:
            return None
        try:
            parsed = json.loads(raw or b"null")
        except ValueError:
            raise ApiError(400, f"{self.endpoint.operation_id}: body is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise ApiError(400, f"{self.endpoint.operation_id}: body must be a JSON object")
        try:
            return build_body(self.endpoint, parsed)
        except V2CValidationError as exc:
            raise ApiError(400, str(exc)) from None


def api_routes(sim: Simulator) -> list[Route]:
    """One route per operation of the spec (and per fallback path), under the base path.

    Raises RuntimeError if the spec has an operation no handler simulates.
    """
    table = endpoints()
    missing = sorted(set(table) - set(HANDLERS))
    if missing:
        raise RuntimeError(f"spec operations without a simulator handler: {', '.join(missing)}")
    by_path: dict[str, dict[str, _ApiRoute]] = {}
    for endpoint in table.values():
        for path in (endpoint.path, *endpoint.fallback_paths):
            by_path.setdefault(path, {})[endpoint.method] = _ApiRoute(sim, endpoint)
    routes = []
    for path, methods in by_path.items():
        routes.append(
            Route(sim.config.base_path + path, _by_method(methods), methods=list(methods))
        )
    return routes


def _by_method(methods: dict[str, _ApiRoute]) -> Any:
    async def endpoint(request: Request) -> Response:
        return await methods[request.method](request)

    return endpoint


def _sim_routes(sim: Simulator) -> list[Route]:
    def clock_body(now: datetime) -> Response:
        body = {"time": iso_utc(now), "speed": sim.clock.speed}
        return JSONResponse(body, headers={SIMULATED_TIME_HEADER: iso_utc(now)})

    async def get_clock(request: Request) -> Response:
        return clock_body(sim.now())

    async def post_clock(request: Request) -> Response:
        try:
            target = _jump_target(await request.json(), sim.now())
        except (ValueError, TypeError, OverflowError) as exc:
            now = sim.now()
            return _message(400, str(exc), {SIMULATED_TIME_HEADER: iso_utc(now)})
        return clock_body(sim.jump_to(target))

    async def post_revoke(request: Request) -> Response:
        at = sim.revoke_keys_now()
        return JSONResponse(
            {"revoked_at": iso_utc(at)}, headers={SIMULATED_TIME_HEADER: iso_utc(at)}
        )

    async def get_truth(request: Request) -> Response:
        now = sim.now()
        try:
            text = request.query_params.get("until")
            until = now if text is None else _aware(datetime.fromisoformat(text))
        except ValueError as exc:
            return _message(400, f"until: {exc}", {SIMULATED_TIME_HEADER: iso_utc(now)})
        return JSONResponse(truth_body(sim, until), headers={SIMULATED_TIME_HEADER: iso_utc(now)})

    return [
        Route("/sim/clock", get_clock, methods=["GET"]),
        Route("/sim/clock", post_clock, methods=["POST"]),
        Route("/sim/truth", get_truth, methods=["GET"]),
        Route("/sim/revoke", post_revoke, methods=["POST"]),
    ]


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError(f"needs a UTC offset, got {t.isoformat()}")
    return t


def _session_json(s: SessionRecord) -> dict[str, Any]:
    return {
        "device_id": s.device_id,
        "start": iso_utc(s.start),
        "end": None if s.end is None else iso_utc(s.end),
        "energy_wh": s.energy_wh,
        "solar_wh": s.solar_wh,
    }


def truth_body(sim: Simulator, until: datetime) -> dict[str, Any]:
    """`GET /sim/truth`: the world's sessions as of `until` (or later: the world never
    goes back, `time` says where it is), the snapshots, and the requests per day."""
    with sim.world_as_of(until) as world:
        sessions = [log.to_record() for d in world.device_ids for log in world.sessions(d)]
        time = world.now
    return {
        "time": iso_utc(time),
        "sessions": [_session_json(s) for s in sessions],
        "snapshots": {
            iso_utc(t): [_session_json(s) for s in records]
            for t, records in sim.session_snapshots.items()
        },
        "requests_per_day": sim.tally.as_json(),
        "requests_per_account": {
            name: tally.as_json() for name, tally in sim.account_tallies.items()
        },
    }


def _jump_target(body: object, now: datetime) -> datetime:
    """The time a `POST /sim/clock` body asks for: {"advance_s": N} or {"time": ISO 8601}."""
    if not isinstance(body, dict) or len(body) != 1:
        raise ValueError('body must be {"advance_s": seconds} or {"time": "ISO 8601"}')
    if "advance_s" in body:
        seconds = float(body["advance_s"])
        if not seconds >= 0:
            raise ValueError(f"advance_s must be >= 0, got {body['advance_s']!r}")
        return now + timedelta(seconds=seconds)
    if "time" in body:
        t = datetime.fromisoformat(str(body["time"]))
        if t.tzinfo is None:
            raise ValueError(f"time must carry a UTC offset, got {body['time']!r}")
        return t
    raise ValueError('body must be {"advance_s": seconds} or {"time": "ISO 8601"}')


def create_app(sim: Simulator, *, on_shutdown: Callable[[], None] | None = None) -> ASGIApp:
    """The ASGI app serving `sim`: the API under its base path and `/sim/*`.

    `on_shutdown` runs when the server shuts down gracefully (SIGINT/SIGTERM
    under uvicorn, which re-raises the signal afterwards: code after
    `Server.run` would never run).
    """

    async def not_found(request: Request, exc: Exception) -> Response:
        now = sim.now()
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        status = 404 if status in (404, 405) else status
        key = request.headers.get("apikey")
        peek = sim.quota.peek(key if sim.is_valid_key(key, now) else None, now)
        headers = {**peek.headers(), SIMULATED_TIME_HEADER: iso_utc(now)}
        return _message(status, "no Route matched with those values", headers)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        ticker = asyncio.create_task(_tick(sim)) if sim.config.tick_s else None
        yield
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        if on_shutdown is not None:
            on_shutdown()

    app = Starlette(
        routes=[*api_routes(sim), *_sim_routes(sim)],
        exception_handlers={HTTPException: not_found},
        lifespan=lifespan,
    )
    app.state.simulator = sim
    return _KeepRawSend(app)


async def _tick(sim: Simulator) -> None:
    """Advance the world every `tick_s` wall seconds, so it never has far to catch up."""
    interval = sim.config.tick_s or 1.0
    while True:
        await asyncio.sleep(interval)
        sim.now()
