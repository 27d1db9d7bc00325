"""The backtest engine: the real controller, in-process, over the one world model.

Nothing is re-implemented for backtests. A run is wired by the daemon's own
composition root (`optimizer.composition.build_site`), with in-process adapters:

* charger: `adapters.simulator.inprocess.WorldCharger` over a `World` built from
  the user's PV and household series and plug-in sessions (the one physical model);
* clock: `SimClock`, moved by the loop below;
* store: `MemoryStore`; forecaster: `PvForecaster` for the site, with the setup's
  forecast mode as its weather source (`optimizer.backtest.forecast_modes`: offline,
  the oracle, or archived forecasts replayed by issue time);
* read scheduler: the site's `BudgetPlanner` for product policies (the very
  planner the daemon runs, clear-sky PV profile included), a
  `FixedIntervalSchedule` for the baselines (see `Contender`).

The loop is the daemon's own scheduling core (`Daemon.run_cycles`), compressed in
time: each cycle runs at the `next_cycle_at` the controller asked for, the quota day
rolls at its boundary as it does at home, and between due times the world is
advanced (`drive`). So a backtest makes the decisions the daemon would make on the
same inputs; `tests/test_backtest_daemon_equivalence.py` checks it against the
daemon talking HTTP to the simulator.

Two frames come out of a run:

* `steps`: one row per world step (`STEP_COLUMNS`), from the world's per-step record
  (`World.record`, the truth): PV, household, the car's actual power and current,
  the offer cap, mode, paused and plugged in, the energy split computed as the
  world's bookkeeping does (so the rows sum to its `EnergyTotals`), and the API
  calls and commands that fell in the step;
* `cycle_log`: one row per controller cycle (`CYCLE_COLUMNS`): when it ran, until
  the next one, the calls it spent and the commands it sent.

API calls are counted from the ledger the site's call listener records (one
`ApiCall` per attempt, as the daemon counts them).

Units: W, Wh, A, V, seconds; times tz-aware UTC.
"""

from __future__ import annotations

import math
import time as wall
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from adapters.simulator.inprocess import (
    DEFAULT_DAILY_LIMIT,
    SimClock,
    WorldCharger,
    account_quota,
)
from adapters.simulator.world import (
    CarConfig,
    DeviceConfig,
    HomeBatteryConfig,
    Scenario,
    StepSeries,
    World,
)
from adapters.storage.memory import MemoryStore
from optimizer.backtest.forecast_modes import OFFLINE, ForecastMode
from optimizer.backtest.price_source import DayAheadReplay
from optimizer.budget import BudgetConfig, FixedIntervalSchedule, LedgeredScheduler
from optimizer.composition import ChargerFactory, SiteParts, build_site
from optimizer.config import AppConfig, ChargerConfig
from optimizer.controller import ControllerSettings, CycleResult
from optimizer.daemon.wiring import build_daemon
from optimizer.forecast.config import ForecastConfig
from optimizer.interfaces import ApiCall, CallListener, Charger, Clock, Command, Decision, Store
from optimizer.limits import ChargerLimits
from optimizer.policies import Policy, PolicyConfig, TariffConfig, build_policy
from optimizer.policies.device_native import DeviceNativeParams, DeviceNativePolicy
from optimizer.policies.evcc_plan import EvccPlanPolicy
from optimizer.prices.port import PriceSource
from optimizer.site import SiteConfig

DEVICE_ID = "BT0001"
"""Device id of the simulated charger in a backtest."""

DEFAULT_STEP_S = 60.0
"""World step of a backtest (s): 1 minute, the resolution of the real data sets."""

BASELINE_NAMES: tuple[str, ...] = (
    "device_exclusive_pv",
    "device_pv_min",
    "evcc_style",
    "evcc_style_budget",
)
"""The baselines every backtest runs beside the chosen policies (the optimum is extra)."""

PRICE_BASELINE_NAMES: tuple[str, ...] = ("target_window", "evcc_plan")
"""The baselines of a backtest with prices that plans by departure (`target`):
`target_window` the old `target` (planner "window": the grid as late as possible),
`evcc_plan` evcc's planner (the cheapest slots for the whole missing energy, sun
ignored) over `evcc_style`, on the budget-held 90 s loop."""

STEP_COLUMNS = [
    "time",
    "duration_s",
    "pv_w",
    "house_w",
    "car_w",
    "current_a",
    "setpoint_a",
    "pv_mode",
    "paused",
    "plugged_in",
    "charging",
    "car_wh",
    "solar_wh",
    "grid_wh",
    "exported_wh",
    "calls",
    "commands",
    "set_current",
    "price_per_kwh",
    "export_price_per_kwh",
]
"""Columns of `BacktestResult.steps`, one row per world step [time, time + duration_s).

Powers in W (`house_w` without the car, `car_w` what the car actually drew),
`current_a` the car's actual current and `setpoint_a` the most the charger offered
(intensity capped by `max_car_int`, 0 while paused) in A; `pv_mode` the charger's
`chargefvmode`; `charging` whether power flowed in the step; energies in Wh;
`calls` API call attempts, `commands` successful writes of any kind and
`set_current` successful current writes made during the step; `price_per_kwh` and
`export_price_per_kwh` the import and export prices in force (EUR/kWh, NaN: none).
"""

CYCLE_COLUMNS = ["time", "duration_s", "calls", "commands", "set_current", "deferred"]
"""Columns of `BacktestResult.cycle_log`, one row per controller cycle (`deferred`: writes
the actuator put off for lack of call budget or while backing off)."""


@dataclass(frozen=True)
class BacktestInputs:
    """The data a backtest runs on.

    `pv_w` and `house_w` (W, household without the car) are tz-aware Series of any
    step covering [start, end); `sessions` has `arrival, departure, energy_kwh` and
    optional `max_current_a, phases` (UTC); `prices` (import, EUR/kWh) and
    `export_prices` (what a kWh fed in earns, EUR/kWh) are optional, by UTC interval start.
    Gaps must already be filled (see `optimizer.backtest.inputs.resample_to_step`).
    """

    pv_w: pd.Series
    house_w: pd.Series
    sessions: pd.DataFrame
    start: datetime
    end: datetime
    site: SiteConfig
    prices: pd.Series | None = None
    notes: tuple[str, ...] = ()
    export_prices: pd.Series | None = None

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise ValueError(f"BacktestInputs.{name} must be a tz-aware datetime")
        if self.end <= self.start:
            raise ValueError(f"end {self.end.isoformat()} is not after start {self.start}")

    @property
    def days(self) -> float:
        """Length of the simulated window (days)."""
        return (self.end - self.start).total_seconds() / 86400.0


@dataclass(frozen=True)
class BacktestSetup:
    """Everything about the installation and the controller that is not data."""

    limits: ChargerLimits = field(default_factory=ChargerLimits)
    car: CarConfig = field(default_factory=CarConfig)
    policies: PolicyConfig = field(default_factory=PolicyConfig)
    budget: BudgetConfig = field(default_factory=lambda: BudgetConfig())
    controller: ControllerSettings = field(default_factory=ControllerSettings)
    tariff: TariffConfig | None = None
    step_s: float = DEFAULT_STEP_S
    pv_mode_delay_s: float = 60.0
    pv_regulation_interval_s: float = 5.0
    home_battery: HomeBatteryConfig | None = None
    """The home's battery (None: none); the world dispatches it, the controller sees its power."""
    battery_to_car: bool = False
    """`[site].battery_to_car` of the simulated home: the battery may feed the car."""
    prices: PriceSource | None = None
    """The prices the decisions see, as at home: `target`'s least-cost planner plans with
    them, `solar_only`'s price limit compares with them, each decision records its import
    price (None: the inputs' price column, published day by day, see
    `optimizer.backtest.price_source`)."""
    forecast: ForecastMode = OFFLINE
    """What the forecaster knows beyond the measurements (`optimizer.backtest.forecast_modes`)."""

    def __post_init__(self) -> None:
        # The world model's charger has 1 or 3 phases; the config allows 2 (ChargerLimits).
        if self.limits.phases not in (1, 3):
            raise ValueError(
                f"limits.phases: backtests simulate 1 or 3 phases (got {self.limits.phases})"
            )


@dataclass(frozen=True)
class Contender:
    """One thing to backtest: a policy paired with its read schedule and quota.

    `make_schedule` None: the site's `BudgetPlanner`, as the composition root
    builds it at home (the product policies). `quota_limit` is the cloud's daily
    limit per account the `WorldCharger`s of a run enforce together (None:
    unlimited, to show what an unconstrained loop would spend).
    """

    name: str
    make_policy: Callable[[BacktestSetup], Policy]
    make_schedule: Callable[[BacktestSetup], LedgeredScheduler] | None = None
    quota_limit: int | None = DEFAULT_DAILY_LIMIT


def policy_contender(name: str) -> Contender:
    """A product policy from the setup's `PolicyConfig`, reads planned by the site's planner."""

    def policy(setup: BacktestSetup) -> Policy:
        return build_policy(setup.policies, name, setup.tariff, setup.prices)

    return Contender(name, policy)


def baseline_contender(name: str) -> Contender:
    """One of `BASELINE_NAMES`, as an ordinary policy with a fixed read schedule.

    device_* : the charger's own PV mode, never read (0 calls after the set-up writes);
    evcc_style: a 30 s loop, no daily limit; evcc_style_budget: 90 s, held to 1000.
    """
    if name in ("device_exclusive_pv", "device_pv_min"):
        params = DeviceNativeParams(
            mode="exclusive_pv" if name == "device_exclusive_pv" else "pv_min"
        )
        return Contender(
            name,
            lambda _s: DeviceNativePolicy(params),
            lambda _s: FixedIntervalSchedule.never(),
        )
    if name == "evcc_style":
        return Contender(
            name,
            lambda s: build_policy(s.policies, "evcc_style"),
            lambda _s: FixedIntervalSchedule(30.0),
            quota_limit=None,
        )
    if name == "evcc_style_budget":
        return Contender(
            name,
            lambda s: build_policy(s.policies, "evcc_style"),
            lambda _s: FixedIntervalSchedule(90.0, daily_limit=DEFAULT_DAILY_LIMIT),
        )
    if name in PRICE_BASELINE_NAMES:
        return price_baseline_contender(name)
    known = ", ".join((*BASELINE_NAMES, *PRICE_BASELINE_NAMES))
    raise ValueError(f"unknown baseline {name!r}; known: {known}")


def price_baseline_contender(name: str) -> Contender:
    """One of `PRICE_BASELINE_NAMES` (see there)."""
    if name == "target_window":

        def window(setup: BacktestSetup) -> Policy:
            target = setup.policies.target.model_copy(update={"planner": "window"})
            policies = setup.policies.model_copy(update={"target": target})
            return build_policy(policies, "target", setup.tariff, setup.prices)

        return Contender(name, window)
    if name == "evcc_plan":
        return Contender(
            name,
            lambda s: EvccPlanPolicy(s.policies.evcc_style, s.policies.target, s.prices),
            lambda _s: FixedIntervalSchedule(90.0, daily_limit=DEFAULT_DAILY_LIMIT),
        )
    raise ValueError(f"unknown baseline {name!r}; known: {', '.join(PRICE_BASELINE_NAMES)}")


def contender_named(name: str) -> Contender:
    """The contender called `name`: one of `BASELINE_NAMES`, else a product policy."""
    if name in BASELINE_NAMES or name in PRICE_BASELINE_NAMES:
        return baseline_contender(name)
    return policy_contender(name)


@dataclass
class BacktestResult:
    """One contender's run: the per-step and per-cycle frames, the sessions and the ledger.

    `steps` has `STEP_COLUMNS`, one row per world step (the truth, see the module
    doc); `cycle_log` has `CYCLE_COLUMNS`, one row per controller cycle; `sessions`
    one row per plug-in session as the world saw it; `calls` every API call
    attempt; `totals` the world's energy sums (Wh); `cycles` how many cycles ran;
    `decisions` and `commands` what the controller decided and sent, as recorded.
    """

    name: str
    inputs: BacktestInputs
    setup: BacktestSetup
    steps: pd.DataFrame
    sessions: pd.DataFrame
    calls: list[ApiCall]
    totals: dict[str, float]
    runtime_s: float
    cycles: int
    cycle_log: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CYCLE_COLUMNS))
    metrics: dict[str, float | int | None] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)


def build_world(inputs: BacktestInputs, setup: BacktestSetup) -> World:
    """The world for a run: the site, one charger wired as the limits say, the data."""
    limits = setup.limits
    device = DeviceConfig(
        device_id=DEVICE_ID,
        phases=limits.phases,  # type: ignore[arg-type]
        voltage_v=limits.voltage_v,
        min_current_a=limits.min_current_a,
        max_current_a=limits.max_current_a,
        main_fuse_w=limits.main_fuse_w,
        initial_current_a=limits.max_current_a,
        car=setup.car,
    )
    scenario = Scenario(
        name="backtest",
        site=inputs.site,
        devices=(device,),
        start=inputs.start.astimezone(UTC),
        pv_mode_delay_s=setup.pv_mode_delay_s,
        pv_regulation_interval_s=setup.pv_regulation_interval_s,
        home_battery=setup.home_battery,
    )
    sessions = _world_sessions(inputs.sessions)
    return World(
        scenario,
        step_s=setup.step_s,
        pv_w=_cover_utc_days(inputs.pv_w, inputs.start, inputs.end),
        house_w=_cover_utc_days(inputs.house_w, inputs.start, inputs.end),
        sessions=sessions,
    )


def _cover_utc_days(series: pd.Series, start: datetime, end: datetime) -> pd.Series:
    """Extend `series` with its edge values to the UTC midnights around [start, end).

    The world prepares whole UTC days; values outside [start, end) are never simulated.
    """
    values = series.astype("float64").dropna().sort_index()
    if values.empty:
        raise ValueError(f"{series.name}: no data")
    values.index = values.index.tz_convert("UTC")
    first = pd.Timestamp(start).tz_convert("UTC").floor("D")
    last = pd.Timestamp(end).tz_convert("UTC").ceil("D") + pd.Timedelta(days=1)
    if values.index[0] > pd.Timestamp(start) or values.index[-1] < pd.Timestamp(end) - pd.Timedelta(
        hours=1
    ):
        raise ValueError(
            f"{series.name}: covers {values.index[0]} .. {values.index[-1]}, "
            f"not the simulated window {start.isoformat()} .. {end.isoformat()}"
        )
    pad = pd.Series(
        [values.iloc[0], values.iloc[-1]], index=pd.DatetimeIndex([first, last]), dtype="float64"
    )
    extended = pd.concat([pad.iloc[:1], values, pad.iloc[1:]])
    return extended[~extended.index.duplicated(keep="last")].sort_index()


def _world_sessions(sessions: pd.DataFrame) -> pd.DataFrame:
    """Sessions as the world reads them (phases 2 is simulated as 1, NaNs dropped)."""
    frame = sessions.copy()
    if "phases" in frame.columns:
        phases = pd.to_numeric(frame["phases"], errors="coerce").astype("float64")
        frame["phases"] = phases.where(phases != 2.0, 1.0)
    return frame


class _Active:
    """Which input session is active at a time (for `set_session_target`)."""

    def __init__(self, sessions: pd.DataFrame) -> None:
        self.arrival = [pd.Timestamp(t).to_pydatetime() for t in sessions["arrival"]]
        self.departure = [pd.Timestamp(t).to_pydatetime() for t in sessions["departure"]]
        self.energy_wh = [float(e) * 1000.0 for e in sessions["energy_kwh"]]
        self.i = 0

    def at(self, t: datetime) -> tuple[float | None, datetime | None]:
        while self.i < len(self.departure) and self.departure[self.i] <= t:
            self.i += 1
        if self.i < len(self.arrival) and self.arrival[self.i] <= t:
            return self.energy_wh[self.i], self.departure[self.i]
        return None, None


def backtest_config(inputs: BacktestInputs, setup: BacktestSetup) -> AppConfig:
    """The app config of the simulated home: the inputs' site, one charger, the setup."""
    site = inputs.site
    if setup.battery_to_car != site.battery_to_car:
        site = site.model_copy(update={"battery_to_car": setup.battery_to_car})
    return AppConfig(
        site=site,
        chargers=(ChargerConfig(device_id=DEVICE_ID, limits=setup.limits),),
        policy=setup.policies,
        budget=setup.budget,
        controller=setup.controller,
        tariff=setup.tariff,
        forecast=setup.forecast.config or ForecastConfig(),
    )


def build_contender_site(
    inputs: BacktestInputs,
    contender: Contender,
    setup: BacktestSetup,
    chargers: ChargerFactory,
    clock: Clock,
    store: Store,
) -> SiteParts:
    """What the composition root wires for `contender`, for any charger.

    The backtest passes in-process `WorldCharger`s; the equivalence test the
    daemon's `CloudCharger`s talking HTTP to the simulator over the same world.
    The contender's policy and read schedule override the config's; the prices the
    decisions see are the setup's (the inputs' price column, published day by day); the
    setup's forecast mode gives the forecaster its source and the daemon the job that
    refreshes it (`weather`, `jobs`; none offline).
    """
    priced = setup_with_prices(setup, inputs)
    make = setup.forecast.make_source
    forecast = None if make is None else make(clock)
    return build_site(
        backtest_config(inputs, setup),
        chargers,
        clock,
        store,
        policy=lambda: contender.make_policy(priced),
        scheduler=None if contender.make_schedule is None else contender.make_schedule(setup),
        prices=priced.prices,
        weather=None if forecast is None else forecast.source,
        jobs=() if forecast is None else forecast.jobs,
    )


def setup_with_prices(setup: BacktestSetup, inputs: BacktestInputs) -> BacktestSetup:
    """The setup with the inputs' price column as its price source, unless it has one."""
    if setup.prices is not None or inputs.prices is None:
        return setup
    source = DayAheadReplay.from_column(inputs.prices, inputs.site.tz, inputs.export_prices)
    return setup if source is None else replace(setup, prices=source)


def drive(
    inputs: BacktestInputs,
    site: SiteParts,
    clock: SimClock,
    advance_world: Callable[[datetime], object],
    progress: Callable[[float], None] | None = None,
) -> pd.DataFrame:
    """Run `site` from `inputs.start` to `inputs.end` with the daemon's own core.

    `Daemon.run_cycles` decides when each cycle runs (the controller's
    `next_cycle_at`, the daily budget roll), exactly as at home; between due
    times `advance_world(t)` moves the world to `t`. Each session's energy
    wanted and departure are told to the controller from arrival on, as a user
    tells the app. Returns the per-cycle frame (`CYCLE_COLUMNS`).
    """
    active = _Active(inputs.sessions)
    span_s = (inputs.end - inputs.start).total_seconds()
    next_progress = [0.0]
    t_s: list[float] = []
    commands: list[int] = []
    writes: list[int] = []
    deferred: list[int] = []

    def advance(t: datetime) -> None:
        advance_world(t)
        clock.set(t)
        for controller in site.controllers:
            controller.set_session_target(*active.at(t))
        if progress is None:
            return
        done_s = (t - inputs.start).total_seconds()
        if done_s >= next_progress[0]:
            progress(min(1.0, done_s / span_s))
            next_progress[0] += 86400.0

    def on_cycle(result: CycleResult) -> None:
        t_s.append(result.time.timestamp())
        # most cycles send nothing and meet no error: no list or generator built for them
        sent = [c for c in result.commands if c.ok] if result.commands else []
        commands.append(len(sent))
        writes.append(sum(1 for c in sent if c.kind == "set_current") if sent else 0)
        deferred.append(sum(1 for e in result.errors if "deferred" in e) if result.errors else 0)

    daemon = build_daemon(site, on_cycle=on_cycle)
    daemon.run_cycles(inputs.end, advance)
    advance_world(inputs.end)
    if progress is not None:
        progress(1.0)
    times = np.asarray(t_s, dtype=float)
    ends = np.append(times[1:], inputs.end.timestamp())
    return pd.DataFrame(
        {
            "time": pd.to_datetime(times, unit="s", utc=True),
            "duration_s": ends - times,
            "calls": _calls_per_cycle(times, site.store),
            "commands": np.asarray(commands, dtype=np.int64),
            "set_current": np.asarray(writes, dtype=np.int64),
            "deferred": np.asarray(deferred, dtype=np.int64),
        },
        columns=CYCLE_COLUMNS,
    )


def _calls_per_cycle(cycle_s: npt.NDArray[np.float64], store: Store) -> npt.NDArray[np.int64]:
    """API calls made in each cycle: every call belongs to the last cycle started at or
    before it (calls are only made inside cycles)."""
    if cycle_s.size == 0:
        return np.zeros(0, dtype=np.int64)
    start = datetime.fromtimestamp(float(cycle_s[0]), UTC)
    end = datetime.fromtimestamp(float(cycle_s[-1]), UTC) + timedelta(days=1)
    call_s = np.fromiter((c.time.timestamp() for c in store.calls_between(start, end)), dtype=float)
    owner = np.searchsorted(cycle_s, call_s, side="right") - 1
    return np.bincount(owner[owner >= 0], minlength=cycle_s.size).astype(np.int64)


def run_backtest(
    inputs: BacktestInputs,
    contender: Contender,
    setup: BacktestSetup | None = None,
    *,
    progress: Callable[[float], None] | None = None,
) -> BacktestResult:
    """Run one contender over the inputs with the real controller; see the module doc.

    `progress` is called with the simulated fraction done (0..1) about once a day.
    """
    setup = setup or BacktestSetup()
    started = wall.perf_counter()
    world = build_world(inputs, setup)
    world.record(until=inputs.end)
    clock = SimClock(inputs.start)
    store = MemoryStore()

    # One run is one account: its chargers share the quota, as the cloud counts per key.
    quota = account_quota(contender.quota_limit)

    def charger(device_id: str, listener: CallListener) -> Charger:
        return WorldCharger(
            world, device_id, clock, listener, daily_limit=contender.quota_limit, quota=quota
        )

    site = build_contender_site(inputs, contender, setup, charger, clock, store)
    log = drive(inputs, site, clock, world.advance_to, progress)
    totals = world.totals(DEVICE_ID)
    steps = _steps_frame(world.recorded(DEVICE_ID), log, store.calls, inputs)
    return BacktestResult(
        name=contender.name,
        inputs=inputs,
        setup=setup,
        steps=steps,
        sessions=sessions_frame(world),
        calls=store.calls,
        totals={
            "energy_wh": totals.energy_wh,
            "solar_wh": totals.solar_wh,
            "grid_wh": totals.grid_wh,
            "pv_exported_wh": totals.pv_exported_wh,
            "pv_wh": totals.pv_wh,
            "household_wh": totals.household_wh,
            **home_flow_totals(world),
        },
        runtime_s=wall.perf_counter() - started,
        cycles=len(log),
        cycle_log=log,
        decisions=store.decisions,
        commands=store.commands,
    )


def home_flow_totals(world: World) -> dict[str, float]:
    """The home battery's energy sums (Wh, see `HomeFlows`), prefixed `battery_`/`grid_`;
    empty without a battery."""
    flows = world.home_flows(DEVICE_ID)
    if flows is None:
        return {}
    return {
        "battery_charged_wh": flows.charged_wh,
        "battery_discharged_wh": flows.discharged_wh,
        "battery_to_car_wh": flows.to_car_wh,
        "grid_import_wh": flows.grid_import_wh,
        "grid_export_wh": flows.grid_export_wh,
    }


def _steps_frame(
    series: StepSeries,
    cycle_log: pd.DataFrame,
    calls: list[ApiCall],
    inputs: BacktestInputs,
) -> pd.DataFrame:
    """One row per world step (`STEP_COLUMNS`) from the world's record and the ledger."""
    n = len(series)
    start_s = series.start.timestamp()
    car_wh, solar_wh = series.car_wh(), series.solar_wh()
    cycle_s = pd.DatetimeIndex(cycle_log["time"]).as_unit("ns").asi8 / 1e9
    call_s = np.fromiter((c.time.timestamp() for c in calls), dtype=float, count=len(calls))
    frame = pd.DataFrame(
        {
            "time": series.times(),
            "duration_s": np.full(n, series.step_s),
            "pv_w": series.pv_w,
            "house_w": series.household_w,
            "car_w": series.car_w,
            "current_a": series.current_a,
            "setpoint_a": series.setpoint_a,
            "pv_mode": series.pv_mode.astype(np.int64),
            "paused": series.paused,
            "plugged_in": series.plugged,
            "charging": series.car_w > 0.0,
            "car_wh": car_wh,
            "solar_wh": solar_wh,
            "grid_wh": car_wh - solar_wh,
            "exported_wh": series.exported_wh(),
            "calls": _per_step(call_s, start_s, series.step_s, n),
            "commands": _per_step(cycle_s, start_s, series.step_s, n, cycle_log["commands"]),
            "set_current": _per_step(cycle_s, start_s, series.step_s, n, cycle_log["set_current"]),
        }
    )
    for column, prices in (
        ("price_per_kwh", inputs.prices),
        ("export_price_per_kwh", inputs.export_prices),
    ):
        frame[column] = _prices_at(prices, frame["time"]) if prices is not None else math.nan
    return frame[STEP_COLUMNS]


def _per_step(
    times_s: np.ndarray,
    start_s: float,
    step_s: float,
    n: int,
    weights: pd.Series | None = None,
) -> np.ndarray:
    """How many events (or the sum of `weights`) fall in each of `n` steps from `start_s`."""
    index = np.floor((times_s - start_s) / step_s).astype(np.int64)
    outside = (index < 0) | (index >= n)
    if outside.any():
        first = float(times_s[outside][0])
        raise ValueError(f"event at {first} s outside the simulated steps (engine bug)")
    w = None if weights is None else weights.to_numpy(dtype=float)
    return np.bincount(index, weights=w, minlength=n).astype(np.int64)


def _prices_at(prices: pd.Series, times: pd.Series) -> np.ndarray:
    """The price in force at each time (the last price at or before it)."""
    series = prices.astype("float64").dropna().sort_index()
    series.index = series.index.tz_convert("UTC")
    position = series.index.searchsorted(pd.DatetimeIndex(times), side="right") - 1
    values = series.to_numpy()
    return np.where(position >= 0, values[np.clip(position, 0, None)], math.nan)


def sessions_frame(world: World) -> pd.DataFrame:
    """The world's sessions: start, end, target, energy split, arrival SoC, car headroom.

    `headroom_wh` is the AC energy the car could take from its arrival SoC to full
    (ignoring the taper): the most any schedule can put in it.
    """
    car = world.scenario.device(DEVICE_ID).car
    rows = []
    for log in world.sessions(DEVICE_ID):
        rows.append(
            {
                "start": log.start,
                "end": log.end,
                "planned_departure": log.planned_departure,
                "target_wh": log.target_wh,
                "energy_wh": log.energy_wh,
                "solar_wh": log.solar_wh,
                "grid_wh": log.grid_wh,
                "arrival_soc": log.arrival_soc,
                "headroom_wh": (1.0 - log.arrival_soc)
                * car.battery_kwh
                * 1000.0
                / car.charge_efficiency,
                "target_met": bool(log.target_met) if log.target_met is not None else None,
            }
        )
    columns = [
        "start",
        "end",
        "planned_departure",
        "target_wh",
        "energy_wh",
        "solar_wh",
        "grid_wh",
        "arrival_soc",
        "headroom_wh",
        "target_met",
    ]
    return pd.DataFrame(rows, columns=columns)


__all__ = [
    "BASELINE_NAMES",
    "CYCLE_COLUMNS",
    "DEFAULT_STEP_S",
    "DEVICE_ID",
    "PRICE_BASELINE_NAMES",
    "STEP_COLUMNS",
    "BacktestInputs",
    "BacktestResult",
    "BacktestSetup",
    "Contender",
    "backtest_config",
    "baseline_contender",
    "build_contender_site",
    "build_world",
    "contender_named",
    "policy_contender",
    "run_backtest",
    "sessions_frame",
]
