"""The dashboard in a real browser: Debian's headless Chromium, driven by Playwright, during a demo.

`v2c-solar demo --web 127.0.0.1:PORT` runs as a user would; the page must show SIM0001 with
a power figure, its figures must change while the demo runs, a write with a wrong token
must come back as one line, one with the right token must change the policy and set a
target, and the page must raise no script error.
Chromium is Debian's (`/usr/bin/chromium`, installed by `make test`); Playwright never
downloads a browser. A missing Chromium or Playwright FAILS this test: it never skips.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.served import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Headless, no sandbox (CI is root), nothing that calls home."""

TOKEN_ENV = "V2C_SOLAR_WEB_TOKEN"
TOKEN = "browser-test-token"
UPDATE_TIMEOUT_MS = 60_000
"""How long a figure may take to change: the whole demo (12 h at 720x) lasts 60 wall s."""


def wait_for_status(url: str, demo: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    """Until `url` answers 200 (polling, bounded); fails with the demo's output if it died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if demo.poll() is not None:
            pytest.fail(f"the demo exited {demo.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} did not answer within {timeout_s:g} s: {log.read_text()[-2000:]}")


@pytest.fixture
def demo_url(tmp_path: Path) -> Iterator[str]:
    """A running `demo --speed 720 --web 127.0.0.1:PORT`; its base URL. It runs until the
    test ends it: 12 simulated hours (60 wall s from the simulator's start) could end
    before the page was done on a loaded machine."""
    port = free_port()
    log = tmp_path / "demo.log"
    env = dict(os.environ, **{TOKEN_ENV: TOKEN})
    cmd = [sys.executable, "-m", "optimizer.cli.main", "demo", "--hours", "240", "--speed", "720"]
    cmd += ["--web", f"127.0.0.1:{port}", "--json", "--db", f"sqlite:///{tmp_path / 'demo.db'}"]
    with log.open("wb") as out:
        demo = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_status(f"{base}/api/status", demo, log, 60.0)
        yield base
    finally:
        if demo.poll() is None:
            demo.terminate()
            demo.wait(30)


@contextmanager
def chromium_page(**context: Any) -> Iterator[Any]:
    """A page of Debian's headless Chromium in a new browser context (`context`: Playwright's
    `new_context` options); fails (never skips) when a part is missing."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make system-deps` installs Debian's chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser.new_context(**context).new_page()
        finally:
            browser.close()


@pytest.fixture
def page() -> Iterator[Any]:
    """A phone-sized page of Debian's headless Chromium."""
    with chromium_page(viewport={"width": 390, "height": 844}) as opened:
        yield opened


def test_the_dashboard_shows_the_charger_and_updates_during_a_demo(
    page: Any, demo_url: str
) -> None:
    """The browser first: a missing Chromium fails before a demo is started."""
    from playwright.sync_api import expect

    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.goto(demo_url + "/")

    charger = page.locator("#charger-SIM0001")
    expect(charger.locator(".device-id")).to_have_text("SIM0001", timeout=20_000)
    expect(charger.locator(".power")).to_have_text(re.compile(r"^\d+\.\d+ kW$"), timeout=20_000)
    expect(page.locator("#pv")).to_have_text(re.compile(r"^\d+\.\d+ kW$"))
    expect(page.locator("#calls-left")).to_have_text(re.compile(r"^\d+$"))

    # Figures follow the demo: the daemon's clock, then the PV power once the sun is up.
    for figure in ("#clock", "#pv"):
        first = page.locator(figure).inner_text()
        page.wait_for_function(
            "([selector, first]) => document.querySelector(selector).textContent !== first",
            arg=[figure, first],
            timeout=UPDATE_TIMEOUT_MS,
        )

    # A wrong token: refused, said in one line (and forgotten, so the page asks again).
    message = page.locator("#control-msg")
    page.once("dialog", lambda dialog: dialog.accept("not-the-token"))
    page.locator("#policy-form button").click()
    expect(message).to_have_text(re.compile(r"^401 wrong token: "), timeout=10_000)
    assert "\n" not in message.inner_text()

    # The right token: the daemon applies the policy and the page shows it.
    page.locator("#policy-select").select_option("target")
    page.once("dialog", lambda dialog: dialog.accept(TOKEN))
    page.locator("#policy-form button").click()
    expect(message).to_have_text("policy set to target", timeout=10_000)
    expect(page.locator("#policy")).to_have_text("target", timeout=20_000)

    # A target for the charger, with the token kept for the tab: no second question.
    page.locator("#target-kwh").fill("12")
    page.locator("#target-form button").click()
    expect(message).to_have_text(re.compile(r"^SIM0001: 12 kWh by "), timeout=10_000)

    assert script_errors == []
