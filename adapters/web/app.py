"""The web app factory: the JSON API, `/metrics`, `/healthz`, the OpenAPI file and the page.

`create_app` wires the routes over one `StatusBoard` and one `SiteControl`;
`adapters.web.server` runs it under uvicorn in a background thread. The page
(`GET /`, `/static/...`) is served from `static/`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from adapters.storage.schema import DEFAULT_ACCOUNT
from adapters.web.api import Api
from adapters.web.events import StatusEvents
from adapters.web.metrics import CONTENT_TYPE, AccountBoards, metrics_registry, render
from adapters.web.sessions import SessionsReader
from optimizer.status.board import StatusBoard
from optimizer.status.control import SiteControl

HERE = Path(__file__).parent
OPENAPI_FILE = HERE / "openapi.json"
STATIC_DIR = HERE / "static"


@cache
def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI 3.1 description (`openapi.json`, written by hand)."""
    document: dict[str, Any] = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    return document


def account_json(name: str, boards: Sequence[StatusBoard]) -> dict[str, Any]:
    """One account in `GET /api/accounts`: its sites and chargers, the quota day's calls
    (the account's: its sites share one planner), its policies and why it stopped."""
    sites = [board.current() for board in boards]
    fatal = next((s.fatal for s in sites if s.fatal), None)
    return {
        "account": name,
        "sites": len(sites),
        "chargers": sum(len(s.chargers) for s in sites),
        "calls_today": sites[0].calls_today if sites else 0,
        "calls_left": sites[0].calls_left if sites else None,
        "policies": sorted({s.policy for s in sites}),
        "fatal": fatal,
    }


def create_app(
    board: StatusBoard,
    control: SiteControl,
    *,
    token: str | None = None,
    sessions: SessionsReader | None = None,
    tz: tzinfo = UTC,
    accounts: Sequence[AccountBoards] | None = None,
) -> Starlette:
    """The app: reads from `board`, writes through `control` guarded by `token`.

    `sessions` reads the recorded sessions (None: `GET /api/sessions` is empty);
    `tz` is the site's zone, for a departure given as `HH:MM`. `accounts` are every
    account's site boards, for `/metrics` and `GET /api/accounts` (default: `board`
    alone, as the account `default`); the other routes are `board`'s site's.
    """
    api = Api(board, control, token, sessions, tz)
    events = StatusEvents(board)
    every = tuple(accounts) if accounts is not None else ((DEFAULT_ACCOUNT, (board,)),)
    registry = metrics_registry(every)

    async def accounts_list(request: Request) -> Response:
        return JSONResponse({"accounts": [account_json(name, sites) for name, sites in every]})

    async def metrics(request: Request) -> Response:
        return Response(render(registry), media_type=CONTENT_TYPE)

    async def healthz(request: Request) -> Response:
        fatal = board.current().fatal
        body = {"ok": fatal is None, "fatal": fatal, "version": board.version}
        return JSONResponse(body, status_code=200 if fatal is None else 503)

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document())

    routes = [
        Route("/api/status", api.status),
        Route("/api/accounts", accounts_list),
        Route("/api/plan", api.plan),
        Route("/api/sessions", api.sessions_json),
        Route("/api/decisions", api.decisions),
        Route("/api/events", events.endpoint),
        Route("/api/policy", api.set_policy, methods=["POST"]),
        Route("/api/chargers/{device_id}/target", api.set_target, methods=["POST"]),
        Route("/api/chargers/{device_id}/target", api.clear_target, methods=["DELETE"]),
        Route("/api/openapi.json", openapi),
        Route("/metrics", metrics),
        Route("/healthz", healthz),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        Mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="page"),
    ]
    app = Starlette(routes=routes)
    app.state.api = api
    app.state.events = events
    return app


__all__ = ["OPENAPI_FILE", "STATIC_DIR", "create_app", "openapi_document"]
