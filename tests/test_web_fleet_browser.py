"""The dashboard of a fleet daemon in a real browser (Debian's Chromium, Playwright): the
site picker switches homes, a link opens one (a link to no home says so), and a write from
the page reaches that home.

The fleet is `tests.test_web_fleet`'s (acme: SIMA; zeta: SIMB in `site1`, SIMC in
`garage`), its daemons run to 11:00 on the simulated clock, served by the real web
server. Chromium and Playwright missing FAIL this test (as in
`test_web_dashboard_browser.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.served import free_port
from adapters.web.server import WebServer, web_server
from optimizer.daemon.targets import TARGET_POLL_S
from tests.test_fleet_targets import MORNING
from tests.test_web_dashboard_browser import chromium_page
from tests.test_web_fleet import Served

TOKEN = "fleet-browser-token"
ZONE = "Europe/Vienna"
"""The demo home's zone: the browser runs in it, so the page's times are the site's."""


@pytest.fixture
def page() -> Iterator[Any]:
    with chromium_page(viewport={"width": 900, "height": 1200}, timezone_id=ZONE) as opened:
        yield opened


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, WebServer]]:
    running = Served(tmp_path)
    server = web_server(
        f"127.0.0.1:{free_port()}",
        running.homes,
        database_url=f"sqlite:///{running.db}",
        token=TOKEN,
    )
    try:
        running.fleet.run_until(MORNING)
        server.start()
        yield running, server
    finally:
        server.stop()
        running.close()


def test_the_picker_switches_homes_and_the_page_steers_the_one_shown(
    page: Any, served: tuple[Served, WebServer]
) -> None:
    from playwright.sync_api import expect

    fleet, server = served
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept(TOKEN))  # the token, asked once
    picker = page.locator("#site-picker")

    # No selector: the first account's home, and a picker of every home.
    page.goto(server.url + "/")
    expect(page.locator("#charger-SIMA .device-id")).to_have_text("SIMA", timeout=20_000)
    expect(page.locator("#site-pick")).to_be_visible()
    expect(picker.locator("option")).to_have_text(["acme", "zeta / site1", "zeta / garage"])
    expect(picker).to_have_value("account=acme&site=site1")

    # Choosing zeta's garage opens its URL: SIMC only, the picker on it.
    picker.select_option(label="zeta / garage")
    expect(page).to_have_url(re.compile(r"/\?account=zeta&site=garage$"), timeout=20_000)
    expect(page.locator("#charger-SIMC .device-id")).to_have_text("SIMC", timeout=20_000)
    expect(page.locator("#chargers article")).to_have_count(1)
    expect(picker).to_have_value("account=zeta&site=garage")
    expect(page.locator("#target-device option")).to_have_text(["SIMC"])

    # A target from the page goes to the garage's charger, and only there.
    page.fill("#target-kwh", "6")
    page.click("#target-form button")
    expect(page.locator("#control-msg")).to_have_text(re.compile(r"^SIMC: 6 kWh by "))
    fleet.fleet.run_until(MORNING + timedelta(seconds=TARGET_POLL_S + 1))
    (simc,) = fleet.home("zeta", "garage").board.current().chargers
    assert simc.target_wh == 6000.0
    others = [c for h in fleet.homes if h.name != "garage" for c in h.board.current().chargers]
    assert all(c.target_wh != 6000.0 for c in others)

    # A link opens its home.
    page.goto(server.url + "/?account=zeta&site=site1")
    expect(page.locator("#charger-SIMB .device-id")).to_have_text("SIMB", timeout=20_000)
    expect(page.locator("#chargers article")).to_have_count(1)
    expect(picker).to_have_value("account=zeta&site=site1")

    # A link to a home that is not served says so in the server's words.
    page.goto(server.url + "/?account=nope")
    expect(page.locator("#link")).to_have_text(
        re.compile(r"no answer \(/api/status\?account=nope: 404: account: no account 'nope' here"),
        timeout=20_000,
    )
    assert script_errors == []
