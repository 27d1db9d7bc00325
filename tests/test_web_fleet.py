"""One web app over a fleet daemon: every site-scoped route shows and steers the home
`?account=NAME&site=NAME` selects, and only that home.

The daemons are the fleet's (`tests.test_fleet_targets.Fleet`: real clients over one
HTTP pool against the demo simulator, one worker per account, one SQLite file), with
boards: acme has one home (SIMA), zeta two (SIMB in `site1`, SIMC in `garage`). The
app is the one `run --config fleet.toml` serves (`web_sites`), tested with starlette's
`TestClient`, and its event streams over a real uvicorn server.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from adapters.served import free_port
from adapters.simulator.world import default_scenario
from adapters.web.app import create_app
from adapters.web.server import web_server
from adapters.web.sessions import SessionsReader
from adapters.web.sites import WebSite
from optimizer.cli.run_fleet import web_sites
from optimizer.daemon.targets import TARGET_POLL_S
from tests.test_fleet_targets import MORNING, SITE, Fleet
from tests.test_fleet_targets import write_fleet as write_fleet_of_two
from tests.test_web_app import check
from tests.test_web_events import events

TOKEN = "fleet-web-t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ZETA = "account=zeta"
GARAGE = "account=zeta&site=garage"

GARAGE_SITE = '\n[[accounts.sites]]\nconfig = "g.toml"\n'
"""zeta's second home, after `tests.test_fleet_targets`'s fleet file (zeta comes last)."""


def write_fleet(folder: Path) -> Path:
    """acme: SIMA; zeta: SIMB (unnamed: `site1`) and SIMC in the site named `garage`."""
    path = write_fleet_of_two(folder)
    site = default_scenario().site
    place = {"latitude": site.latitude, "longitude": site.longitude, "timezone": site.timezone}
    text = SITE.format(device="SIMC", **place).replace("[site]\n", '[site]\nname = "garage"\n', 1)
    (folder / "g.toml").write_text(text)
    path.write_text(path.read_text() + GARAGE_SITE)
    return path


class Served:
    """The fleet, its homes as the web app selects them, and the app over them."""

    def __init__(self, folder: Path) -> None:
        self.fleet = Fleet(write_fleet(folder), boards=True, devices=("SIMA", "SIMB", "SIMC"))
        self.db = folder / "fleet.db"
        self.homes: list[WebSite] = web_sites(list(self.fleet.accounts.values()), self.fleet.specs)
        self.sessions = SessionsReader(f"sqlite:///{self.db}")
        self.client = TestClient(create_app(self.homes, token=TOKEN, sessions=self.sessions))

    def home(self, account: str, name: str) -> WebSite:
        return next(h for h in self.homes if h.key == (account, name))

    def close(self) -> None:
        self.sessions.close()
        self.fleet.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    running = Served(tmp_path_factory.mktemp("fleet-web"))
    try:
        running.fleet.run_until(MORNING)  # the cars came at 08:00: sessions, decisions
        yield running
    finally:
        running.close()


def devices_in(body: dict[str, Any], key: str = "chargers") -> set[str]:
    return {entry["device_id"] for entry in body[key]}


def test_accounts_list_each_accounts_sites_by_name(served: Served) -> None:
    listed = check(served.client.get("/api/accounts"), 200, "/api/accounts")["accounts"]
    assert [(a["account"], a["site_names"], a["chargers"]) for a in listed] == [
        ("acme", ["site1"], 1),
        ("zeta", ["site1", "garage"], 2),
    ]


@pytest.mark.parametrize(
    ("query", "device"),
    [
        ("", "SIMA"),
        ("account=acme", "SIMA"),
        (ZETA, "SIMB"),
        (f"{ZETA}&site=site1", "SIMB"),
        (GARAGE, "SIMC"),
    ],
)
def test_each_route_shows_the_selected_home_only(served: Served, query: str, device: str) -> None:
    get = served.client.get
    status = check(get(f"/api/status?{query}"), 200, "/api/status")
    assert devices_in(status) == {device}
    plan = check(get(f"/api/plan?{query}"), 200, "/api/plan")
    assert devices_in(plan) == {device}
    decisions = check(get(f"/api/decisions?{query}&limit=200"), 200, "/api/decisions")
    assert decisions["decisions"] and devices_in(decisions, "decisions") == {device}
    sessions = check(get(f"/api/sessions?{query}"), 200, "/api/sessions")
    assert sessions["sessions"] and devices_in(sessions, "sessions") == {device}
    account, site = served.homes[0].key if not query else _key(query)
    assert status == served.home(account, site).board.current().to_json()


def _key(query: str) -> tuple[str, str]:
    params = dict(part.split("=") for part in query.split("&"))
    return params["account"], params.get("site", "site1")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/status"),
        ("get", "/api/plan"),
        ("get", "/api/sessions"),
        ("get", "/api/decisions"),
        ("get", "/api/events"),
        ("post", "/api/policy"),
        ("post", "/api/chargers/{device_id}/target"),
        ("delete", "/api/chargers/{device_id}/target"),
    ],
)
@pytest.mark.parametrize(
    ("query", "field", "named"),
    [
        ("account=nope", "account", "account: no account 'nope' here"),
        ("account=zeta&site=attic", "site", "site: no site 'attic' in account 'zeta'"),
        ("site=garage", "site", "site: no site 'garage' in account 'acme'"),
    ],
)
def test_an_unknown_account_or_site_is_a_404_naming_it(
    served: Served, method: str, path: str, query: str, field: str, named: str
) -> None:
    url = path.format(device_id="SIMB") + "?" + query
    body = {"name": "fast"} if path.endswith("policy") else {"energy_kwh": 5, "departure": "17:00"}
    send = getattr(served.client, method)
    answer = send(url, headers=AUTH) if method != "post" else send(url, json=body, headers=AUTH)
    refused = check(answer, 404, path, method)
    assert refused["field"] == field
    assert refused["error"].startswith(named) and "\n" not in refused["error"]
    assert all(h.control.pending == 0 for h in served.homes)


def test_a_charger_of_another_home_is_404_and_nothing_is_queued(served: Served) -> None:
    target = {"energy_kwh": 5, "departure": "17:00"}
    answer = served.client.post(f"/api/chargers/SIMB/target?{GARAGE}", json=target, headers=AUTH)
    refused = check(answer, 404, "/api/chargers/{device_id}/target", "post")
    assert refused["field"] == "device_id" and "'SIMB'" in refused["error"]
    answer = served.client.post("/api/chargers/SIMB/target", json=target, headers=AUTH)
    assert answer.status_code == 404  # no selector: acme's home, which has no SIMB
    assert all(h.control.pending == 0 for h in served.homes)


def test_writes_still_need_the_token(served: Served) -> None:
    answer = served.client.post(f"/api/policy?{GARAGE}", json={"name": "fast"})
    assert check(answer, 401, "/api/policy", "post")["error"] == "missing or wrong bearer token"
    assert all(h.control.pending == 0 for h in served.homes)


def test_a_home_streams_its_own_events(served: Served) -> None:
    server = web_server(f"127.0.0.1:{free_port()}", served.homes)
    server.start()
    try:
        for query, device in (("", "SIMA"), (GARAGE, "SIMC")):
            with httpx.stream("GET", f"{server.url}/api/events?{query}", timeout=10) as answer:
                first = next(events(answer.iter_lines()))
            assert devices_in(json.loads(first["data"])) == {device}
        missing = httpx.get(f"{server.url}/api/events?account=nope", timeout=10)
        assert missing.status_code == 404 and "'nope'" in missing.json()["error"]
    finally:
        server.stop()


def test_metrics_label_each_home_by_site_and_the_quota_by_account(served: Served) -> None:
    """zeta's two homes are two series each (`site1`, `garage`), each its own board's
    figures; its chargers are labelled with their home; the calls are one series per
    account (one planner spends zeta's quota for both homes)."""
    families = text_string_to_metric_families(served.client.get("/metrics").text)
    samples = [s for f in families for s in f.samples]

    def by_home(name: str) -> dict[tuple[str, str], float]:
        found = [s for s in samples if s.name == name]
        homes = {(s.labels["account"], s.labels["site"]): s.value for s in found}
        assert len(homes) == len(found), name  # one series per home
        return homes

    keys = [h.key for h in served.homes]
    assert keys == [("acme", "site1"), ("zeta", "site1"), ("zeta", "garage")]
    statuses = {key: served.home(*key).board.current() for key in keys}
    assert by_home("v2c_solar_decisions_total") == {
        k: float(s.decisions_made) for k, s in statuses.items()
    }
    assert all(s.decisions_made > 0 for s in statuses.values())
    assert by_home("v2c_solar_pv_power_watts") == {k: s.pv_w for k, s in statuses.items()}
    chargers = {
        (s.labels["account"], s.labels["site"], s.labels["device_id"])
        for s in samples
        if s.name == "v2c_solar_charger_power_watts"
    }
    assert chargers == {
        ("acme", "site1", "SIMA"),
        ("zeta", "site1", "SIMB"),
        ("zeta", "garage", "SIMC"),
    }
    calls = [s for s in samples if s.name == "v2c_solar_calls_today"]
    assert [s.labels for s in calls] == [{"account": "acme"}, {"account": "zeta"}]
    zeta = statuses["zeta", "site1"].calls_today
    assert [s.value for s in calls] == [statuses["acme", "site1"].calls_today, zeta]


def test_writes_reach_the_selected_home_only(served: Served) -> None:
    """Last in this module: it changes the fleet. A target for zeta's garage charger and a
    policy for zeta's site1 are applied there, kept under zeta's settings (where
    `v2c-solar target --account zeta` keeps them), and acme's home is untouched."""
    acme, site1 = (served.home(*k) for k in (("acme", "site1"), ("zeta", "site1")))
    garage = served.home("zeta", "garage")
    acme_before = acme.board.current()
    target = {"energy_kwh": 5, "departure": "17:00"}
    answer = served.client.post(f"/api/chargers/SIMC/target?{GARAGE}", json=target, headers=AUTH)
    assert check(answer, 202, "/api/chargers/{device_id}/target", "post")["device_id"] == "SIMC"
    answer = served.client.post(f"/api/policy?{ZETA}", json={"name": "fast"}, headers=AUTH)
    check(answer, 202, "/api/policy", "post")

    served.fleet.run_until(MORNING + timedelta(seconds=TARGET_POLL_S + 1))
    (simc,) = garage.board.current().chargers
    assert simc.target_wh == 5000.0
    assert simc.departure is not None
    assert simc.departure.astimezone(UTC) == datetime(2026, 6, 21, 15, 0, tzinfo=UTC)
    assert site1.board.current().policy == "fast"
    assert garage.board.current().policy != "fast"  # the policy is the home's, not the account's
    acme_now = acme.board.current()
    assert acme_now.policy == acme_before.policy
    goals = [(c.target_wh, c.departure) for c in acme_now.chargers]
    assert goals == [(c.target_wh, c.departure) for c in acme_before.chargers]
    assert acme_now.chargers[0].target_wh != 5000.0
    with sqlite3.connect(served.db) as conn:
        keys = [k for (k,) in conn.execute("SELECT key FROM settings WHERE key LIKE '%:target/%'")]
    assert keys == ["zeta:target/SIMC"]
