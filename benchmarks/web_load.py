"""`/api/status` latency under concurrent clients, and the daemon's memory with web and MQTT on.

Starts a real Mosquitto broker on a free loopback port, then
`v2c-solar demo --hours H --speed S --web 127.0.0.1:P --mqtt mqtt://127.0.0.1:Q` as a user
would, waits for `/api/status`, and lets `--clients` httpx.AsyncClient clients ask it as
fast as they can for `--load-s` wall seconds (bounded: at most `--max-requests` each).
Reports the median and p99 latency and the throughput, then waits for the demo to end and
reports its peak resident memory (the kernel's `ru_maxrss` of the demo process, from
`os.wait4`: the true peak, not a sample). Goal: <= 150 MB.

Everything runs on this machine's loopback; the load generator shares the 2 cores with
the daemon, so latencies include its own scheduling.

    .venv/bin/python benchmarks/web_load.py [--hours 12] [--speed 720] [--clients 20]
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

RSS_GOAL_MB = 150.0
MOSQUITTO = "mosquitto"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    hours: float, speed: float, web_port: int, mqtt_port: int, log: Path
) -> subprocess.Popen[bytes]:
    """The demo as a user runs it (interpreter start and imports included).

    Its output goes to `log` (a pipe nobody reads would block a chatty demo).
    """
    cmd = [
        sys.executable,
        "-m",
        "optimizer.cli.main",
        "demo",
        "--hours",
        f"{hours:g}",
        "--speed",
        f"{speed:g}",
        "--web",
        f"127.0.0.1:{web_port}",
        "--mqtt",
        f"mqtt://127.0.0.1:{mqtt_port}",
        "--json",
    ]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)


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


def wait_peak_rss_mb(proc: subprocess.Popen[bytes], timeout_s: float) -> tuple[int, float]:
    """Wait for `proc` and return (exit code, peak RSS in MB); SIGTERM past `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage.ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux
        if time.monotonic() > deadline:
            proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 30.0
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=12.0)
    parser.add_argument("--speed", type=float, default=720.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--load-s", type=float, default=20.0, help="wall seconds of load")
    parser.add_argument("--max-requests", type=int, default=5000, help="per client, at most")
    args = parser.parse_args()

    web_port, mqtt_port = free_port(), free_port()
    with tempfile.TemporaryDirectory(prefix="v2c-web-load-") as tmp:
        broker = start_mosquitto(mqtt_port, Path(tmp))
        log = Path(tmp) / "demo.log"
        demo = start_demo(args.hours, args.speed, web_port, mqtt_port, log)
        try:
            url = f"http://127.0.0.1:{web_port}/api/status"
            asyncio.run(wait_for_status(url, demo, 60.0))
            result = asyncio.run(load(url, args.clients, args.load_s, args.max_requests))
            code, peak_mb = wait_peak_rss_mb(demo, args.hours * 3600 / args.speed + 120.0)
        finally:
            if demo.poll() is None:
                demo.kill()
            broker.terminate()
            broker.wait(10)
            output = log.read_text(errors="replace")
    n = len(result.latencies_s)
    if n == 0:
        raise SystemExit(f"no request answered ({result.errors} errors)")
    print(
        f"demo --hours {args.hours:g} --speed {args.speed:g} --web --mqtt (exit {code}); "
        f"{args.clients} clients for {result.wall_s:.1f} s: {n} answers, {result.errors} errors, "
        f"{n / result.wall_s:.0f} req/s"
    )
    print(
        f"/api/status latency: median {1000 * statistics.median(result.latencies_s):.1f} ms, "
        f"p99 {1000 * result.percentile(0.99):.1f} ms, max {1000 * max(result.latencies_s):.1f} ms"
    )
    verdict = "OK" if peak_mb <= RSS_GOAL_MB else "OVER"
    print(f"daemon peak RSS: {peak_mb:.1f} MB (goal <= {RSS_GOAL_MB:.0f} MB): {verdict}")
    if code != 0:
        print(f"the demo exited {code}: {output.strip().splitlines()[-3:]}", file=sys.stderr)


if __name__ == "__main__":
    main()
