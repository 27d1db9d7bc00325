"""Take `docs/dashboard.png`: the dashboard during a demo, in Debian's headless Chromium.

Runs `v2c-solar demo --web 127.0.0.1:PORT` (a free port), opens the page at once (it
draws the PV it sees), waits until `--at-hours` simulated hours have passed with the car
charging in the sun, and saves a full-page screenshot.
Uses the browser test's Playwright and system Chromium, launched the same way (never a
download). Run from the repository's root (it imports the test's launch settings).

    PYTHONPATH=. .venv/bin/python docs/screenshot.py [--out docs/dashboard.png] [--dark]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from adapters.served import free_port
from tests.test_web_dashboard_browser import CHROMIUM, CHROMIUM_ARGS

CHARGING_PV_W = 2500.0
"""Wait for at least this much PV with the car charging: a daytime picture."""


def status(base: str) -> dict[str, Any]:
    try:
        body: dict[str, Any] = httpx.get(f"{base}/api/status", timeout=2.0).json()
    except (httpx.HTTPError, ValueError):
        return {}
    return body


def wait_for(
    base: str, demo: subprocess.Popen[bytes], ready: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Poll /api/status until `ready(status)` (bounded by the demo's own end)."""
    while demo.poll() is None:
        body = status(base)
        if body and ready(body):
            return body
        time.sleep(0.1)
    raise SystemExit(f"the demo exited {demo.returncode} first")


def charging_in_the_sun(body: dict[str, Any]) -> bool:
    charging = any(c.get("state") == "charging" for c in body.get("chargers", []))
    return charging and (body.get("pv_w") or 0.0) >= CHARGING_PV_W


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("dashboard.png"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--dark", action="store_true", help="prefers-color-scheme: dark")
    parser.add_argument("--speed", type=float, default=720.0)
    parser.add_argument(
        "--at-hours", type=float, default=12.5, help="simulated hours after the demo's start"
    )
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="v2c-shot-") as tmp:
        cmd = [sys.executable, "-m", "optimizer.cli.main", "demo", "--hours", "24"]
        cmd += ["--speed", f"{args.speed:g}", "--web", f"127.0.0.1:{port}", "--json"]
        cmd += ["--db", f"sqlite:///{tmp}/demo.db"]
        demo = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            first = wait_for(base, demo, lambda body: bool(body.get("time")))
            midday = datetime.fromisoformat(first["time"]) + timedelta(hours=args.at_hours)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
                page = browser.new_page(
                    viewport={"width": args.width, "height": args.height},
                    color_scheme="dark" if args.dark else "light",
                    device_scale_factor=1,
                )
                # Open early: the page draws the PV it sees from then on.
                page.goto(base + "/")
                page.wait_for_selector(".charger .power")
                wait_for(base, demo, lambda b: datetime.fromisoformat(b["time"]) >= midday)
                wait_for(base, demo, charging_in_the_sun)
                page.wait_for_timeout(1500)  # the next event reaches the page
                page.screenshot(path=str(args.out), full_page=True)
                browser.close()
        finally:
            demo.terminate()
            demo.wait(30)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
