"""`GET /healthz` over a fleet: one stopped account does not make the process unhealthy."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.testclient import TestClient

from adapters.web.app import create_app
from adapters.web.sites import WebSite
from optimizer.status import SiteControl, StatusBoard
from optimizer.status.snapshot import SiteStatus
from tests.test_web_app import check

T0 = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
REFUSED = "the V2C Cloud refused the API key (401)"


def home(account: str, name: str, fatal: str | None = None) -> WebSite:
    board = StatusBoard()
    board.publish(
        SiteStatus(
            time=T0, policy="solar_only", policies=("solar_only",), pv_w=None, house_w=None,
            calls_today=0, calls_left=1000, planned_reads=None, chargers=(), decisions=(),
            fatal=fatal,
        )
    )  # fmt: skip
    control = SiteControl((), ("solar_only",), now=lambda: T0)
    return WebSite(board, control, account=account, name=name)


def test_one_stopped_account_leaves_the_fleet_healthy_and_names_it() -> None:
    app = TestClient(create_app([home("acme", "site1"), home("zeta", "garage", REFUSED)]))
    body = check(app.get("/healthz"), 200, "/healthz")
    assert body["ok"] is True
    assert body["fatal"] == f"1 of 2 homes stopped; account 'zeta' site 'garage': {REFUSED}"
    assert check(app.get("/healthz?account=zeta"), 503, "/healthz")["fatal"] == REFUSED
    assert check(app.get("/healthz?account=acme&site=site1"), 200, "/healthz")["fatal"] is None
    missing = check(app.get("/healthz?account=nobody"), 404, "/healthz")
    assert "nobody" in missing["error"]


def test_a_fleet_whose_every_home_stopped_is_unhealthy() -> None:
    app = TestClient(create_app([home("acme", "site1", REFUSED), home("zeta", "x", REFUSED)]))
    body = check(app.get("/healthz"), 503, "/healthz")
    assert body["ok"] is False and body["fatal"].startswith("2 of 2 homes stopped")


def test_a_single_home_answers_as_before() -> None:
    app = TestClient(create_app(home("default", "site1", REFUSED)))
    assert check(app.get("/healthz"), 503, "/healthz")["fatal"] == REFUSED
    healthy = TestClient(create_app(home("default", "site1")))
    assert check(healthy.get("/healthz"), 200, "/healthz") == {
        "ok": True, "fatal": None, "version": 1,
    }  # fmt: skip
