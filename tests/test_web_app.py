"""The web app over a real daemon: the JSON API, its OpenAPI file, the token, the metrics.

The daemon is the demo's (the real client, `CloudCharger`s, `SqlStore`) against the
HTTP simulator, driven through 14 simulated hours by `run_cycles` so the board holds
readings, decisions, a forecast and a session. The app is tested with starlette's
`TestClient`; `tests/test_web_server.py` serves it for real with uvicorn.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from adapters.simulator.demo import demo_config, start_demo_simulator
from adapters.simulator.server import DEMO_API_KEY
from adapters.simulator.world import default_scenario
from adapters.storage import SqlStore
from adapters.v2c_cloud import V2CClient
from adapters.web.app import create_app, openapi_document
from adapters.web.sessions import SessionsReader
from adapters.web.sites import WebSite
from optimizer.daemon import Daemon
from optimizer.daemon.cloud import cloud_daemon
from optimizer.interfaces import ChargerAuthError
from optimizer.status import SiteControl, StatusBoard
from optimizer.status.plan import ChargerPlan, PlanStatus
from tests.conftest import make_plan

DEVICE = "SIM0001"
TOKEN = "web-t0ken-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Site:
    daemon: Daemon
    board: StatusBoard
    url: str

    def client(self, token: str | None = TOKEN) -> TestClient:
        home = WebSite(self.board, self.daemon.control, self.daemon.timezone)
        app = create_app(home, token=token, sessions=SessionsReader(self.url))
        return TestClient(app)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    scenario = default_scenario()
    running, _ = start_demo_simulator(scenario, seed=1, speed=0.001)
    clock = running.simulator.clock
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}"
    store = SqlStore(url)
    client = V2CClient(
        api_key=DEMO_API_KEY, base_url=running.base_url, clock=clock.now, sleep=lambda s: None
    )
    board = StatusBoard()
    daemon = cloud_daemon(demo_config(scenario, "target"), client, clock, store, board=board)
    daemon.run_cycles(clock.now() + timedelta(hours=14), running.simulator.jump_to)
    try:
        yield Site(daemon, board, url)
    finally:
        client.close()
        store.close()
        running.stop()


def schema_of(status: int, path: str, method: str = "get") -> dict[str, Any]:
    """The answer's schema from the OpenAPI file, its `$ref`s resolvable."""
    document = openapi_document()
    answer = document["paths"][path][method]["responses"][str(status)]
    schema = dict(next(iter(answer["content"].values()))["schema"])
    schema["components"] = document["components"]
    return schema


def check(response: Any, status: int, path: str, method: str = "get") -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    jsonschema.validate(body, schema_of(status, path, method))
    return body


# ----- the OpenAPI file --------------------------------------------------------------------


def test_every_route_is_in_the_openapi_file_and_nothing_else(site: Site) -> None:
    app = site.client().app
    served = {
        (route.path, method.lower())
        for route in app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route)
        for method in (route.methods or ()) - {"HEAD"}
    }
    described = {
        (path, method)
        for path, item in openapi_document()["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert served == described
    assert {r.path for r in app.routes if isinstance(r, Mount)} == {"/static", ""}  # type: ignore[attr-defined]
    jsonschema.Draft202012Validator.check_schema(
        openapi_document()["components"]["schemas"]["Status"]
    )


def test_the_openapi_file_is_served(site: Site) -> None:
    body = site.client().get("/api/openapi.json").json()
    assert body["openapi"].startswith("3.1")
    assert "/api/status" in body["paths"]


# ----- reads -------------------------------------------------------------------------------


def test_status_answers_the_site_as_the_schema_says(site: Site) -> None:
    body = check(site.client().get("/api/status"), 200, "/api/status")
    assert body["policy"] == "target"
    assert "solar_only" in body["policies"]
    assert body["calls_today"] > 0
    assert body["version"] == site.board.version
    (charger,) = body["chargers"]
    assert charger["device_id"] == DEVICE
    assert charger["state"] in {"disconnected", "connected", "charging"}
    assert charger["last_read_at"] is not None
    assert charger["last_decision"]["device_id"] == DEVICE
    assert body["pv_w"] is not None and body["house_w"] is not None


def test_plan_has_the_forecast_slots_and_the_chargers_goal(site: Site) -> None:
    body = check(site.client().get("/api/plan"), 200, "/api/plan")
    forecast = body["forecast"]
    assert forecast is not None and len(forecast["slots"]) > 10
    slot = forecast["slots"][0]
    assert slot["pessimistic_w"] <= slot["central_w"] + 1e-6
    (charger,) = body["chargers"]
    assert charger["device_id"] == DEVICE
    assert charger["policy"] == "target"
    assert charger["target_wh"] is not None  # the target policy's default
    assert charger["expects"]
    budget = body["budget"]
    assert budget["planned_reads"] == sum(h["reads"] for h in budget["reads_by_hour"]) > 0
    assert budget["planned_reads"] == site.board.current().planned_reads
    assert budget["spent"] <= site.board.current().calls_today  # as of the plan's time
    assert budget["as_of"] <= body["time"]


def test_the_plan_answer_carries_the_recorded_least_cost_plan() -> None:
    record = make_plan(0, device_id=DEVICE, reason="new forecast")
    charger = ChargerPlan(DEVICE, "target", 5000.0, record.departure, 0.0, None, "x", record)
    body = PlanStatus(record.created_at, None, (charger,)).to_json()
    jsonschema.validate(body, schema_of(200, "/api/plan"))
    stored = body["chargers"][0]["least_cost"]
    assert stored["reason"] == "new forecast"
    assert [s["mode"] for s in stored["slots"]] == ["off", "solar", "fixed", "fixed"]
    assert stored["grid_wh"] == sum(s["grid_wh"] for s in stored["slots"]) == 1840.0


def test_the_plan_answer_has_the_slot_length_and_why_a_charger_has_no_plan() -> None:
    record = make_plan(0, device_id=DEVICE)
    planned = ChargerPlan(DEVICE, "target", 5000.0, None, 0.0, None, None, record, True)
    cases = [
        (planned, None),
        (replace(planned, least_cost=None), "no plan yet: the next cycle makes one"),
        (replace(planned, least_cost=None, session_energy_wh=None), "no plan: no car plugged in"),
        (replace(planned, least_cost=None, target_wh=None), "no plan: no target set"),
        (
            replace(planned, least_cost=None, policy="solar_only", makes_plans=False),
            "no plan: the solar_only policy makes none "
            '(policy target with planner = "least_cost" does)',
        ),
    ]
    body = PlanStatus(record.created_at, None, tuple(c for c, _ in cases)).to_json()
    jsonschema.validate(body, schema_of(200, "/api/plan"))
    assert [c["no_plan"] for c in body["chargers"]] == [why for _, why in cases]
    assert [c["makes_plans"] for c in body["chargers"]] == [True] * 4 + [False]
    assert body["chargers"][0]["least_cost"]["step_s"] == record.plan.step_s == 900.0


def test_the_daemon_says_whether_its_policy_makes_plans(site: Site) -> None:
    (charger,) = check(site.client().get("/api/plan"), 200, "/api/plan")["chargers"]
    assert charger["policy"] == "target" and charger["makes_plans"] is True  # least_cost
    assert not (charger["no_plan"] or "").startswith("no plan: the target policy makes none")


def test_sessions_are_the_figures_of_the_sessions_command(site: Site) -> None:
    body = check(site.client().get("/api/sessions"), 200, "/api/sessions")
    with SqlStore(site.url, create_if_missing=False) as store:
        recorded = store.sessions()
    assert len(body["sessions"]) == len(recorded) >= 1
    first, record = body["sessions"][0], recorded[0]
    assert first["device_id"] == record.device_id
    assert first["energy_kwh"] == pytest.approx(record.energy_wh / 1000)
    assert first["solar_kwh"] == pytest.approx(record.solar_wh / 1000)
    only = site.client().get("/api/sessions", params={"device_id": "nope"}).json()
    assert only == {"sessions": []}


def test_decisions_newest_first_with_a_limit(site: Site) -> None:
    client = site.client()
    body = check(client.get("/api/decisions", params={"limit": 3}), 200, "/api/decisions")
    times = [d["time"] for d in body["decisions"]]
    assert len(times) == 3
    assert times == sorted(times, reverse=True)
    assert len(client.get("/api/decisions").json()["decisions"]) == 50


@pytest.mark.parametrize("limit", ["abc", "0", "201", "-1", "1.5"])
def test_a_bad_limit_is_422_naming_limit(site: Site, limit: str) -> None:
    response = site.client().get("/api/decisions", params={"limit": limit})
    body = check(response, 422, "/api/decisions")
    assert body["field"] == "limit"
    assert body["error"].startswith("limit: ")


def test_healthz_and_the_placeholder_page(site: Site) -> None:
    client = site.client()
    assert check(client.get("/healthz"), 200, "/healthz")["ok"] is True
    page = client.get("/")
    assert page.status_code == 200
    assert "v2c-solar" in page.text
    assert client.get("/static/index.html").status_code == 200


# ----- writes ------------------------------------------------------------------------------


def test_writes_without_a_configured_token_are_403(site: Site) -> None:
    client = site.client(token=None)
    response = client.post("/api/policy", json={"name": "fast"}, headers=AUTH)
    assert check(response, 403, "/api/policy", "post")["error"].count("V2C_SOLAR_WEB_TOKEN") == 1
    response = client.post(f"/api/chargers/{DEVICE}/target", json={}, headers=AUTH)
    assert response.status_code == 403
    assert site.daemon.control.pending == 0


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic x"}],
)
def test_writes_with_a_missing_or_wrong_token_are_401(site: Site, headers: dict[str, str]) -> None:
    response = site.client().post("/api/policy", json={"name": "fast"}, headers=headers)
    check(response, 401, "/api/policy", "post")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert site.daemon.control.pending == 0


def test_a_policy_switch_is_queued_then_applied_by_the_daemon(site: Site) -> None:
    client = site.client()
    response = client.post("/api/policy", json={"name": "solar_only"}, headers=AUTH)
    assert check(response, 202, "/api/policy", "post") == {"accepted": True, "policy": "solar_only"}
    assert site.board.current().policy == "target"  # not yet: the daemon applies it
    site.daemon.apply_control()
    assert client.get("/api/status").json()["policy"] == "solar_only"
    client.post("/api/policy", json={"name": "target"}, headers=AUTH)
    site.daemon.apply_control()
    assert site.board.current().policy == "target"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": 3}, "name"),
        ({"name": "turbo"}, "name"),
        ([1, 2], "body"),
    ],
)
def test_a_bad_policy_body_is_422_naming_the_field(site: Site, body: Any, field: str) -> None:
    response = site.client().post("/api/policy", json=body, headers=AUTH)
    answer = check(response, 422, "/api/policy", "post")
    assert answer["field"] == field
    assert answer["error"].startswith(f"{field}: ")
    assert "\n" not in answer["error"]


def test_a_target_is_queued_and_reaches_the_charger(site: Site) -> None:
    client = site.client()
    now = site.board.current().time
    departure = (now + timedelta(hours=10)).replace(microsecond=0)
    path = f"/api/chargers/{DEVICE}/target"
    body = {"energy_kwh": 12.5, "departure": departure.isoformat()}
    answer = check(
        client.post(path, json=body, headers=AUTH), 202, "/api/chargers/{device_id}/target", "post"
    )
    assert answer["energy_kwh"] == 12.5
    site.daemon.apply_control()
    charger = client.get("/api/status").json()["chargers"][0]
    assert charger["target_wh"] == 12_500.0
    assert datetime.fromisoformat(charger["departure"]) == departure
    cleared = client.delete(path, headers=AUTH)
    assert cleared.status_code == 202
    site.daemon.apply_control()
    assert site.daemon.controllers[DEVICE].sessions.target_wh is None


def test_a_departure_as_hh_mm_is_the_next_such_local_time(site: Site) -> None:
    client = site.client()
    now = site.board.current().time
    local = now.astimezone(site.daemon.timezone)
    hhmm = (local - timedelta(minutes=1)).strftime("%H:%M")  # a minute ago: tomorrow
    response = client.post(
        f"/api/chargers/{DEVICE}/target", json={"energy_kwh": 5, "departure": hhmm}, headers=AUTH
    )
    departure = datetime.fromisoformat(response.json()["departure"])
    assert timedelta(hours=23) < departure - now <= timedelta(hours=24)
    assert departure.astimezone(site.daemon.timezone).strftime("%H:%M") == hhmm
    site.daemon.control.take()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"departure": "07:30"}, "energy_kwh"),
        ({"energy_kwh": "12", "departure": "07:30"}, "energy_kwh"),
        ({"energy_kwh": True, "departure": "07:30"}, "energy_kwh"),
        ({"energy_kwh": -1, "departure": "07:30"}, "energy_kwh"),
        ({"energy_kwh": 500, "departure": "07:30"}, "energy_kwh"),
        ({"energy_kwh": 10}, "departure"),
        ({"energy_kwh": 10, "departure": "25:99"}, "departure"),
        ({"energy_kwh": 10, "departure": "tomorrow"}, "departure"),
        ({"energy_kwh": 10, "departure": "2020-01-01T07:30:00+00:00"}, "departure"),
    ],
)
def test_a_bad_target_body_is_422_naming_the_field(site: Site, body: Any, field: str) -> None:
    response = site.client().post(f"/api/chargers/{DEVICE}/target", json=body, headers=AUTH)
    answer = check(response, 422, "/api/chargers/{device_id}/target", "post")
    assert answer["field"] == field, answer
    assert answer["error"].startswith(f"{field}: ")
    assert site.daemon.control.pending == 0


def test_an_unknown_charger_is_404(site: Site) -> None:
    client = site.client()
    body = {"energy_kwh": 10, "departure": "07:30"}
    response = client.post("/api/chargers/NOPE/target", json=body, headers=AUTH)
    assert check(response, 404, "/api/chargers/{device_id}/target", "post")["field"] == "device_id"
    assert client.delete("/api/chargers/NOPE/target", headers=AUTH).status_code == 404


# ----- metrics and secrets -----------------------------------------------------------------


def test_metrics_parse_and_match_the_status(site: Site) -> None:
    client = site.client()
    text = client.get("/metrics")
    assert text.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(text.text)}
    status = site.board.current()

    samples = [s for f in families.values() for s in f.samples]

    def value(name: str, **labels: str) -> float:
        # a single home is the site 'site1' of the account 'default', as in a fleet
        labels = {"account": "default", "site": "site1", **labels}
        found = [s.value for s in samples if s.name == name and s.labels == labels]
        assert len(found) == 1, (name, labels)
        return found[0]

    def account_value(name: str) -> float:
        found = [s.value for s in samples if s.name == name]
        assert [s.labels for s in samples if s.name == name] == [{"account": "default"}]
        return found[0]

    charger = status.chargers[0]
    assert value("v2c_solar_charger_power_watts", device_id=DEVICE) == charger.power_w
    assert value("v2c_solar_charger_current_amperes", device_id=DEVICE) == pytest.approx(
        charger.current_a
    )
    assert value("v2c_solar_pv_power_watts") == status.pv_w
    assert value("v2c_solar_house_power_watts") == status.house_w
    assert account_value("v2c_solar_calls_today") == status.calls_today  # the quota: per account
    assert account_value("v2c_solar_calls_left") == status.calls_left
    assert value("v2c_solar_decisions_total") == status.decisions_made > 0
    assert value("v2c_solar_commands_total") == status.commands_sent
    assert value("v2c_solar_last_read_age_seconds", device_id=DEVICE) >= 0
    assert value("v2c_solar_policy", policy=status.policy) == 1
    assert families["v2c_solar_errors"].type == "counter"
    assert families["v2c_solar_decisions"].type == "counter"
    assert all(name.startswith("v2c_solar_") for name in families)


def test_two_apps_keep_their_metrics_apart(site: Site) -> None:
    other = StatusBoard()
    app = create_app(WebSite(other, site.daemon.control))
    text = TestClient(app).get("/metrics").text
    assert "device_id=" not in text  # the empty board's registry, not the site's


def test_the_api_key_is_in_no_answer(site: Site) -> None:
    client = site.client()
    paths = [
        "/api/status",
        "/api/plan",
        "/api/sessions",
        "/api/decisions?limit=200",
        "/api/openapi.json",
        "/metrics",
        "/healthz",
        "/",
    ]
    answers = [client.get(p).text for p in paths]
    answers.append(client.post("/api/policy", json={"name": "x"}, headers=AUTH).text)
    answers.append(repr(site.daemon.control) + repr(client.app))
    assert all(DEMO_API_KEY not in a for a in answers)
    assert json.dumps(site.board.current().to_json()).count(DEMO_API_KEY) == 0


def test_a_revoked_key_is_fatal_in_the_status_and_healthz(tmp_path: Path) -> None:
    from adapters.simulator.server import FaultConfig

    scenario = default_scenario()
    start = scenario.start_utc
    faults = FaultConfig(revoke_keys_at=start + timedelta(hours=1))
    running, _ = start_demo_simulator(scenario, seed=1, speed=0.001, faults=faults)
    clock = running.simulator.clock
    store = SqlStore(f"sqlite:///{tmp_path / 'r.db'}")
    client = V2CClient(api_key=DEMO_API_KEY, base_url=running.base_url, clock=clock.now)
    board = StatusBoard()
    try:
        daemon = cloud_daemon(demo_config(scenario, None), client, clock, store, board=board)
        with pytest.raises(ChargerAuthError):
            daemon.run_cycles(start + timedelta(hours=3), running.simulator.jump_to)
        assert daemon.fatal is not None
        app = TestClient(create_app(WebSite(board, daemon.control)))
        status = app.get("/api/status").json()
        assert status["fatal"].startswith("the V2C Cloud refused the API key (401)")
        assert DEMO_API_KEY not in status["fatal"]
        assert app.get("/healthz").status_code == 503
        writes = TestClient(create_app(WebSite(board, daemon.control), token=TOKEN))
        refused = writes.post("/api/policy", json={"name": "fast"}, headers=AUTH)
        answer = check(refused, 503, "/api/policy", "post")
        assert answer["error"].startswith("daemon: the daemon has stopped")
        target = {"energy_kwh": 10, "departure": "07:30"}
        refused = writes.post(f"/api/chargers/{DEVICE}/target", json=target, headers=AUTH)
        check(refused, 503, "/api/chargers/{device_id}/target", "post")
        refused = writes.delete(f"/api/chargers/{DEVICE}/target", headers=AUTH)
        check(refused, 503, "/api/chargers/{device_id}/target", "delete")
        assert daemon.control.pending == 0  # nothing accepted that would never be applied
    finally:
        client.close()
        store.close()
        running.stop()


def test_accounts_are_listed_and_label_every_series(site: Site) -> None:
    """A fleet's web app: `/api/accounts` lists each account, `/metrics` labels by it."""
    other = StatusBoard()  # an account whose daemon has published nothing yet
    homes = (
        WebSite(site.board, site.daemon.control, account="acme"),
        WebSite(other, SiteControl(("X",), ("off",)), account="zeta", name="garage"),
    )
    app = create_app(homes)
    client = TestClient(app)
    listed = check(client.get("/api/accounts"), 200, "/api/accounts")["accounts"]
    status = site.board.current()
    assert [a["account"] for a in listed] == ["acme", "zeta"]
    assert listed[0]["chargers"] == len(status.chargers) and listed[0]["sites"] == 1
    assert [a["site_names"] for a in listed] == [["site1"], ["garage"]]
    assert listed[0]["calls_today"] == status.calls_today and listed[0]["fatal"] is None
    families = text_string_to_metric_families(client.get("/metrics").text)
    samples = [s for f in families for s in f.samples]
    assert {s.labels["account"] for s in samples} == {"acme", "zeta"}
    sites = {(s.labels["account"], s.labels.get("site")) for s in samples if "site" in s.labels}
    assert sites == {("acme", "site1"), ("zeta", "garage")}
    calls = {s.labels["account"]: s.value for s in samples if s.name == "v2c_solar_calls_today"}
    assert calls == {"acme": status.calls_today, "zeta": other.current().calls_today}
    single = {
        s.labels["account"]
        for f in text_string_to_metric_families(site.client().get("/metrics").text)
        for s in f.samples
    }
    assert single == {"default"}
