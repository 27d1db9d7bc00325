"""Fault soak: `v2c-solar run` against a separately served simulator for N simulated days.

Two real processes, started as a user would: `v2c-solar simulator serve` with
every fault kind (5xx, latency, timeouts, cut JSON bodies, dropped connections,
an outage in sunshine, a throttle window with `Retry-After`, a charger offline
for hours) and `v2c-solar run` on it. On the way the daemon is killed with
SIGKILL while a car is plugged in and restarted on the same database after 30
simulated minutes, the simulator is stopped and restarted on its state file
after 1 h 45 min, and the key is revoked (`POST /sim/revoke`) on the last day
once the car has left. The daemon ends on the 401 of the revoked key.

Simulated time runs `speed` times the wall clock, and both processes read it
from one clock file (`--clock-file`, `optimizer.clock.FileClock`) that the
soak holds while a process starts: at 2880x a process start is simulated hours,
and on a loaded machine a day, which used to land the daemon after the events
it was meant to meet. The scripted events wait for the daemon, not the clock:
each has a simulated time before which it does not happen (`Timeline`) and a
condition on what the daemon has done, read from its own web API (`GET
/api/status`): the kill once it has read a car plugged in, the revocation once
every car has left and the daemon has read since. What the soak then holds
against the truth is bookkeeping that must be exact however late the daemon
runs.

Then the daemon's database is held against the simulator's ground truth
(`GET /sim/truth`): crashes (a traceback, an unexpected exit code), days over
1000 calls, the call ledger against the requests the simulator received per
day, lost or duplicated session rows, recorded against true EV energy, and the
peak memory (max RSS) of every process.

    .venv/bin/python benchmarks/soak.py [--days 30] [--speed 2880] [--seed 1] [--json]

`run_soak` is the library form (`tests/test_soak.py` runs a 2-day soak).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adapters.simulator.server import DEFAULT_BASE_PATH, DEMO_API_KEY, free_port  # noqa: E402
from adapters.simulator.world import default_scenario  # noqa: E402
from adapters.storage import SqlStore  # noqa: E402
from optimizer.clock import FileClock  # noqa: E402
from optimizer.interfaces import ApiCall, SessionRecord  # noqa: E402

DAILY_LIMIT = 1000
KEY_REFUSED = "refused the API key (401)"
WEB_LINE = re.compile(r"web API and metrics on (http://\S+)")
"""The line `run` logs when its web API is up (the soak reads `/api/status` there)."""
FAULT_RATES = {
    "--error-rate": "0.05",
    "--timeout-rate": "0.02",
    "--timeout-s": "0.25",
    "--malformed-rate": "0.02",
    "--drop-rate": "0.02",
    "--latency": "0.002",
}
"""Per-call fault rates of the soak (the issue's demo check's rates, a shorter hold)."""
DAEMON_DOWN = timedelta(minutes=30)
"""Simulated time between the `kill -9` and the daemon's restart (the car charges on)."""
SIMULATOR_DOWN = timedelta(hours=1, minutes=45)
"""Simulated time the simulator is down (the daemon's calls meanwhile are refused)."""
HANG_S = 600.0
"""Wall seconds past what the simulated clock needs after which a wait is a hang."""


@dataclass(frozen=True, slots=True)
class Timeline:
    """The earliest time of each scripted event (simulated UTC), spread over the soak's
    days; the daemon's events also wait for the daemon (see the module doc)."""

    start: datetime
    outage: tuple[datetime, datetime]
    throttle: tuple[datetime, datetime]
    offline: tuple[datetime, datetime]
    kill_daemon: datetime
    restart_simulator: datetime
    revoke: datetime
    end: datetime

    @classmethod
    def over(cls, start: datetime, days: int) -> Timeline:
        """Events on days 10 %, 20 %, ... of the way, at sunny hours (Europe/Vienna)."""
        day0 = datetime.combine(start.date() + timedelta(days=1), datetime.min.time(), UTC)

        def at(fraction: float, hour: float) -> datetime:
            return day0 + timedelta(days=int(fraction * days), hours=hour)

        return cls(
            start=start,
            outage=(at(0.1, 8), at(0.1, 11)),  # 10:00-13:00 local
            throttle=(at(0.2, 11), at(0.2, 13)),  # long enough to meet a read
            offline=(at(0.3, 13), at(0.3, 15)),
            kill_daemon=at(0.4, 10),  # then once the daemon read the car plugged in
            restart_simulator=at(0.6, 9),
            revoke=at(1.0, -8),  # the last day, 16:00 UTC, then once the car left
            end=day0 + timedelta(days=days),
        )


@dataclass(slots=True)
class ProcessRun:
    """One process of the soak: what it was, how it ended, its peak memory."""

    name: str
    exit_code: int | None
    expected: str
    max_rss_mb: float
    """Its own peak resident memory (`VmHWM`, sampled while it ran)."""
    tree_max_rss_mb: float
    """The peak of it or any child it waited for (`wait4`: the clear-sky child of `run`)."""
    traceback: bool

    @property
    def crashed(self) -> bool:
        """A traceback, or an exit the soak did not cause or expect."""
        return self.traceback or self.exit_code not in _EXPECTED_CODES[self.expected]


_EXPECTED_CODES = {
    "sigkill": {-signal.SIGKILL},
    "sigterm": {0, -signal.SIGTERM},
    "key_refused": {1},
}


@dataclass(slots=True)
class SoakReport:
    """What the soak measured (see the module doc)."""

    days: int
    speed: float
    seed: int
    wall_s: float
    timeline: dict[str, str]
    processes: list[ProcessRun]
    crashes: int
    fatal_names_401: bool
    days_over_limit: int
    max_calls_per_day: int
    ledger_per_day: dict[str, int]
    server_per_day: dict[str, int]
    server_counted_per_day: dict[str, int]
    server_by_outcome: dict[str, int]
    """Requests the simulator received over the soak, by outcome (`tally.Outcome`)."""
    ledger_by_answer: dict[str, int]
    """The ledger's calls by answer: 200, 5xx, 429, 401, none (dropped, timed out, refused)."""
    unanswered_while_down: int
    """Ledger calls into the simulator's restart (connection refused: it never saw them)."""
    ledger_minus_server: int
    """Ledger total - unanswered_while_down - server total: 0, or minus the kill's in-flight."""
    sessions_true: int
    sessions_recorded: int
    sessions_lost: int
    sessions_duplicated: int
    ev_kwh_recorded: float
    ev_kwh_true: float
    ev_error_pct: float
    after_revocation_kwh: float
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Every field, JSON-able."""
        out = asdict(self)
        out["processes"] = [{**asdict(p), "crashed": p.crashed} for p in self.processes]
        return out


# ----- processes -----------------------------------------------------------------------


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "optimizer.cli.main", *args]


def _env() -> dict[str, str]:
    env = {**os.environ, "V2C_API_KEY": DEMO_API_KEY, "PYTHONPATH": str(ROOT)}
    env.pop("V2C_SOLAR_DB", None)
    return env


class Child:
    """A child process reaped with `wait4`, which gives its own peak memory (also when
    SIGKILLed); `Popen.wait`/`poll` would reap it without."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=out, env=_env())
        self.status: int | None = None
        self.tree_max_rss_kb = 0
        self.hwm_kb = 0

    def poll(self) -> bool:
        """True once the process has exited (reaped here); samples its peak memory."""
        if self.status is None:
            self._sample_hwm()
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid != 0:
                self.status, self.tree_max_rss_kb = status, usage.ru_maxrss
        return self.status is not None

    def _sample_hwm(self) -> None:
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.hwm_kb = max(self.hwm_kb, int(line.split()[1]))

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for the exit, at most `timeout_s` (None: for ever); True if it exited."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self.poll():
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def signal(self, signum: int) -> None:
        if not self.poll():
            self.proc.send_signal(signum)

    def outcome(self, name: str, expected: str) -> ProcessRun:
        """How it ended (waits for it)."""
        self.wait()
        assert self.status is not None
        return ProcessRun(
            name=name,
            exit_code=os.waitstatus_to_exitcode(self.status),
            expected=expected,
            max_rss_mb=round(self.hwm_kb / 1024, 1),
            tree_max_rss_mb=round(self.tree_max_rss_kb / 1024, 1),
            traceback="Traceback" in self.log.read_text(errors="replace"),
        )


class Served:
    """`v2c-solar simulator serve` on a fixed port with a state file and the soak's
    clock file, restartable."""

    def __init__(self, workdir: Path, clock: FileClock, seed: int, faults: list[str]) -> None:
        self.workdir, self.clock, self.seed, self.faults = workdir, clock, seed, faults
        self.speed = clock.speed
        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        self.base_url = self.root + DEFAULT_BASE_PATH
        self.child: Child | None = None
        self.starts = 0
        self.http = httpx.Client(timeout=10.0)

    def start(self) -> None:
        self.starts += 1
        args = ["--port", str(self.port), "--speed", f"{self.speed:g}", "--seed", str(self.seed)]
        args += ["--state", str(self.workdir / "simulator.state"), *self.faults]
        args += ["--clock-file", str(self.clock.path)]
        log = self.workdir / f"simulator{self.starts}.log"
        self.child = Child(_cli("simulator", "serve", *args), log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.child.poll():
            try:
                self.http.get(f"{self.root}/sim/clock")
                return
            except httpx.TransportError:
                time.sleep(0.02)
        raise RuntimeError(f"the simulator did not come up: {log.read_text()}")

    def stop(self) -> ProcessRun:
        """SIGTERM (it writes its state file), and how it ended."""
        assert self.child is not None
        self.child.signal(signal.SIGTERM)
        return self.child.outcome(f"simulator #{self.starts}", "sigterm")

    def now(self) -> datetime:
        """Simulated time (the shared clock file: the simulator's and the daemon's)."""
        return self.clock.now()

    def revoke(self) -> datetime:
        """Revoke the key now (`POST /sim/revoke`); the simulated time it took effect."""
        answer = self.http.post(f"{self.root}/sim/revoke")
        answer.raise_for_status()
        return datetime.fromisoformat(answer.json()["revoked_at"])

    def truth(self, until: datetime) -> dict[str, Any]:
        answer = self.http.get(f"{self.root}/sim/truth", params={"until": until.isoformat()})
        body: dict[str, Any] = answer.json()
        return body


class Daemon:
    """`v2c-solar run --clock-file` against the served simulator (the same clock file)."""

    def __init__(self, workdir: Path, config: Path, db: str, base_url: str, clock: Path) -> None:
        self.workdir = workdir
        self.clock_file = str(clock)
        # The web API on a port the system picks: the default 127.0.0.1:8787 may be
        # taken (another soak, another daemon), and a soak must not depend on it.
        self.args = ["--config", str(config), "--db", db, "--base-url", base_url]
        self.args += ["--web", "127.0.0.1:0"]
        self.child: Child | None = None
        self.starts = 0
        self.http = httpx.Client(timeout=10.0)

    @property
    def name(self) -> str:
        return f"daemon #{self.starts}"

    def start(self) -> None:
        self.starts += 1
        log = self.workdir / f"daemon{self.starts}.log"
        self.child = Child(_cli("run", *self.args, "--clock-file", self.clock_file), log)

    def kill(self) -> ProcessRun:
        assert self.child is not None
        self.child.signal(signal.SIGKILL)
        return self.child.outcome(self.name, "sigkill")

    def wait(self, timeout_s: float, also: Child | None) -> ProcessRun:
        """Its own exit (the revoked key's 401); SIGTERM after `timeout_s`. Samples
        `also`'s memory meanwhile."""
        assert self.child is not None
        deadline = time.monotonic() + timeout_s
        while not self.child.poll() and time.monotonic() < deadline:
            if also is not None:
                also.poll()
            time.sleep(0.05)
        self.child.signal(signal.SIGTERM)
        return self.child.outcome(self.name, "key_refused")

    def running(self) -> bool:
        return self.child is not None and not self.child.poll()

    def status(self) -> dict[str, Any] | None:
        """This process's `GET /api/status` (its web API), None before its web server
        is up or when it does not answer."""
        found = WEB_LINE.search(self.log())
        if found is None:
            return None
        try:
            body: dict[str, Any] = self.http.get(f"{found.group(1)}/api/status").json()
        except (httpx.HTTPError, ValueError):
            return None
        return body

    def charger(self) -> dict[str, Any] | None:
        """The charger as this process last read it (None: see `status`)."""
        body = self.status()
        chargers: list[dict[str, Any]] = [] if body is None else body["chargers"]
        return chargers[0] if chargers else None

    def log(self) -> str:
        return "" if self.child is None else self.child.log.read_text(errors="replace")


def write_config(path: Path, db: str) -> None:
    """The app config of the simulator's default home (TOML), as `demo` builds it."""
    scenario = default_scenario()
    site = scenario.site
    lines = [
        "[site]",
        f"latitude = {site.latitude}",
        f"longitude = {site.longitude}",
        f"altitude_m = {site.altitude_m}",
        f'timezone = "{site.timezone}"',
    ]
    for array in site.arrays:
        lines += ["", "[[site.arrays]]"]
        lines += [f"{k} = {v}" for k, v in array.model_dump().items() if v is not None]
    for d in scenario.devices:
        lines += ["", "[[chargers]]", f'device_id = "{d.device_id}"', "", "[chargers.limits]"]
        limits = {
            "min_current_a": d.min_current_a,
            "max_current_a": d.max_current_a,
            "phases": d.phases,
            "voltage_v": d.voltage_v,
            "main_fuse_w": d.main_fuse_w,
        }
        lines += [f"{k} = {v}" for k, v in limits.items() if v is not None]
    lines += ["", "[storage]", f'url = "{db}"', ""]
    path.write_text("\n".join(lines))


# ----- the run ------------------------------------------------------------------------


def _fault_args(t: Timeline) -> list[str]:
    args = [arg for pair in FAULT_RATES.items() for arg in pair]
    args += ["--outage-start", t.outage[0].isoformat(), "--outage-end", t.outage[1].isoformat()]
    args += ["--throttle-start", t.throttle[0].isoformat()]
    args += ["--throttle-end", t.throttle[1].isoformat()]
    args += ["--offline", f"SIM0001@{t.offline[0].isoformat()}/{t.offline[1].isoformat()}"]
    return args


def _wait_for(
    sim: Served, daemon: Daemon, earliest: datetime, ready: Callable[[], bool], what: str
) -> None:
    """Wait until the simulated clock shows `earliest` and then until `ready()`: the
    scripted events wait for what the daemon has done, never for the wall clock, so
    a loaded machine (a process start taking a simulated day) moves them later
    instead of letting them land before the daemon got there.

    The wall limit is only a hang detector: twice the wall time `earliest` is away
    at the clock's speed, plus 10 minutes.
    """
    wait_s = max((earliest - sim.now()).total_seconds(), 0.0) / sim.speed
    deadline = time.monotonic() + 2 * wait_s + HANG_S
    while sim.now() < earliest or not ready():
        if sim.child is not None:
            sim.child.poll()  # samples its memory
        if not daemon.running():
            raise RuntimeError(f"{daemon.name} exited early: {daemon.log()[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the soak hangs: {daemon.name} never {what}")
        time.sleep(0.05)


def _reads_a_car(daemon: Daemon) -> bool:
    """The daemon's last reading shows a car plugged in (an open session row)."""
    charger = daemon.charger()
    return charger is not None and charger["session_energy_wh"] is not None


def _cycled(daemon: Daemon) -> bool:
    """This daemon process has run a charger cycle (read, or tried to: faults)."""
    body = daemon.status()
    return body is not None and body["decisions_made"] > 0


def _saw_every_car_leave(sim: Served, daemon: Daemon) -> bool:
    """No car is plugged in, and the daemon has read the charger since the last one
    left (its session row closed): all the energy there is to record, it could have."""
    charger = daemon.charger()
    if charger is None or charger["last_read_at"] is None:
        return False
    if charger["session_energy_wh"] is not None:
        return False
    ends = [s["end"] for s in sim.truth(sim.now())["sessions"]]
    if not ends or None in ends:
        return False
    last_left = max(datetime.fromisoformat(end) for end in ends)
    return datetime.fromisoformat(charger["last_read_at"]) > last_left


def _daemon_started(sim: Served, daemon: Daemon) -> None:
    """Start the daemon with the clock held; let it run once the daemon has run a cycle:
    a process start costs no simulated time, however long the machine takes."""
    sim.clock.hold()
    daemon.start()
    _wait_for(sim, daemon, sim.now(), lambda: _cycled(daemon), "ran a cycle")
    sim.clock.resume()


def _simulator_started(sim: Served) -> None:
    """Start the simulator with the clock held; let it run once the simulator answers."""
    sim.clock.hold()
    sim.start()
    sim.clock.resume()


def _run_on(sim: Served, daemon: Daemon, gap: timedelta) -> None:
    """Let the clock run `gap` of simulated time (a process is down meanwhile), then hold."""
    until = sim.now() + gap
    sim.clock.resume()
    while sim.now() < until:
        if daemon.child is not None:
            daemon.child.poll()  # samples its memory
        time.sleep(0.01)
    sim.clock.hold()


def run_soak(
    days: int = 30, speed: float = 2880.0, seed: int = 1, workdir: Path | None = None
) -> SoakReport:
    """Run the soak (see the module doc) and measure it."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="v2c-soak-"))
    timeline = Timeline.over(default_scenario().start_utc, days)
    db = f"sqlite:///{workdir / 'soak.db'}"
    config = workdir / "home.toml"
    write_config(config, db)
    clock_file = workdir / "clock.json"
    FileClock.write(clock_file, timeline.start, speed, running=False)
    sim = Served(workdir, FileClock(clock_file), seed, _fault_args(timeline))
    daemon = Daemon(workdir, config, db, sim.base_url, clock_file)
    processes: list[ProcessRun] = []
    wall0 = time.monotonic()
    try:
        _simulator_started(sim)
        _daemon_started(sim, daemon)
        _wait_for(sim, daemon, timeline.kill_daemon, lambda: _reads_a_car(daemon), "read a car")
        processes.append(daemon.kill())
        killed_at = sim.now()
        _run_on(sim, daemon, DAEMON_DOWN)
        _daemon_started(sim, daemon)
        _wait_for(sim, daemon, timeline.restart_simulator, lambda: True, "")
        down_from = sim.now()
        processes.append(sim.stop())
        _run_on(sim, daemon, SIMULATOR_DOWN)
        _simulator_started(sim)
        down_until = sim.now()
        _wait_for(
            sim,
            daemon,
            timeline.revoke,
            lambda: _saw_every_car_leave(sim, daemon),
            "saw the last car leave",
        )
        revoked_at = sim.revoke()
        processes.append(daemon.wait(HANG_S, also=sim.child))
        fatal = daemon.log()
        ended = sim.now()
        truth = sim.truth(ended)
        (workdir / "truth.json").write_text(json.dumps(truth))
        processes.append(sim.stop())
    finally:
        for child in (daemon.child, sim.child):
            if child is not None:
                child.signal(signal.SIGKILL)
    report = _measure(
        db, truth, timeline, processes, sim_down=(down_from, down_until), revoked_at=revoked_at
    )
    report.days, report.speed, report.seed = days, speed, seed
    report.wall_s = round(time.monotonic() - wall0, 1)
    report.fatal_names_401 = KEY_REFUSED in fatal
    report.notes += [
        f"daemon killed at {killed_at.isoformat(timespec='seconds')}",
        f"simulator down {down_from.isoformat(timespec='seconds')} .. "
        f"{down_until.isoformat(timespec='seconds')}",
        f"key revoked at {revoked_at.isoformat(timespec='seconds')}",
        f"daemon ended {ended.isoformat(timespec='seconds')}",
        f"workdir {workdir}",
    ]
    return report


# ----- measuring -----------------------------------------------------------------------


def _record(body: dict[str, Any]) -> SessionRecord:
    return SessionRecord(
        device_id=body["device_id"],
        start=datetime.fromisoformat(body["start"]),
        end=None if body["end"] is None else datetime.fromisoformat(body["end"]),
        energy_wh=body["energy_wh"],
        solar_wh=body["solar_wh"],
        grid_wh=body["energy_wh"] - body["solar_wh"],
    )


def _overlaps(truth: SessionRecord, recorded: SessionRecord, ended: datetime) -> bool:
    t_end = truth.end or ended
    r_end = recorded.end or ended
    return truth.device_id == recorded.device_id and recorded.start < t_end and truth.start < r_end


def _measure(
    db: str,
    truth: dict[str, Any],
    timeline: Timeline,
    processes: list[ProcessRun],
    *,
    sim_down: tuple[datetime, datetime],
    revoked_at: datetime,
) -> SoakReport:
    ended = datetime.fromisoformat(truth["time"])
    day0 = timeline.start.replace(hour=0, minute=0, second=0, microsecond=0)
    with SqlStore(db) as store:
        ledger = {d.isoformat(): n for d, n in store.calls_per_day(day0, ended).items() if n > 0}
        calls = store.calls_between(day0, ended + timedelta(minutes=1))
        recorded = store.sessions()
    server = {d: sum(by.values()) for d, by in truth["requests_per_day"].items()}
    counted = {d: by.get("counted", 0) for d, by in truth["requests_per_day"].items()}
    down_from, down_until = sim_down
    unanswered = sum(1 for c in calls if c.status is None and down_from <= c.time <= down_until)
    snapshot = truth["snapshots"].get(_iso(revoked_at))
    true_at_revocation = [_record(s) for s in (snapshot or truth["sessions"])]
    true_at_end = [_record(s) for s in truth["sessions"]]
    ours = [s for s in true_at_end if s.end is None or s.end >= timeline.start]
    lost = sum(1 for t in ours if not any(_overlaps(t, r, ended) for r in recorded))
    duplicated = sum(max(sum(1 for r in recorded if _overlaps(t, r, ended)) - 1, 0) for t in ours)
    ev_recorded = sum(s.energy_wh for s in recorded) / 1000
    ev_true = sum(s.energy_wh for s in true_at_revocation) / 1000
    after = sum(s.energy_wh for s in true_at_end) / 1000 - ev_true
    per_day_max = max([*ledger.values(), *counted.values()], default=0)
    return SoakReport(
        days=0,
        speed=0.0,
        seed=0,
        wall_s=0.0,
        timeline={k: _iso_any(v) for k, v in asdict(timeline).items()},
        processes=processes,
        crashes=sum(1 for p in processes if p.crashed),
        fatal_names_401=False,
        days_over_limit=sum(1 for n in [*ledger.values(), *counted.values()] if n > DAILY_LIMIT),
        max_calls_per_day=per_day_max,
        ledger_per_day=ledger,
        server_per_day=server,
        server_counted_per_day=counted,
        server_by_outcome=_by_outcome(truth["requests_per_day"]),
        ledger_by_answer=_by_answer(calls),
        unanswered_while_down=unanswered,
        ledger_minus_server=sum(ledger.values()) - unanswered - sum(server.values()),
        sessions_true=len(ours),
        sessions_recorded=len(recorded),
        sessions_lost=lost,
        sessions_duplicated=duplicated,
        ev_kwh_recorded=round(ev_recorded, 3),
        ev_kwh_true=round(ev_true, 3),
        ev_error_pct=round(100 * (ev_recorded - ev_true) / ev_true, 2) if ev_true else 0.0,
        after_revocation_kwh=round(after, 3),
    )


def _by_outcome(per_day: dict[str, dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for by in per_day.values():
        for outcome, n in by.items():
            out[outcome] = out.get(outcome, 0) + n
    return dict(sorted(out.items()))


def _by_answer(calls: list[ApiCall]) -> dict[str, int]:
    out: dict[str, int] = {}
    for call in calls:
        status = call.status
        key = "none" if status is None else "5xx" if status >= 500 else str(status)
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items()))


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _iso_any(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return " .. ".join(_iso_any(v) for v in value)
    return str(value)


# ----- output --------------------------------------------------------------------------


def table(report: SoakReport) -> str:
    """The report as a markdown table (and the per-day calls beneath)."""
    rows = [
        ("simulated days", f"{report.days} at {report.speed:g}x, seed {report.seed}"),
        ("wall time", f"{report.wall_s:.0f} s"),
        ("crashes (traceback or unexpected exit)", str(report.crashes)),
        ("ended on the revoked key, `fatal` names the 401", str(report.fatal_names_401)),
        ("days over 1000 calls (ledger or server)", str(report.days_over_limit)),
        ("most calls in a day", str(report.max_calls_per_day)),
        (
            "ledger - server requests (after the calls into the simulator's restart)",
            f"{report.ledger_minus_server} ({sum(report.ledger_per_day.values())} - "
            f"{report.unanswered_while_down} - {sum(report.server_per_day.values())})",
        ),
        ("requests the simulator received, by outcome", _pairs(report.server_by_outcome)),
        ("the ledger's calls, by answer", _pairs(report.ledger_by_answer)),
        ("sessions: true / recorded", f"{report.sessions_true} / {report.sessions_recorded}"),
        (
            "session rows lost / duplicated",
            f"{report.sessions_lost} / {report.sessions_duplicated}",
        ),
        (
            "EV energy recorded / true (to the revocation)",
            f"{report.ev_kwh_recorded:.3f} / {report.ev_kwh_true:.3f} kWh "
            f"({report.ev_error_pct:+.2f} %)",
        ),
        ("EV energy after the revocation (unreadable)", f"{report.after_revocation_kwh:.3f} kWh"),
    ]
    for p in report.processes:
        rows.append(
            (
                f"{p.name}: exit, peak RSS (with its children)",
                f"{p.exit_code} ({p.expected}), {p.max_rss_mb:.0f} MB "
                f"({p.tree_max_rss_mb:.0f} MB)" + (", TRACEBACK" if p.traceback else ""),
            )
        )
    out = ["| check | result |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)]
    out += ["", *(f"- {note}" for note in report.notes)]
    days = sorted(set(report.ledger_per_day) | set(report.server_per_day))
    out += ["", "| day | ledger | server requests | server counted |", "|---|---|---|---|"]
    for d in days:
        out.append(
            f"| {d} | {report.ledger_per_day.get(d, 0)} | {report.server_per_day.get(d, 0)} "
            f"| {report.server_counted_per_day.get(d, 0)} |"
        )
    return "\n".join(out)


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--speed", type=float, default=2880.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    report = run_soak(args.days, args.speed, args.seed, args.workdir)
    print(json.dumps(report.as_json(), indent=2) if args.json else table(report))


if __name__ == "__main__":
    main()


__all__ = ["SoakReport", "Timeline", "run_soak", "table"]
