"""`/api/status` latency under concurrent clients, and the daemon's memory with web and MQTT on.

Starts a real Mosquitto broker on a free loopback port, then (default, `--daemon demo`)
`v2c-solar demo --hours H --speed S --web 127.0.0.1:P --mqtt mqtt://127.0.0.1:Q` as a user
would, waits for `/api/status`, and lets `--clients` httpx.AsyncClient clients ask it as
fast as they can for `--load-s` wall seconds (bounded: at most `--max-requests` each).
Reports the median and p99 latency and the throughput, then waits for the demo to end and
reports its peak resident memory (VmHWM, the kernel's own high-water mark of the
process, read until it exits; and `ru_maxrss` from `os.wait4`, which also covers the
children it waited for). Goal: <= 150 MB.

`--daemon run` measures `v2c-solar run --web --mqtt` instead, as at home: against
`simulator serve` (real time) in a process of its own, for `--run-s` seconds, then
SIGTERM. `--bare` runs the same command without `--web`/`--mqtt` and without load: the
baseline that says what the web server and the MQTT bridge add.

Everything runs on this machine's loopback; the load generator shares the 2 cores with
the daemon, so latencies include its own scheduling.

    .venv/bin/python benchmarks/web_load.py [--daemon demo|run] [--bare] [--clients 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from adapters.served import free_port

RSS_GOAL_MB = 150.0
MOSQUITTO = "mosquitto"
CLI = [sys.executable, "-m", "optimizer.cli.main"]
HOME_CONFIG = Path(__file__).resolve().parents[1] / "config" / "home.toml"


def start_mosquitto(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    """A real broker on 127.0.0.1:`port`, anonymous, no persistence; up when it accepts."""
    binary = shutil.which(MOSQUITTO) or "/usr/sbin/mosquitto"
    conf = workdir / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    broker = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_for_port(port, 10.0, broker)
    return broker


def wait_for_port(port: int, timeout_s: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"process on port {port} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {timeout_s:g} s")


def start_demo(
    hours: float, speed: float, web_port: int | None, mqtt_port: int | None, log: Path
) -> subprocess.Popen[bytes]:
    """The demo as a user runs it (interpreter start and imports included).

    Its output goes to `log` (a pipe nobody reads would block a chatty demo).
    """
    cmd = [*CLI, "demo", "--hours", f"{hours:g}", "--speed", f"{speed:g}", "--json"]
    cmd += serve_options(web_port, mqtt_port, web_default=False)
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)


def serve_options(web_port: int | None, mqtt_port: int | None, *, web_default: bool) -> list[str]:
    """`--web` and `--mqtt` on loopback, or none (`--no-web` where the web is on by default)."""
    options = ["--web", f"127.0.0.1:{web_port}"] if web_port else []
    if not web_port and web_default:
        options = ["--no-web"]
    return options + (["--mqtt", f"mqtt://127.0.0.1:{mqtt_port}"] if mqtt_port else [])


def start_run(
    web_port: int | None, mqtt_port: int | None, workdir: Path, log: Path
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    """`v2c-solar run` as at home, against `simulator serve` (real time) in its own process.

    The config is config/home.toml with its charger renamed SIM0001, the simulator's.
    Returns (simulator, daemon).
    """
    sim_port = free_port()
    with (workdir / "simulator.log").open("wb") as out:
        simulator = subprocess.Popen(
            [*CLI, "simulator", "serve", "--port", str(sim_port), "--speed", "1"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_for_port(sim_port, 60.0, simulator)
    config = workdir / "home.toml"
    config.write_text(HOME_CONFIG.read_text().replace("YOUR_DEVICE_ID", "SIM0001"))
    env = dict(os.environ, V2C_API_KEY="demo-key")
    env["V2C_BASE_URL"] = f"http://127.0.0.1:{sim_port}/kong/v2c_service"
    cmd = [*CLI, "run", "--config", str(config), "--db", f"sqlite:///{workdir / 'run.db'}"]
    cmd += serve_options(web_port, mqtt_port, web_default=True)
    with log.open("wb") as out:
        daemon = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    return simulator, daemon


async def wait_for_status(url: str, demo: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if demo.poll() is not None:
                raise SystemExit(f"the demo exited with {demo.returncode} before serving")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout_s:g} s")


@dataclass(frozen=True)
class Load:
    latencies_s: list[float]
    errors: int
    wall_s: float

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def one_client(url: str, stop_at: float, max_requests: int, latencies: list[float]) -> int:
    """Ask `url` back to back until `stop_at` (monotonic s); returns the failed requests."""
    errors = 0
    async with httpx.AsyncClient(timeout=10.0) as client:
        for _ in range(max_requests):
            if time.monotonic() >= stop_at:
                break
            started = time.perf_counter()
            try:
                response = await client.get(url)
                response.raise_for_status()
                response.json()
            except (httpx.HTTPError, ValueError):
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)
    return errors


async def load(url: str, clients: int, load_s: float, max_requests: int) -> Load:
    latencies: list[float] = []
    started = time.monotonic()
    errors = await asyncio.gather(
        *(one_client(url, started + load_s, max_requests, latencies) for _ in range(clients))
    )
    return Load(latencies, sum(errors), time.monotonic() - started)


def own_peak_mb(pid: int) -> float | None:
    """The process's own peak resident memory so far (VmHWM), children excluded; MB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return None


def wait_peak_rss_mb(proc: subprocess.Popen[bytes], timeout_s: float) -> tuple[int, float, float]:
    """Wait for `proc`: (exit code, its own peak RSS, peak RSS with its children), in MB.

    The own peak is the last VmHWM read while it ran (every 0.1 s); the other is the
    kernel's `ru_maxrss` from `os.wait4`, which covers the children it waited for too
    (`run`'s short-lived clear-sky process). SIGTERM past `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    own = 0.0
    while True:
        own = max(own, own_peak_mb(proc.pid) or 0.0)
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, own, usage.ru_maxrss / 1024.0  # KiB on Linux
        if time.monotonic() > deadline:
            proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 30.0
        time.sleep(0.1)


@dataclass(frozen=True)
class Outcome:
    code: int
    peak_mb: float
    with_children_mb: float
    load: Load | None
    output: str


def measure(args: argparse.Namespace, tmp: Path) -> Outcome:
    """Start the broker and the daemon, load /api/status, wait for the end: the figures."""
    served = not args.bare
    web_port = free_port() if served else None
    mqtt_port = free_port() if served else None
    broker = start_mosquitto(mqtt_port, tmp) if mqtt_port else None
    log = tmp / "daemon.log"
    simulator = None
    if args.daemon == "demo":
        daemon = start_demo(args.hours, args.speed, web_port, mqtt_port, log)
        lasts_s = args.hours * 3600 / args.speed + 120.0  # the demo ends by itself
    else:
        simulator, daemon = start_run(web_port, mqtt_port, tmp, log)
        lasts_s = args.run_s  # then SIGTERM
    try:
        result = None
        if web_port:
            url = f"http://127.0.0.1:{web_port}/api/status"
            asyncio.run(wait_for_status(url, daemon, 60.0))
            result = asyncio.run(load(url, args.clients, args.load_s, args.max_requests))
        code, peak_mb, with_children_mb = wait_peak_rss_mb(daemon, lasts_s)
    finally:
        for proc in (daemon, simulator, broker):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(30)
    return Outcome(code, peak_mb, with_children_mb, result, log.read_text(errors="replace"))


def report(args: argparse.Namespace, outcome: Outcome) -> None:
    what = (
        f"demo --hours {args.hours:g} --speed {args.speed:g}"
        if args.daemon == "demo"
        else f"run (simulator at 1x in its own process, {args.run_s:g} s)"
    )
    served = "no web, no MQTT" if args.bare else "--web --mqtt"
    print(f"{what}, {served}: exit {outcome.code}")
    result = outcome.load
    if result is not None:
        n = len(result.latencies_s)
        if n == 0:
            raise SystemExit(f"no request answered ({result.errors} errors)")
        print(
            f"{args.clients} clients for {result.wall_s:.1f} s: {n} answers, "
            f"{result.errors} errors, {n / result.wall_s:.0f} req/s; /api/status latency: "
            f"median {1000 * statistics.median(result.latencies_s):.1f} ms, "
            f"p99 {1000 * result.percentile(0.99):.1f} ms, "
            f"max {1000 * max(result.latencies_s):.1f} ms"
        )
    verdict = "OK" if outcome.peak_mb <= RSS_GOAL_MB else "OVER"
    print(
        f"peak RSS: {outcome.peak_mb:.1f} MB (goal <= {RSS_GOAL_MB:.0f} MB): {verdict}; "
        f"with the children it waited for: {outcome.with_children_mb:.1f} MB"
    )
    if outcome.code != 0:
        print(f"exit {outcome.code}: {outcome.output.strip().splitlines()[-3:]}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--daemon", choices=("demo", "run"), default="demo")
    parser.add_argument("--bare", action="store_true", help="no --web, no --mqtt, no load")
    parser.add_argument("--hours", type=float, default=12.0, help="demo: simulated hours")
    parser.add_argument("--speed", type=float, default=720.0, help="demo: speed")
    parser.add_argument("--run-s", type=float, default=60.0, help="run: wall seconds")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--load-s", type=float, default=20.0, help="wall seconds of load")
    parser.add_argument("--max-requests", type=int, default=5000, help="per client, at most")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="v2c-web-load-") as tmp:
        outcome = measure(args, Path(tmp))
    report(args, outcome)


if __name__ == "__main__":
    main()
