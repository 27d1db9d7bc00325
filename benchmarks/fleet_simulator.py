"""CPU and memory of the fleet simulator alone, under a realistic load over HTTP.

Serves a generated fleet with the real command in its own process
(`v2c-solar simulator serve --fleet ACCOUNTS:CHARGERS`), then drives it from this
process with one `httpx.Client`: every charger gets `--calls` calls spread at
random over each simulated day (85 % live-state reads, 10 % current commands,
5 % pause/start; and one `pairings/me` per account and day), each with its
account's key. The server's CPU time (utime + stime from /proc) and resident
memory (VmRSS, peak VmHWM) are read before the first call and after the last, so
the figures are the simulator's alone, the driver excluded.

Two ways to move simulated time:
- real time (default): the server runs at `--speed` (288: a day in 5 minutes) and
  each call is sent when the simulated clock reaches it; a driver that cannot keep
  up sends late (the lag is reported), the server's work per call is the same;
- `--jump`: the server's clock stands still (speed 0.001) and the driver jumps it
  forward (`POST /sim/clock`) before each simulated minute's calls: the same calls
  at the same simulated times, in as little wall time as the machine allows.

    .venv/bin/python benchmarks/fleet_simulator.py --fleet 100:10 --hours 24 --speed 288
    .venv/bin/python benchmarks/fleet_simulator.py --fleet 100:10 --hours 24 --jump
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from adapters.simulator.demo import simulator_clock
from adapters.simulator.fleet import Fleet, generate_fleet, read_fleet_keys

READ_SHARE = 0.85
COMMAND_SHARE = 0.10  # the rest pauses or starts


@dataclass(frozen=True, slots=True)
class Call:
    """One API call of the load: when (simulated), by which key, what."""

    at: datetime
    key: str
    method: str
    path: str
    params: dict[str, str]


def plan_calls(fleet: Fleet, start: datetime, hours: float, per_day: int, seed: int) -> list[Call]:
    """Every call of the run, in simulated-time order (module doc)."""
    rng = random.Random(seed)
    span_s = hours * 3600.0
    days = max(1, round(hours / 24.0))
    calls: list[Call] = []
    for account in fleet.accounts:
        key = account.api_key.get_secret_value()
        for day in range(days):
            at = start + timedelta(seconds=min(day * 86400.0 + 1.0, span_s - 1.0))
            calls.append(Call(at, key, "GET", "/pairings/me", {}))
        for device in account.device_ids:
            for _ in range(round(per_day * hours / 24.0)):
                at = start + timedelta(seconds=rng.uniform(0.0, span_s))
                calls.append(Call(at, key, *_operation(rng, device)))
    calls.sort(key=lambda c: c.at)
    return calls


def _operation(rng: random.Random, device: str) -> tuple[str, str, dict[str, str]]:
    draw = rng.random()
    if draw < READ_SHARE:
        return "POST", "/thirdparty/device/currentstatecharge", {"deviceId": device}
    if draw < READ_SHARE + COMMAND_SHARE:
        return "POST", "/device/intensity", {"deviceId": device, "value": str(rng.randint(6, 16))}
    path = "/device/pausecharge" if rng.random() < 0.5 else "/device/startcharge"
    return "POST", path, {"deviceId": device}


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of process `pid` in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024.0
    return values["VmRSS"], values["VmHWM"]


def serve(
    accounts: int, chargers: int, seed: int, speed: float, keys: Path, *extra: str
) -> tuple[subprocess.Popen[str], str]:
    """The fleet simulator in its own process (on a free loopback port, `extra` options
    added) and its API's base URL, once it listens."""
    cmd = [
        sys.executable, "-m", "optimizer.cli.main", "simulator", "serve", "--port", "0",
        "--fleet", f"{accounts}:{chargers}", "--seed", str(seed), "--speed", f"{speed:g}",
        "--keys-file", str(keys), *extra,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # "V2C Cloud simulator: http://127.0.0.1:PORT/kong/..."
    if "http://" not in first:
        proc.kill()
        raise SystemExit(f"simulator did not start: {first!r}")
    for line in proc.stdout:
        if "simulated time" in line:
            break
    url = first.split("simulator: ", 1)[1].strip()
    root = url.split("/kong/", 1)[0]
    for _ in range(300):  # the banner comes before uvicorn listens
        try:
            httpx.get(f"{root}/sim/clock", timeout=1.0)
            return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("simulator did not answer within 30 s")


def drive(
    calls: list[Call], base_url: str, root_url: str, *, jump: bool
) -> tuple[Counter[int], float]:
    """Send `calls` (module doc); (answers by status, worst lag in simulated seconds)."""
    statuses: Counter[int] = Counter()
    worst_lag_s = 0.0
    clock = None if jump else simulator_clock(root_url)
    jumped_to: datetime | None = None
    with httpx.Client(base_url=base_url, timeout=30.0) as http:
        for call in calls:
            if clock is None:
                minute = call.at.replace(second=0, microsecond=0)
                if jumped_to is None or minute > jumped_to:
                    http.post(f"{root_url}/sim/clock", json={"time": minute.isoformat()})
                    jumped_to = minute
            else:
                ahead_s = (call.at - clock.now()).total_seconds() / clock.speed
                if ahead_s > 0:
                    time.sleep(ahead_s)
                else:
                    worst_lag_s = max(worst_lag_s, -ahead_s * clock.speed)
            answer = http.request(
                call.method, call.path, params=call.params, headers={"apikey": call.key}
            )
            statuses[answer.status_code] += 1
    return statuses, worst_lag_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", default="100:10", help="ACCOUNTS:CHARGERS per account")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours")
    parser.add_argument("--calls", type=int, default=99, help="calls per charger per day")
    parser.add_argument("--speed", type=float, default=288.0)
    parser.add_argument("--jump", action="store_true", help="jump the clock (module doc)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    accounts, chargers = (int(x) for x in args.fleet.split(":"))
    with tempfile.TemporaryDirectory() as tmp:
        keys_file = Path(tmp) / "keys.json"
        speed = 0.001 if args.jump else args.speed
        proc, base_url = serve(accounts, chargers, args.seed, speed, keys_file)
        try:
            root_url = base_url.split("/kong/", 1)[0]
            fleet = generate_fleet(accounts, chargers, seed=args.seed)
            fleet = fleet.with_keys(read_fleet_keys(keys_file))
            now = datetime.fromisoformat(httpx.get(f"{root_url}/sim/clock").json()["time"])
            start = now + timedelta(seconds=5 * speed)
            calls = plan_calls(fleet, start, args.hours, args.calls, args.seed)
            cpu0 = proc_cpu_s(proc.pid)
            rss0, _ = proc_memory_mb(proc.pid)
            wall0 = time.perf_counter()
            statuses, lag_s = drive(calls, base_url, root_url, jump=args.jump)
            wall = time.perf_counter() - wall0
            cpu = proc_cpu_s(proc.pid) - cpu0
            rss, peak = proc_memory_mb(proc.pid)
            truth = httpx.get(f"{root_url}/sim/truth", timeout=120.0).json()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    charger_days = fleet.chargers * args.hours / 24.0
    mode = "jump" if args.jump else f"real time at {args.speed:g}x"
    print(
        f"fleet {args.fleet} ({fleet.chargers} chargers, {len(fleet.homes)} homes), "
        f"{args.hours:g} h simulated, {mode}: {len(calls)} calls in {wall:.1f} s wall "
        f"({len(calls) / wall:.0f}/s), answers {dict(sorted(statuses.items()))}"
    )
    print(
        f"simulator: startup {cpu0:.1f} CPU-s, RSS {rss0:.0f} MB before the load; "
        f"load {cpu:.1f} CPU-s = {1000 * cpu / charger_days:.1f} CPU-ms per charger-day "
        f"({1000 * cpu / len(calls):.2f} ms per call), "
        f"{100 * cpu / wall:.0f} % of one core; RSS {rss:.0f} MB after, peak {peak:.0f} MB"
    )
    busiest = max(
        (
            n.get("counted", 0)
            for days in truth["requests_per_account"].values()
            for n in days.values()
        ),
        default=0,
    )
    print(f"busiest account: {busiest} calls counted in one simulated UTC day (limit 1000)")
    if not args.jump:
        print(f"driver: worst lag {lag_s / 60:.1f} simulated minutes behind its schedule")


if __name__ == "__main__":
    main()
