"""The web app factory: the JSON API, `/metrics`, `/healthz`, the OpenAPI file and the page.

`create_app` wires the routes over each home's `StatusBoard` and `SiteControl` (one
home, or every home of a fleet, selected by `?account=&site=`: `adapters.web.sites`);
`adapters.web.server` runs it under uvicorn in a background thread. The page
(`GET /`, `/static/...`) is served from `static/`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from adapters.web.api import Api
from adapters.web.auth import error
from adapters.web.events import StatusEvents
from adapters.web.health import home_health, process_health
from adapters.web.metrics import CONTENT_TYPE, metrics_registry, render
from adapters.web.sessions import SessionsReader
from adapters.web.sites import ACCOUNT_PARAM, SITE_PARAM, SiteDirectory, UnknownSite, WebSite

HERE = Path(__file__).parent
OPENAPI_FILE = HERE / "openapi.json"
STATIC_DIR = HERE / "static"


@cache
def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI 3.1 description (`openapi.json`, written by hand)."""
    document: dict[str, Any] = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    return document


def account_json(name: str, homes: Sequence[WebSite]) -> dict[str, Any]:
    """One account in `GET /api/accounts`: its sites (by name, for `?site=`) and chargers,
    the quota day's calls (the account's: its sites share one planner), its policies and
    why it stopped."""
    sites = [home.board.current() for home in homes]
    fatal = next((s.fatal for s in sites if s.fatal), None)
    return {
        "account": name,
        "sites": len(sites),
        "site_names": [home.name for home in homes],
        "chargers": sum(len(s.chargers) for s in sites),
        "calls_today": sites[0].calls_today if sites else 0,
        "calls_left": sites[0].calls_left if sites else None,
        "policies": sorted({s.policy for s in sites}),
        "fatal": fatal,
    }


Endpoint = Callable[[Request], Awaitable[Response]]


def site_scoped(directory: SiteDirectory, endpoint_of: Callable[[WebSite], Endpoint]) -> Endpoint:
    """The endpoint that runs `endpoint_of(home)` for the home the request's
    `?account=&site=` select (`adapters.web.sites`); an unknown one is a 404 naming it."""

    async def endpoint(request: Request) -> Response:
        try:
            site = directory.pick(request.query_params)
        except UnknownSite as exc:
            return error(404, str(exc), exc.field)
        return await endpoint_of(site)(request)

    return endpoint


def home_healthz(home: WebSite) -> Endpoint:
    """`GET /healthz?account=&site=`: that home's health alone (`adapters.web.health`)."""

    async def endpoint(request: Request) -> Response:
        body, status = home_health(home)
        return JSONResponse(body, status_code=status)

    return endpoint


def create_app(
    sites: WebSite | Sequence[WebSite],
    *,
    token: str | None = None,
    sessions: SessionsReader | None = None,
) -> Starlette:
    """The app over `sites` (one home, or a fleet's every home: the first is the one a
    route without `?account=` shows): reads from each home's board, writes through its
    control guarded by `token`; `sessions` reads the recorded sessions (None:
    `GET /api/sessions` is empty). `/metrics` and `GET /api/accounts` cover every home.
    `app.state.events` are the homes' event streams (the server closes them first).
    """
    directory = SiteDirectory((sites,) if isinstance(sites, WebSite) else sites)
    apis = {site.key: Api(site, token, sessions) for site in directory.sites}
    events = {site.key: StatusEvents(site.board) for site in directory.sites}
    accounts = directory.accounts
    registry = metrics_registry(
        [(name, [(h.name, h.board) for h in homes]) for name, homes in accounts]
    )

    async def accounts_list(request: Request) -> Response:
        return JSONResponse({"accounts": [account_json(name, homes) for name, homes in accounts]})

    async def metrics(request: Request) -> Response:
        return Response(render(registry), media_type=CONTENT_TYPE)

    async def healthz(request: Request) -> Response:
        if ACCOUNT_PARAM in request.query_params or SITE_PARAM in request.query_params:
            return await site_scoped(directory, home_healthz)(request)
        body, status = process_health(directory.sites)
        return JSONResponse(body, status_code=status)

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document())

    def api(route: Callable[[Api], Endpoint]) -> Endpoint:
        return site_scoped(directory, lambda site: route(apis[site.key]))

    target = "/api/chargers/{device_id}/target"
    routes = [
        Route("/api/status", api(lambda a: a.status)),
        Route("/api/accounts", accounts_list),
        Route("/api/plan", api(lambda a: a.plan)),
        Route("/api/sessions", api(lambda a: a.sessions_json)),
        Route("/api/decisions", api(lambda a: a.decisions)),
        Route("/api/events", site_scoped(directory, lambda site: events[site.key].endpoint)),
        Route("/api/policy", api(lambda a: a.set_policy), methods=["POST"]),
        Route(target, api(lambda a: a.set_target), methods=["POST"]),
        Route(target, api(lambda a: a.clear_target), methods=["DELETE"]),
        Route("/api/openapi.json", openapi),
        Route("/metrics", metrics),
        Route("/healthz", healthz),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        Mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="page"),
    ]
    app = Starlette(routes=routes)
    app.state.events = tuple(events.values())
    return app


__all__ = ["OPENAPI_FILE", "STATIC_DIR", "create_app", "openapi_document"]
