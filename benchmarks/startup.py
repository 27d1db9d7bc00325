"""Start-up time and memory of the `v2c-solar` command (BENCHMARKS.md, section 5).

Four figures, each from fresh interpreters run as a user would run the command:

- `--help` wall time, best of N, beside `python -c "import typer, rich, httpx"` measured in
  the same run (the floor any typer + rich + httpx command pays): goal ratio <= 3;
- peak resident memory (MB) of `--help` (the child's own `ru_maxrss`): goal <= 80 MB;
- resident memory (MB, VmRSS) of `v2c-solar run` after `--settle` seconds against the
  simulator served by a separate `v2c-solar simulator serve` process: goal <= 150 MB;
- the clear-sky child process `run` starts once per 8 days: wall time and peak memory;
- with `--imports`: what each step of the `run` command's imports adds to the resident
  memory and the wall time, in one fresh interpreter, in the order `run` needs them.

Run from the repository root:

    .venv/bin/python benchmarks/startup.py [--repeat 3] [--settle 40] [--skip-run] [--imports]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = (sys.executable, "-m", "optimizer.cli.main")
FLOOR = (sys.executable, "-c", "import typer, rich, httpx")
HELP_RATIO_GOAL = 3.0
HELP_RSS_GOAL_MB = 80.0
RUN_RSS_GOAL_MB = 150.0
SIM_DEVICE_ID = "SIM0001"
"""The device of the simulator's default scenario; the run's config names it."""


def timed(cmd: Sequence[str]) -> tuple[float, float]:
    """(wall seconds, peak resident MB) of one run of `cmd`, output discarded.

    `os.wait4` gives this child's own rusage (`ru_maxrss` in KiB on Linux), not
    the maximum over every child this process has waited for.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit code {proc.returncode}")
    return wall, usage.ru_maxrss / 1024.0


def best_of(cmd: Sequence[str], repeat: int) -> tuple[float, float]:
    """The best wall time of `repeat` runs and the largest peak resident MB among them."""
    runs = [timed(cmd) for _ in range(repeat)]
    return min(wall for wall, _ in runs), max(mb for _, mb in runs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    """Block until the simulator accepts connections (it binds before it prints)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"simulator exited with code {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"simulator did not listen on port {port} within {timeout_s:.0f} s")


def run_config(directory: Path) -> Path:
    """`config/home.toml` with its charger renamed to the simulator's default device."""
    text = (ROOT / "config" / "home.toml").read_text(encoding="utf-8")
    path = directory / "home.toml"
    path.write_text(text.replace('"YOUR_DEVICE_ID"', f'"{SIM_DEVICE_ID}"'), encoding="utf-8")
    return path


def status_mb(pid: int, field: str) -> float:
    """`VmRSS` / `VmHWM` of a live process from /proc, in MB."""
    text = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    match = re.search(rf"^{field}:\s+(\d+) kB$", text, re.MULTILINE)
    if match is None:
        raise SystemExit(f"/proc/{pid}/status has no {field}")
    return int(match.group(1)) / 1024.0


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT (the daemon's clean stop), then SIGKILL if it does not end in 30 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_resident(settle_s: float) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB of `v2c-solar run` after `settle_s` against a served simulator."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="v2c-startup-") as tmp:
        directory = Path(tmp)
        sim = subprocess.Popen(
            [*CLI, "simulator", "serve", "--port", str(port)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for_port(port, sim)
            env = os.environ | {
                "V2C_API_KEY": "demo-key",
                "V2C_BASE_URL": f"http://127.0.0.1:{port}/kong/v2c_service",
            }
            run = subprocess.Popen(
                [*CLI, "run", "--web", "127.0.0.1:0", "--config", str(run_config(directory)),
                 "--db", f"sqlite:///{directory / 'run.db'}"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            try:
                time.sleep(settle_s)
                if run.poll() is not None:
                    err = run.stderr.read().decode() if run.stderr else ""
                    raise SystemExit(f"run exited early ({run.returncode}): {err.strip()}")
                return status_mb(run.pid, "VmRSS"), status_mb(run.pid, "VmHWM")
            finally:
                stop(run)
        finally:
            stop(sim)


RUN_IMPORTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("the CLI: typer, rich, optimizer.cli.main", ("optimizer.cli.main",)),
    ("numpy (optimizer.interfaces)", ("numpy",)),
    (
        "V2C client: httpx, pydantic, yaml",
        ("adapters.v2c_cloud", "adapters.v2c_cloud.charger"),
    ),
    ("SQLAlchemy store", ("adapters.storage.sql_store",)),
    ("APScheduler", ("apscheduler.schedulers.background", "apscheduler.executors.pool")),
    ("config, controller, policies, budget", ("optimizer.config", "optimizer.budget")),
    ("forecast, daemon wiring", ("optimizer.forecast.forecaster", "optimizer.daemon.wiring")),
    ("child only: pyarrow (imported by pandas 3)", ("pyarrow", "pyarrow.compute")),
    ("child only: pandas (imported by pvlib)", ("pandas",)),
    (
        "child only: scipy (imported by pvlib)",
        tuple(
            f"scipy.{name}"
            for name in ("special", "integrate", "optimize", "interpolate", "spatial", "sparse")
        ),
    ),
    ("child only: h5py, requests (imported by pvlib)", ("h5py", "requests")),
    ("child only: pvlib, the clear-sky model", ("optimizer.forecast.clearsky_model",)),
)
"""Steps of `run`'s imports, then those of its clear-sky child process (`InChildProcess`),
which `run` itself never loads; each step's cost is what it adds after the steps before it."""

CHILD_DAYS = 8
"""Days per clear-sky computation: the forecaster's `CLEAR_SKY_PREFETCH_DAYS`."""


def clear_sky_child(repeat: int) -> tuple[float, float]:
    """(best wall seconds, largest peak resident MB) of the clear-sky child computing
    `CHILD_DAYS` days, as `run` starts it (`python -m optimizer.forecast.clearsky_compute`)."""
    from optimizer.forecast.clearsky_compute import CHILD_MODULE
    from optimizer.site import GRAZ

    runs = []
    with tempfile.TemporaryFile() as request:
        request.write(f"{20_600} {CHILD_DAYS}\n{GRAZ.model_dump_json()}".encode())
        for _ in range(repeat):
            request.seek(0)
            started = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", CHILD_MODULE],
                cwd=ROOT, stdin=request, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            _, status, usage = os.wait4(proc.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit("the clear-sky child failed")
            runs.append((time.perf_counter() - started, usage.ru_maxrss / 1024.0))
    return min(s for s, _ in runs), max(mb for _, mb in runs)


IMPORT_STEPS = """
import importlib, json, re, sys, time
def rss():
    text = open("/proc/self/status").read()
    return int(re.search(r"VmRSS:\\s+(\\d+)", text).group(1)) / 1024.0
rows = [("interpreter", rss(), 0.0)]
for label, modules in json.loads(sys.argv[1]):
    started = time.perf_counter()
    for module in modules:
        importlib.import_module(module)
    rows.append((label, rss(), time.perf_counter() - started))
print(json.dumps(rows))
"""


def import_costs() -> list[tuple[str, float, float]]:
    """(step, resident MB after it, its import seconds) for `RUN_IMPORTS`, one interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_STEPS, json.dumps(RUN_IMPORTS)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [(str(label), float(mb), float(s)) for label, mb, s in json.loads(done.stdout)]


def print_import_costs() -> None:
    print("| step of `run`'s imports, then its child's | + MB | MB after | s |")
    print("|---|---|---|---|")
    before = 0.0
    for label, mb, seconds in import_costs():
        print(f"| {label} | {mb - before:+.0f} | {mb:.0f} | {seconds:.2f} |")
        before = mb


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per wall time (best of)")
    parser.add_argument("--settle", type=float, default=40.0, help="seconds before VmRSS")
    parser.add_argument("--skip-run", action="store_true", help="only the --help figures")
    parser.add_argument("--imports", action="store_true", help="also the cost of each import")
    args = parser.parse_args()
    if args.imports:
        print_import_costs()

    floor_s, floor_mb = best_of(FLOOR, args.repeat)
    help_s, help_mb = best_of([*CLI, "--help"], args.repeat)
    ratio = help_s / floor_s
    print(f"import typer, rich, httpx: {floor_s:.3f} s, {floor_mb:.0f} MB peak")
    print(
        f"v2c-solar --help: {help_s:.3f} s (best of {args.repeat}), ratio {ratio:.1f}x "
        f"(goal <= {HELP_RATIO_GOAL:g}x: {verdict(ratio <= HELP_RATIO_GOAL)}), "
        f"{help_mb:.0f} MB peak (goal <= {HELP_RSS_GOAL_MB:g}: "
        f"{verdict(help_mb <= HELP_RSS_GOAL_MB)})"
    )
    device_s, device_mb = best_of([*CLI, "device", "--help"], args.repeat)
    print(
        f"v2c-solar device --help: {device_s:.3f} s, ratio {device_s / floor_s:.1f}x, "
        f"{device_mb:.0f} MB peak (no goal; every device command pays at least this)"
    )
    if args.skip_run:
        return
    child_s, child_mb = clear_sky_child(args.repeat)
    print(
        f"clear-sky child process, {CHILD_DAYS} days: {child_s:.2f} s (best of {args.repeat}), "
        f"{child_mb:.0f} MB peak"
    )
    rss, hwm = run_resident(args.settle)
    print(
        f"v2c-solar run after {args.settle:g} s against the simulator: {rss:.0f} MB resident "
        f"(peak {hwm:.0f} MB; goal <= {RUN_RSS_GOAL_MB:g}: {verdict(rss <= RUN_RSS_GOAL_MB)})"
    )


if __name__ == "__main__":
    main()
