"""The JSON API's routes: reads from the status board, writes through SiteControl.

Reads never block on the daemon (`StatusBoard.current`); writes are validated
here and by `SiteControl` in this thread, queued, and applied by the daemon's
thread before its next job. Errors are `{"error": <one line naming the field>,
"field": ...}`: 422 for a bad body or query, 404 for an unknown charger, 401/403
for the token (`auth`). One `Api` per home; `app` picks it by `?account=&site=`
(`sites`: an unknown home is a 404 before the token is looked at, as the homes are
no secret: `GET /api/accounts` lists them).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.storage import StoreError
from adapters.web.auth import error, write_refusal
from adapters.web.sessions import SessionsReader
from adapters.web.sites import WebSite
from optimizer.status.board import StatusBoard
from optimizer.status.control import MAX_TARGET_WH, STOPPED_FIELD, ControlError, SiteControl
from optimizer.status.snapshot import MAX_DECISIONS
from optimizer.status.target import parse_departure

DEFAULT_DECISIONS = 50
"""Decisions `GET /api/decisions` answers without `limit`."""


@dataclass(frozen=True, slots=True)
class Api:
    """One home's routes (`site`: its board, control and zone), the token, the sessions."""

    site: WebSite
    token: str | None
    sessions: SessionsReader | None

    @property
    def board(self) -> StatusBoard:
        return self.site.board

    @property
    def control(self) -> SiteControl:
        return self.site.control

    # ----- reads ------------------------------------------------------------------------

    async def status(self, request: Request) -> Response:
        return JSONResponse(self.board.current().to_json())

    async def plan(self, request: Request) -> Response:
        status = self.board.current()
        if status.plan is None:
            return JSONResponse({"time": status.time.isoformat(), "forecast": None, "chargers": []})
        return JSONResponse(status.plan.to_json())

    async def decisions(self, request: Request) -> Response:
        try:
            limit = _limit(request.query_params.get("limit"))
        except ControlError as exc:
            return refused(exc)
        decisions = self.board.current().decisions[:limit]
        return JSONResponse({"decisions": [d.to_json() for d in decisions]})

    async def sessions_json(self, request: Request) -> Response:
        """The home's sessions, read from the database in starlette's thread pool."""
        device = request.query_params.get("device_id")
        return await run_in_threadpool(self._sessions, device)

    def _sessions(self, device: str | None) -> Response:
        if self.sessions is None:
            return JSONResponse({"sessions": []})
        site = self.site
        try:
            rows = self.sessions.sessions(
                device_id=device,
                account=site.store_account,
                devices=site.devices,
                tariff=site.tariff,
                tz=site.tz,
            )
        except StoreError as exc:
            return error(503, f"sessions: {exc}")
        return JSONResponse({"sessions": rows})

    # ----- writes -----------------------------------------------------------------------

    async def set_policy(self, request: Request) -> Response:
        refusal = write_refusal(request, self.token)
        if refusal is not None:
            return refusal
        try:
            body = await _json_object(request)
            name = body.get("name")
            if not isinstance(name, str):
                raise ControlError("name", "must be a policy name (a string)")
            self.control.set_policy(name)
        except ControlError as exc:
            return refused(exc)
        return JSONResponse({"accepted": True, "policy": name}, status_code=202)

    async def set_target(self, request: Request) -> Response:
        refusal = write_refusal(request, self.token)
        if refusal is not None:
            return refusal
        device = request.path_params["device_id"]
        if device not in self.control.devices:
            return error(404, f"device_id: unknown charger {device!r}", "device_id")
        try:
            body = await _json_object(request)
            energy_kwh = _energy_kwh(body.get("energy_kwh"))
            departure = parse_departure(
                body.get("departure"), self.board.current().time, self.site.tz
            )
            self.control.set_target(device, energy_kwh * 1000.0, departure.at)
        except ControlError as exc:
            return refused(exc)
        answer = {
            "accepted": True,
            "device_id": device,
            "energy_kwh": energy_kwh,
            "departure": departure.at.astimezone(UTC).isoformat(),
            "note": departure.note,
        }
        return JSONResponse(answer, status_code=202)

    async def clear_target(self, request: Request) -> Response:
        refusal = write_refusal(request, self.token)
        if refusal is not None:
            return refusal
        device = request.path_params["device_id"]
        try:
            self.control.clear_target(device)
        except ControlError as exc:
            return refused(exc) if exc.field == STOPPED_FIELD else error(404, str(exc), exc.field)
        return JSONResponse({"accepted": True, "device_id": device}, status_code=202)


API_FIELDS = {"policy": "name", "energy_wh": "energy_kwh"}
"""`SiteControl`'s field names as the API's bodies call them."""


def refused(exc: ControlError) -> JSONResponse:
    """422 naming the field as the request called it; 503 once the daemon has stopped."""
    if exc.field == STOPPED_FIELD:
        return error(503, str(exc), exc.field)
    field = API_FIELDS.get(exc.field, exc.field)
    return error(422, f"{field}: {str(exc).partition(': ')[2]}", field)


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_DECISIONS
    try:
        limit = int(text)
    except ValueError:
        raise ControlError("limit", f"must be a whole number (got {text!r})") from None
    if not 1 <= limit <= MAX_DECISIONS:
        raise ControlError("limit", f"must be in [1, {MAX_DECISIONS}] (got {limit})")
    return limit


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ControlError("body", "must be a JSON object") from None
    if not isinstance(body, dict):
        raise ControlError("body", "must be a JSON object")
    return body


def _energy_kwh(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ControlError("energy_kwh", "must be a number of kWh")
    energy = float(value)
    if not math.isfinite(energy) or not 0.0 < energy <= MAX_TARGET_WH / 1000.0:
        raise ControlError(
            "energy_kwh", f"must be > 0 and <= {MAX_TARGET_WH / 1000:g} (got {value})"
        )
    return energy


__all__ = ["DEFAULT_DECISIONS", "Api"]
