"""Take `docs/dashboard.png`: the dashboard during a demo, in Debian's headless Chromium.

Runs `v2c-solar demo --web 127.0.0.1:PORT` (a free port), waits until the car is charging
in the sun and a few decisions are on the page, and saves a full-page screenshot.
Uses the same Playwright and system Chromium as the browser test (never a download).

    .venv/bin/python docs/screenshot.py [--out docs/dashboard.png] [--width 1280] [--dark]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHARGING_PV_W = 2500.0
"""Wait for at least this much PV with the car charging: a daytime picture."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_charging_in_the_sun(
    base: str, demo: subprocess.Popen[bytes], timeout_s: float
) -> None:
    """Poll /api/status until a charger charges with PV above `CHARGING_PV_W` (bounded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if demo.poll() is not None:
            raise SystemExit(f"the demo exited {demo.returncode}")
        try:
            status = httpx.get(f"{base}/api/status", timeout=2.0).json()
        except (httpx.HTTPError, ValueError):
            status = {}
        charging = any(c.get("state") == "charging" for c in status.get("chargers", []))
        if charging and (status.get("pv_w") or 0.0) >= CHARGING_PV_W:
            return
        time.sleep(0.1)
    raise SystemExit(f"no charging in the sun within {timeout_s:g} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("dashboard.png"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--dark", action="store_true", help="prefers-color-scheme: dark")
    parser.add_argument("--speed", type=float, default=720.0)
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
            wait_until_charging_in_the_sun(base, demo, 120.0)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(
                    viewport={"width": args.width, "height": args.height},
                    color_scheme="dark" if args.dark else "light",
                    device_scale_factor=1,
                )
                page.goto(base + "/")
                page.wait_for_selector(".charger .power")
                # Let the page collect a stretch of measured PV for the chart.
                page.wait_for_function(
                    "() => document.querySelectorAll('#decisions li').length >= 6",
                    timeout=60_000,
                )
                page.wait_for_timeout(4000)
                page.screenshot(path=str(args.out), full_page=True)
                browser.close()
        finally:
            demo.terminate()
            demo.wait(30)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
