"""The stored least-cost plan on the dashboard, in a real browser (Debian's Chromium, Playwright).

The daemon is the one `run` starts, on a simulated clock over the in-process world
(`tests.test_daemon_targets.Home`), recording into an SQLite file and publishing on a
board that the real web server serves. Before the car comes the page must say why there
is no plan; once a target is stated with `v2c-solar target` and the daemon has replanned,
it must draw the plan the store holds: one table row per slot to departure with its
figures, the target, the expected cost, the replan's time and reason, and a chart whose
legend, under the cursor, shows one of the plan's slots.
Chromium and Playwright missing FAIL this test (as in `test_web_dashboard_browser.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from adapters.served import free_port
from adapters.web.server import WebServer, web_server
from adapters.web.sites import WebSite
from optimizer.daemon import Daemon
from optimizer.daemon.targets import TARGET_POLL_S
from optimizer.planning.record import ReplanReason
from optimizer.status.board import StatusBoard
from tests.test_daemon_targets import DEVICE, MORNING, Home
from tests.test_web_dashboard_browser import chromium_page

ZONE = "Europe/Vienna"
"""The demo home's zone: the browser runs in it, so the page's times are the site's."""
TZ = ZoneInfo(ZONE)
CHEAP_AFTERNOON = {
    "provider": "day_night",
    "day_night": {
        "day_eur_per_kwh": 0.31,
        "night_eur_per_kwh": 0.12,
        "night_start": "13:00",
        "night_end": "15:00",
    },
}
"""Two cheap hours before the departure: the plan takes the grid energy there."""


@pytest.fixture
def page() -> Iterator[Any]:
    """A page in the home's zone with a British (24 h) clock."""
    viewport = {"width": 900, "height": 1200}
    with chromium_page(viewport=viewport, locale="en-GB", timezone_id=ZONE) as opened:
        yield opened


class Served:
    """The home's daemon (publishing on a board) and the web server reading that board."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.board = StatusBoard()
        self.daemon: Daemon = home.daemon(self.board)
        self.daemon.run_due(home.clock.now())
        site = WebSite(self.board, self.daemon.control, home.config.site.tz)
        self.server: WebServer = web_server(f"127.0.0.1:{free_port()}", site, database_url=home.url)
        self.server.start()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    prices = CHEAP_AFTERNOON | {"cache_dir": str(tmp_path / "prices")}
    home = Home(f"sqlite:///{tmp_path / 'home.db'}", prices=prices)
    running = Served(home)
    try:
        yield running
    finally:
        running.server.stop()
        running.daemon.shutdown()
        home.store.close()


def test_the_page_says_why_there_is_no_plan_then_draws_the_stored_one(
    page: Any, served: Served
) -> None:
    from playwright.sync_api import expect

    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    article = page.locator(f"#charge-plan-{DEVICE}")

    # Midnight: no car yet, so no plan, and the page says so (no chart, no table).
    page.goto(served.server.url + "/")
    expect(article.locator(".plan-empty")).to_have_text(
        "no plan: no car plugged in", timeout=20_000
    )
    expect(article.locator(".plan-chart")).to_be_hidden()
    expect(page.locator("#site-pick")).to_be_hidden()  # one home: no site picker
    labels = page.locator("#plan-chart .u-legend .u-series th")
    expect(labels.first).to_have_text(re.compile("Time"), timeout=20_000)
    assert "car plan" not in labels.all_inner_texts()

    # The car came at 08:00; a target from the shell; the daemon applies it and replans.
    home = served.home
    served.daemon.run_cycles(MORNING, home.advance)
    home.target_from_the_shell(30.0, "17:00")
    served.daemon.run_cycles(MORNING + timedelta(seconds=TARGET_POLL_S + 1), home.advance)
    record = home.store.latest_plan(DEVICE)
    assert record is not None and record.reason is ReplanReason.TARGET
    now = served.board.current().time
    step = timedelta(seconds=record.plan.step_s)
    ahead = [s for s in record.plan.slots if s.start + step > now]
    assert len(ahead) > 4

    page.reload()
    expect(article.locator(".plan-empty")).to_have_text("", timeout=20_000)
    expect(article.locator(".plan-target")).to_have_text(re.compile(r"^30\.00 kWh by .*17:00$"))
    expect(article.locator(".plan-cost")).to_have_text(f"{record.plan.cost_eur:.2f} EUR")
    grid, sun = record.plan.grid_wh / 1000, record.plan.solar_wh / 1000
    expect(article.locator(".plan-energy")).to_have_text(f"{grid:.2f} kWh / {sun:.2f} kWh")
    made = f"{record.created_at.astimezone(TZ):%H:%M}"
    expect(article.locator(".plan-replan")).to_have_text(re.compile(rf"{made} \(target changed\)$"))

    # Today's chart draws the cars' planned power and the prices planned with beside the sun.
    expect(labels.filter(has_text="car plan")).to_have_count(1)
    expect(labels.filter(has_text="price")).to_have_count(1)

    # The slots to departure: one row each, their figures as the store holds them.
    article.locator(".plan-slots summary").click()
    expect(article.locator(".plan-slots summary")).to_have_text(f"{len(ahead)} slots to departure")
    rows = article.locator(".plan-slots tbody tr")
    expect(rows).to_have_count(len(ahead))
    for i in (0, len(ahead) // 2, len(ahead) - 1):
        slot = ahead[i]
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert cells[0] == f"{slot.start.astimezone(TZ):%H:%M}"
        assert cells[3:] == [
            f"{slot.from_grid_wh / 1000:.2f}",
            f"{slot.from_solar_wh / 1000:.2f}",
            f"{slot.import_eur_per_kwh:.3f}",
            f"{slot.cost_eur:.3f}",
        ]

    # The chart: drawn over the slots ahead; under the cursor its legend shows one of them.
    chart = article.locator(".plan-chart")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(chart).to_have_attribute("data-slots", str(len(ahead)))
    over = chart.locator(".u-over")
    box = over.bounding_box()
    assert box is not None and box["width"] > 100
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    values = chart.locator(".u-legend .u-series .u-value").all_inner_texts()
    hours = 3600 / record.plan.step_s
    shown = {
        (
            f"{s.from_solar_wh * hours / 1000:.2f} kW",
            f"{s.from_grid_wh * hours / 1000:.2f} kW",
            f"{s.import_eur_per_kwh:.3f} EUR/kWh",
        )
        for s in ahead
    }
    assert tuple(values[1:4]) in shown, values

    # Later, the plan in force has slots behind the clock: only those ahead are shown.
    served.daemon.run_cycles(MORNING + timedelta(minutes=40, seconds=1), home.advance)
    later = home.store.latest_plan(DEVICE)
    assert later is not None
    now = served.board.current().time
    ahead = [s for s in later.plan.slots if s.start + step > now]
    assert 0 < len(ahead) < len(later.plan.slots)
    page.reload()
    article.locator(".plan-slots summary").click()
    expect(rows).to_have_count(len(ahead), timeout=20_000)
    first = f"{ahead[0].start.astimezone(TZ):%H:%M}"
    expect(rows.first.locator("td").first).to_have_text(first)
    made = f"{later.created_at.astimezone(TZ):%H:%M}"
    expect(article.locator(".plan-replan")).to_have_text(
        re.compile(rf"{made} \({re.escape(later.reason.value)}\)$")
    )
    assert script_errors == []
