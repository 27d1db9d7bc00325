"""Every home of a fleet from one web server: latency of the site-scoped routes under load.

The fleet daemon runs as in `fleet_realtime.py` (a separately served fleet simulator in
real time, `v2c-solar run --config fleet.toml --clock-from-server`), with its web server
on a free loopback port. Once every account has made calls, it is measured twice for
`--seconds` each: idle (nobody asks), then with `--clients` threads each asking in turn,
for a random account's home (`?account=acct-NNN&site=site1`), `/api/status`,
`/api/plan`, `/api/decisions?limit=10` and `/api/sessions`, and every tenth round
`/api/accounts` (every account). It reports each route's median and p99 latency
(ms), the answers that were not 200 and whether every status showed the chargers of the
home asked for, and the daemon's CPU share of one core and RSS in both windows.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/fleet_web.py --fleet 100:10 --seconds 60
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import psutil

from adapters.served import free_port
from adapters.simulator.fleet import Fleet, generate_fleet, read_fleet_keys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet_files import write_fleet_files
from fleet_realtime import DEFAULT_START, counted_calls, start_daemon
from fleet_simulator import serve

ROUTES = ("/api/status", "/api/plan", "/api/decisions?limit=10", "/api/sessions")


def _wait_for_calls(root_url: str, accounts: int, timeout_s: float) -> float:
    """Wall seconds until every account has made calls (the warm-up)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        counted, _ = counted_calls(root_url)
        if len(counted) == accounts and min(counted.values()) > 0:
            return time.monotonic() - t0
        time.sleep(5.0)
    raise SystemExit(f"not every account made calls within {timeout_s:.0f} s")


def _usage(proc: psutil.Process, seconds: float) -> dict[str, float]:
    """The daemon's CPU share of one core and its RSS (MB, mean of 1 s samples) over
    `seconds` of wall time."""
    cpu0, t0, rss = sum(proc.cpu_times()[:2]), time.monotonic(), []
    while time.monotonic() - t0 < seconds:
        time.sleep(1.0)
        rss.append(proc.memory_info().rss / 2**20)
    cpu = sum(proc.cpu_times()[:2]) - cpu0
    return {"cpu_share": round(cpu / (time.monotonic() - t0), 3), "rss_mb": round(max(rss), 1)}


def _client(
    web: str, homes: dict[str, set[str]], seconds: float, seed: int, out: dict[str, Any]
) -> None:
    """Ask for random homes until `seconds` have passed; latencies (ms) by route into `out`."""
    rng = random.Random(seed)
    names = sorted(homes)
    end = time.monotonic() + seconds
    with httpx.Client(base_url=web, timeout=30.0) as client:
        for n in range(10**9):
            if time.monotonic() >= end:
                return
            account = rng.choice(names)
            for route in ROUTES:
                _ask(client, route, {"account": account, "site": "site1"}, homes[account], out)
            if n % 10 == 0:
                _ask(client, "/api/accounts", {}, None, out)


def _ask(
    client: httpx.Client,
    route: str,
    query: dict[str, str],
    chargers: set[str] | None,
    out: dict[str, Any],
) -> None:
    t = time.perf_counter()
    answer = client.get(route, params=query)
    out["ms"][route.split("?")[0]].append(1000 * (time.perf_counter() - t))
    if answer.status_code != 200:
        out["not_ok"] += 1
    elif route == "/api/status" and chargers is not None:
        shown = {c["device_id"] for c in answer.json()["chargers"]}
        out["wrong_home"] += shown != chargers


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def run(fleet_spec: str, seconds: float, clients: int, seed: int, workdir: Path) -> dict[str, Any]:
    """One run (module doc); the processes are stopped whatever happens."""
    accounts, chargers = (int(x) for x in fleet_spec.split(":"))
    keys = workdir / "keys.json"
    sim, base_url = serve(accounts, chargers, seed, 1.0, keys, "--start", DEFAULT_START)
    daemon = None
    try:
        fleet: Fleet = generate_fleet(accounts, chargers, seed=seed)
        fleet = fleet.with_keys(read_fleet_keys(keys))
        listen = f"127.0.0.1:{free_port()}"
        log = workdir / "daemon.log"
        daemon = start_daemon(write_fleet_files(fleet, workdir / "fleet"), base_url, log, listen)
        warmup = _wait_for_calls(base_url.split("/kong/", 1)[0], accounts, 900.0)
        proc = psutil.Process(daemon.pid)
        idle = _usage(proc, seconds)
        homes = {a.name: {c.device_id for c in a.sites[0].chargers} for a in fleet.accounts}
        out: dict[str, Any] = {"ms": defaultdict(list), "not_ok": 0, "wrong_home": 0}
        threads = [
            threading.Thread(target=_client, args=(f"http://{listen}", homes, seconds, k, out))
            for k in range(clients)
        ]
        for thread in threads:
            thread.start()
        loaded = _usage(proc, seconds)
        for thread in threads:
            thread.join()
    finally:
        for p in (daemon, sim):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(timeout=120)
    latency = {
        route: {
            "n": len(ms),
            "median_ms": round(statistics.median(ms), 1),
            "p99_ms": round(_p99(ms), 1),
        }
        for route, ms in sorted(out["ms"].items())
    }
    return {
        "fleet": fleet_spec,
        "clients": clients,
        "seconds": seconds,
        "warmup_s": round(warmup, 1),
        "idle": idle,
        "loaded": loaded,
        "latency": latency,
        "not_ok": out["not_ok"],
        "wrong_home": out["wrong_home"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", default="100:10", help="ACCOUNTS:CHARGERS per account")
    parser.add_argument("--seconds", type=float, default=60.0, help="each window (wall s)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="v2c-fleet-web-") as tmp:
        report = run(args.fleet, args.seconds, args.clients, args.seed, Path(tmp))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
