"""Record and compare what backtests did, to prove a speed-up changed nothing that matters.

    .venv/bin/python benchmarks/trace_backtest.py record before.json [--days 3]
        [--slices summer,spring,winter] [--contenders solar_only,target,...] [--awake]
    .venv/bin/python benchmarks/trace_backtest.py compare before.json after.json

`record` runs each contender on each real-2017 slice with `run_backtest` (contenders
include `target_window`, target with the "window" planner, since `target` now plans
least-cost) and keeps
two views of every run:

* `charger`: what reached the charger and the car: every command (time, kind,
  value, ok), every API call (time, endpoint, status), every reading (time and
  all its values), the world's per-step truth (`BacktestResult.steps`: PV, house,
  car power, current, setpoint, mode, energy split per world step), its energy
  totals and sessions (Wh). A change in how often the controller *wakes up* must
  leave all of this identical.
* `cycles`: the per-cycle view: every decision (time, state, reason) and the
  per-cycle log. A pure speed-up (same cycles) must leave this identical too; a
  change that drops idle cycles (a policy promising its decision holds) must leave
  every kept cycle's decision and calls identical and drop only cycles that made no
  call and sent no command ("identical but for N idle cycles dropped").

`record --awake` runs the controller checking in every `max_cycle_interval_s` all
along (`idle_max_interval_s` at the check-in interval: no sleeping at all), the
reference every way of sleeping must be "identical but for idle cycles dropped" to.

`compare` says for each slice and contender which views are identical and shows
the first difference. Energies are compared exactly and, separately, to 1e-6 Wh
(readings' values included): the world folds its energy sums one step at a time, so
splitting the same steps at other cycle times changes no bit, but a change to how
the world sums moves their last bits once (the step-by-step fold did, h-fast5).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import optimizer.backtest.engine as engine
from adapters.storage.memory import MemoryStore
from optimizer.backtest.compare import contenders as all_contenders
from optimizer.backtest.dataset import load_real_2017
from optimizer.backtest.engine import (
    PRICE_BASELINE_NAMES,
    BacktestResult,
    BacktestSetup,
    Contender,
    baseline_contender,
    run_backtest,
)
from optimizer.cycle.settings import ControllerSettings

SLICES = {
    "summer": date(2017, 6, 1),
    "spring": date(2017, 5, 1),
    "winter": date(2017, 1, 9),
}
"""Slice starts (local midnight, Europe/Vienna); January 1-2 has no PV data, so the 9th."""

DEFAULT_CONTENDERS = (
    "solar_only,target,target_window,min_solar,evcc_style_budget,device_exclusive_pv"
)

ENERGY_TOLERANCE_WH = 1e-6


class _RecordingStore(MemoryStore):
    """A `MemoryStore` that remembers the last instance made (the run's store)."""

    last: MemoryStore | None = None

    def __init__(self) -> None:
        super().__init__()
        _RecordingStore.last = self


def run_traced(
    inputs: Any, contender: Contender, setup: BacktestSetup | None = None
) -> tuple[BacktestResult, MemoryStore]:
    """`run_backtest` with its store kept (the engine builds a `MemoryStore` itself)."""
    original = engine.MemoryStore
    engine.MemoryStore = _RecordingStore  # type: ignore[misc]
    try:
        result = run_backtest(inputs, contender, setup)
    finally:
        engine.MemoryStore = original  # type: ignore[misc]
    store = _RecordingStore.last
    assert store is not None
    return result, store


def trace(result: BacktestResult, store: MemoryStore) -> dict[str, Any]:
    """The two views of one run (see the module docstring), JSON-ready."""
    commands = [[c.time.isoformat(), c.kind, c.value, c.ok] for c in store.commands]
    readings = [
        [r.time.isoformat(), *(repr(v) for v in _reading_values(r))] for r in store.observations
    ]
    charger = {
        "commands": commands,
        "calls": [[c.time.isoformat(), c.endpoint, c.status] for c in store.calls],
        "readings": readings,
        "steps": json.loads(result.steps.to_json(orient="values", date_format="iso")),
        "totals": result.totals,
        "sessions": json.loads(result.sessions.to_json(orient="records", date_format="iso")),
    }
    cycles = {
        "decisions": [
            [d.time.isoformat(), d.charging, d.current_a, int(d.pv_mode), d.reason, d.surplus_w]
            for d in store.decisions
        ],
        "cycle_log": result.cycle_log.to_csv(index=False),
    }
    return {"cycles_count": result.cycles, "charger": charger, "cycles": cycles}


def _reading_values(reading: Any) -> list[Any]:
    names = getattr(reading, "__dataclass_fields__", {})
    return [getattr(reading, n) for n in names if n != "time"]


def awake_setup() -> BacktestSetup:
    """The default setup with a controller that never sleeps past a check-in."""
    check_in_s = ControllerSettings().max_cycle_interval_s
    return BacktestSetup(controller=ControllerSettings(idle_max_interval_s=check_in_s))


def record(
    path: Path, slices: list[str], names: list[str], days: int, *, awake: bool = False
) -> None:
    setup = awake_setup() if awake else None
    out: dict[str, Any] = {}
    wanted = set(names)
    for slice_name in slices:
        inputs = load_real_2017(SLICES[slice_name], days)
        policies = [
            n
            for n in names
            if not n.startswith(("device_", "evcc_style")) and n not in PRICE_BASELINE_NAMES
        ]
        extra = [baseline_contender(n) for n in names if n in PRICE_BASELINE_NAMES]
        for contender in [*all_contenders(policies), *extra]:
            if contender.name not in wanted:
                continue
            result, store = run_traced(inputs, contender, setup)
            out[f"{slice_name}/{contender.name}"] = trace(result, store)
            print(f"{slice_name}/{contender.name}: {result.cycles} cycles", flush=True)
    path.write_text(json.dumps(out))


def _first_difference(a: Any, b: Any, where: str = "") -> str | None:
    if type(a) is not type(b):
        return f"{where}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{where}.{key}: only in one"
            diff = _first_difference(a[key], b[key], f"{where}.{key}")
            if diff:
                return diff
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            diff = _first_difference(x, y, f"{where}[{i}]")
            if diff:
                return diff
        return None if len(a) == len(b) else f"{where}: length {len(a)} != {len(b)}"
    if isinstance(a, str) and "\n" in a:
        la, lb = a.splitlines(), b.splitlines()
        for i, (x, y) in enumerate(zip(la, lb, strict=False)):
            if x != y:
                return f"{where} line {i}: {x!r} != {y!r}"
        return None if len(la) == len(lb) else f"{where}: {len(la)} != {len(lb)} lines"
    return None if a == b else f"{where}: {a!r} != {b!r}"


def _rounded(value: Any) -> Any:
    """Floats rounded to the energy tolerance (for the 'within 1e-6 Wh' comparison); a
    reading's values are recorded as their repr, so a float's repr is rounded too."""
    if isinstance(value, float):
        return round(value / ENERGY_TOLERANCE_WH) * ENERGY_TOLERANCE_WH
    if isinstance(value, str):
        try:
            return _rounded(float(value))
        except (ValueError, OverflowError):  # not a number, or not a finite one
            return value
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _dropped_idle_cycles(before: dict[str, Any], after: dict[str, Any]) -> int | None:
    """How many cycles `after` lacks, when each of its cycles is one of `before`'s with the
    same decision (time, state, reason, surplus) and the same calls and commands, and every
    cycle it lacks made no call and sent no command; else None.

    The cycle log's `duration_s` (the time to the next cycle) is left out: dropping a
    cycle lengthens the one before it by construction."""
    kept = {json.dumps(d) for d in after["decisions"]}
    if not kept <= {json.dumps(d) for d in before["decisions"]}:
        return None
    rows_before = [_cycle_row(line) for line in before["cycle_log"].splitlines()[1:]]
    rows_after = {_cycle_row(line) for line in after["cycle_log"].splitlines()[1:]}
    if not rows_after <= set(rows_before):
        return None
    dropped = [row for row in rows_before if row not in rows_after]
    if any(row[1:] != ("0", "0", "0", "0") for row in dropped):
        return None  # a dropped cycle called or commanded
    return len(dropped)


def _cycle_row(line: str) -> tuple[str, ...]:
    """A cycle-log line (time, duration_s, calls, commands, set_current, deferred) less
    its duration."""
    time, _duration, *rest = line.split(",")
    return (time, *rest)


def compare(before: Path, after: Path) -> bool:
    """Print which views match per run; True when every `charger` view matches."""
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    ok = True
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            print(f"{key}: only in one file")
            ok = False
            continue
        ta, tb = a[key], b[key]
        cycles = f"{ta['cycles_count']} -> {tb['cycles_count']} cycles"
        charger_exact = _first_difference(ta["charger"], tb["charger"])
        charger_close = _first_difference(_rounded(ta["charger"]), _rounded(tb["charger"]))
        per_cycle = _first_difference(ta["cycles"], tb["cycles"])
        if charger_exact is None:
            verdict = "charger view identical"
        elif charger_close is None:
            verdict = f"charger view identical within {ENERGY_TOLERANCE_WH:g} Wh"
        else:
            verdict = f"CHARGER VIEW DIFFERS at {charger_close}"
            ok = False
        if per_cycle is None:
            verdict += "; per-cycle view identical"
        else:
            dropped = _dropped_idle_cycles(ta["cycles"], tb["cycles"])
            verdict += "; per-cycle view " + (
                "differs" if dropped is None else f"identical but for {dropped} idle cycles dropped"
            )
        print(f"{key}: {cycles}; {verdict}")
        if charger_close is None and charger_exact is not None:
            print(f"    last-bit energy difference, first at {charger_exact}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("path", type=Path)
    rec.add_argument("--days", type=int, default=3)
    rec.add_argument("--slices", default=",".join(SLICES))
    rec.add_argument("--contenders", default=DEFAULT_CONTENDERS)
    rec.add_argument(
        "--awake", action="store_true", help="a controller that checks in all along (no sleep)"
    )
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("before", type=Path)
    cmp_.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "record":
        slices, names = args.slices.split(","), args.contenders.split(",")
        record(args.path, slices, names, args.days, awake=args.awake)
        return 0
    return 0 if compare(args.before, args.after) else 1


if __name__ == "__main__":
    sys.exit(main())
