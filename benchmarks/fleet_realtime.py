"""The fleet daemon alone, in real time, against a separately served fleet simulator.

Three processes, as in production but with the simulator in place of the V2C Cloud:

1. `v2c-solar simulator serve --fleet A:C --start T --speed 1` on a free loopback port
   (the clock starts at `--start`, by default a summer Sunday 10:00 in Central Europe:
   sun on the roofs and cars at home);
2. this script writes the fleet file, the homes' configs and one key file per account
   (`fleet_files.write_fleet_files`, the same homes as the simulator's);
3. `v2c-solar run --config fleet.toml --base-url ... --clock-from-server --no-web`.

Every `--interval` wall seconds it samples the daemon's process alone (psutil: its user
+ system CPU, its RSS; not its children, the short-lived clear-sky processes, counted
apart) and the load average. The warm-up (imports, 1000 chargers' wiring, the first
reads of every charger) ends after `--warmup` minutes once every account has made
calls (checked each sample after that); it measures `--minutes` more: the CPU share of one
core (over the window, and the mean and p95 of the sample intervals), RSS (mean, peak;
VmHWM is the peak since start), the calls each account made in the window by the
simulator's own count (`GET /sim/truth`) against the budget's pace (1000 calls a day),
then SIGTERMs the daemon and reports how long the shutdown took, its exit code and how
late its rounds ran (the daemon's own line), and whether it left the chargers safe.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/fleet_realtime.py --fleet 100:10 --minutes 15
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from adapters.simulator.fleet import generate_fleet, read_fleet_keys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet_files import write_fleet_files
from fleet_simulator import proc_memory_mb, serve

DEFAULT_START = "2026-06-21T10:00+02:00"
"""A summer Sunday morning in Central Europe (09:00-11:00 local across the fleet's zones)."""
CALLS_PER_DAY = 1000
"""Each account's daily quota, the pace its budget spreads over the day."""
MAX_EXTRA_WARMUP_S = 600.0
"""How long past `--warmup` (wall s) the run waits for every account's first calls."""
LATE_LINE = re.compile(r"rounds ran ([\d.]+) s late on average, ([\d.]+) s at worst")


@dataclass(frozen=True, slots=True)
class Sample:
    """One look at the daemon: wall time since it started (s), its CPU (s), RSS (MB)."""

    wall_s: float
    cpu_s: float
    children_cpu_s: float
    rss_mb: float
    load1: float


@dataclass
class Report:
    """What one run measured (see the module doc); times in s, memory in MB."""

    fleet: str
    speed: float
    start: str
    warmup_s: float
    window_s: float
    samples: int = 0
    startup_cpu_s: float = 0.0
    startup_rss_mb: float = 0.0
    cpu_s: float = 0.0
    cpu_share: float = 0.0
    cpu_share_mean: float = 0.0
    cpu_share_p95: float = 0.0
    children_cpu_s: float = 0.0
    rss_mb_mean: float = 0.0
    rss_mb_peak: float = 0.0
    vm_hwm_mb: float = 0.0
    load1_mean: float = 0.0
    load1_max: float = 0.0
    calls_at_warmup_end: list[int] = field(default_factory=list)
    """Calls each account had made when the warm-up ended (sorted)."""
    calls_per_account: list[int] = field(default_factory=list)
    """Calls each account made in the measured window (sorted)."""
    calls_budget_pace: float = 0.0
    calls_other_outcomes: int = 0
    shutdown_s: float = 0.0
    exit_code: int | None = None
    late_s_mean: float | None = None
    late_s_max: float | None = None
    left_safe: bool = False
    daemon_tail: str = ""


def sample(proc: psutil.Process, t0: float) -> Sample:
    """The daemon's CPU and memory now (its own, children apart) and the load average."""
    cpu = proc.cpu_times()
    return Sample(
        wall_s=time.monotonic() - t0,
        cpu_s=cpu.user + cpu.system,
        children_cpu_s=cpu.children_user + cpu.children_system,
        rss_mb=proc.memory_info().rss / 2**20,
        load1=os.getloadavg()[0],
    )


def counted_calls(root_url: str) -> tuple[dict[str, int], int]:
    """Calls the simulator counted per account so far (every simulated day) and the
    requests it answered otherwise (over quota, refused, ...)."""
    truth = httpx.get(f"{root_url}/sim/truth", timeout=300.0).json()
    counted: dict[str, int] = {}
    other = 0
    for account, days in truth["requests_per_account"].items():
        counted[account] = sum(d.get("counted", 0) for d in days.values())
        other += sum(n for d in days.values() for k, n in d.items() if k != "counted")
    return counted, other


def start_daemon(
    fleet_toml: Path, base_url: str, log: Path, web: str | None = None
) -> subprocess.Popen[bytes]:
    """`v2c-solar run` over the fleet file, its output to `log`; its web server on `web`
    (`HOST:PORT`; None: `--no-web`)."""
    db = f"sqlite:///{fleet_toml.parent / 'fleet.db'}"
    serving = ["--no-web"] if web is None else ["--web", web]
    cmd = [
        sys.executable, "-m", "optimizer.cli.main", "run", "--config", str(fleet_toml),
        "--db", db, "--base-url", base_url, "--clock-from-server", *serving,
    ]  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)


def run_realtime(
    accounts: int,
    chargers: int,
    *,
    workdir: Path,
    seed: int = 0,
    speed: float = 1.0,
    start: str = DEFAULT_START,
    warmup_s: float = 120.0,
    window_s: float = 900.0,
    interval_s: float = 5.0,
    progress: bool = False,
) -> Report:
    """One run (module doc) in `workdir`; the processes are stopped whatever happens."""
    report = Report(f"{accounts}:{chargers}", speed, start, warmup_s, window_s)
    keys = workdir / "keys.json"
    sim, base_url = serve(accounts, chargers, seed, speed, keys, "--start", start)
    daemon: subprocess.Popen[bytes] | None = None
    try:
        root_url = base_url.split("/kong/", 1)[0]
        fleet = generate_fleet(accounts, chargers, seed=seed).with_keys(read_fleet_keys(keys))
        fleet_toml = write_fleet_files(fleet, workdir / "fleet")
        daemon = start_daemon(fleet_toml, base_url, workdir / "daemon.log")
        samples = _watch(daemon, warmup_s, window_s, interval_s, root_url, report, progress)
        _summarise(report, samples, speed)
        report.vm_hwm_mb = round(proc_memory_mb(daemon.pid)[1], 1)
        _stop(daemon, report)
        report.daemon_tail = _tail(workdir / "daemon.log")
        _read_tail(report)
    finally:
        for proc in (daemon, sim):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return report


def _watch(
    daemon: subprocess.Popen[bytes],
    warmup_s: float,
    window_s: float,
    interval_s: float,
    root_url: str,
    report: Report,
    progress: bool,
) -> list[Sample]:
    """Sample the daemon until the window ends; the calls counted in the window into
    `report`. SystemExit when the daemon exits on its own."""
    proc = psutil.Process(daemon.pid)
    t0 = time.monotonic()
    samples: list[Sample] = []
    before: dict[str, int] | None = None
    other_before = 0
    while True:
        if daemon.poll() is not None:
            raise SystemExit(f"the daemon exited early ({daemon.returncode})")
        samples.append(sample(proc, t0))
        last = samples[-1]
        if before is None and last.wall_s >= warmup_s:
            before, other_before = _warmed_up(root_url, report, last, warmup_s)
        if progress:
            print(
                f"{last.wall_s:7.0f} s  cpu {last.cpu_s:8.1f} s  rss {last.rss_mb:6.0f} MB  "
                f"load {last.load1:.1f}",
                flush=True,
            )
        if before is not None and last.wall_s >= report.warmup_s + window_s:
            break
        time.sleep(interval_s)
    after, other_after = counted_calls(root_url)
    assert before is not None  # the loop ends after the warm-up only
    report.calls_per_account = sorted(after[a] - before.get(a, 0) for a in after)
    report.calls_other_outcomes = other_after - other_before
    return samples


def _warmed_up(
    root_url: str, report: Report, now: Sample, warmup_s: float
) -> tuple[dict[str, int] | None, int]:
    """The calls counted so far once every account has made some (the warm-up ends there,
    and `report` records when and the daemon's start-up cost); (None, 0) before that.
    SystemExit when that takes 10 minutes more than the warm-up asked for."""
    counted, other = counted_calls(root_url)
    accounts = int(report.fleet.split(":")[0])
    if len(counted) < accounts or min(counted.values()) == 0:
        if now.wall_s > warmup_s + MAX_EXTRA_WARMUP_S:
            raise SystemExit(f"{len(counted)} of {accounts} accounts made calls after warm-up")
        return None, 0
    report.warmup_s = now.wall_s
    report.calls_at_warmup_end = sorted(counted.values())
    report.startup_cpu_s = round(now.cpu_s, 2)
    report.startup_rss_mb = round(now.rss_mb, 1)
    return counted, other


def _summarise(report: Report, samples: list[Sample], speed: float) -> None:
    """CPU shares, RSS and load over the samples after the warm-up."""
    window = [s for s in samples if s.wall_s >= report.warmup_s]
    first, last = window[0], window[-1]
    span = last.wall_s - first.wall_s
    shares = [
        (b.cpu_s - a.cpu_s) / (b.wall_s - a.wall_s)
        for a, b in itertools.pairwise(window)
        if b.wall_s > a.wall_s
    ]
    report.samples = len(window)
    report.window_s = round(span, 1)
    report.cpu_s = round(last.cpu_s - first.cpu_s, 2)
    report.cpu_share = round((last.cpu_s - first.cpu_s) / span, 4) if span > 0 else 0.0
    report.cpu_share_mean = round(statistics.fmean(shares), 4) if shares else 0.0
    report.cpu_share_p95 = round(_p95(shares), 4) if shares else 0.0
    report.children_cpu_s = round(last.children_cpu_s - first.children_cpu_s, 2)
    report.rss_mb_mean = round(statistics.fmean(s.rss_mb for s in window), 1)
    report.rss_mb_peak = round(max(s.rss_mb for s in window), 1)
    report.load1_mean = round(statistics.fmean(s.load1 for s in window), 2)
    report.load1_max = round(max(s.load1 for s in window), 2)
    report.calls_budget_pace = round(CALLS_PER_DAY * span * speed / 86400.0, 1)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _stop(daemon: subprocess.Popen[bytes], report: Report) -> None:
    """SIGTERM, wait for the daemon to leave its chargers safe; its exit into `report`."""
    t = time.monotonic()
    daemon.send_signal(signal.SIGTERM)
    try:
        report.exit_code = daemon.wait(timeout=300)
    except subprocess.TimeoutExpired:
        report.exit_code = None
    report.shutdown_s = round(time.monotonic() - t, 1)


def _tail(log: Path) -> str:
    """The daemon's last lines (its lateness and whether it left the chargers safe)."""
    return "\n".join(log.read_text(errors="replace").splitlines()[-5:])


def _read_tail(report: Report) -> None:
    """Lateness and safe exit from the daemon's last lines into `report`."""
    found = LATE_LINE.search(report.daemon_tail)
    if found:
        report.late_s_mean, report.late_s_max = float(found[1]), float(found[2])
    report.left_safe = report.exit_code == 0 and "chargers left in their own" in report.daemon_tail


def show(report: Report) -> str:
    """The report as a few lines of text."""
    calls = report.calls_per_account or [0]
    return "\n".join(
        [
            f"fleet {report.fleet} at {report.speed:g}x from {report.start}: "
            f"{report.samples} samples over {report.window_s:.0f} s after "
            f"{report.warmup_s:.0f} s of warm-up",
            f"daemon at the warm-up's end: {report.startup_cpu_s:.1f} CPU-s, "
            f"RSS {report.startup_rss_mb:.0f} MB",
            f"daemon CPU: {report.cpu_s:.1f} s = {100 * report.cpu_share:.1f} % of one core "
            f"(intervals: mean {100 * report.cpu_share_mean:.1f} %, "
            f"p95 {100 * report.cpu_share_p95:.1f} %); children {report.children_cpu_s:.1f} s",
            f"daemon RSS: mean {report.rss_mb_mean:.0f} MB, peak sampled "
            f"{report.rss_mb_peak:.0f} MB, VmHWM {report.vm_hwm_mb:.0f} MB",
            f"calls per account in the window: min {min(calls)}, "
            f"mean {statistics.fmean(calls):.1f}, max {max(calls)} "
            f"(budget pace {report.calls_budget_pace:.1f}); "
            f"not counted: {report.calls_other_outcomes}",
            f"load average (1 min): mean {report.load1_mean:.1f}, max {report.load1_max:.1f} "
            f"on {os.cpu_count()} cores",
            f"shutdown: exit {report.exit_code} after {report.shutdown_s:.1f} s, "
            f"chargers left safe: {report.left_safe}; rounds late "
            f"{report.late_s_mean} s mean, {report.late_s_max} s worst",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fleet", default="100:10", help="ACCOUNTS:CHARGERS per account")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speed", type=float, default=1.0, help="simulated s per wall s")
    parser.add_argument("--start", default=DEFAULT_START, help="simulated start (ISO 8601)")
    parser.add_argument("--minutes", type=float, default=15.0, help="measured wall minutes")
    parser.add_argument("--warmup", type=float, default=2.0, help="wall minutes not measured")
    parser.add_argument("--interval", type=float, default=5.0, help="wall s between samples")
    parser.add_argument("--json", action="store_true", help="print the report as JSON too")
    parser.add_argument("--workdir", type=Path, help="keep the files here (default: a temp dir)")
    args = parser.parse_args()
    accounts, chargers = (int(x) for x in args.fleet.split(":"))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"started {datetime.now().astimezone().isoformat(timespec='seconds')}", flush=True)
        report = run_realtime(
            accounts,
            chargers,
            workdir=workdir,
            seed=args.seed,
            speed=args.speed,
            start=args.start,
            warmup_s=60.0 * args.warmup,
            window_s=60.0 * args.minutes,
            interval_s=args.interval,
            progress=True,
        )
    print(show(report))
    print(report.daemon_tail)
    if args.json:
        out: dict[str, Any] = asdict(report)
        print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
