"""`solar_only`: charge the car from solar surplus only.

Two ways to follow the sun (`regulation`):

* ``"charger"`` (default): the charger's own exclusive-PV mode follows the
  surplus by itself (it measures every few seconds with its own clamp, at no
  call cost), with the maximum current as its cap, while the policy reads
  rarely (`handover_read_interval_s`). A cloud loop reading every minute or two
  cannot follow the sun better than that; what the policy adds is what the
  charger cannot know. With broken clouds over a bright background (the
  forecast's variability high and its expected surplus well above the minimum
  power) it *bridges*: it switches the charger to PV+min, which keeps charging
  at the minimum current through a cloud's shadow instead of stopping and
  waiting out the restart delay; the shadow's shortfall is drawn from the grid
  (it shows as grid energy). Bridging happens only while the session still
  lacks the energy wanted (when known), reads more often (`bridge_read_interval_s`)
  so a long shadow is noticed, and ends once a shadow has drawn
  `bridge_max_deficit_wh` or the expected surplus falls. Bridging is off by
  default (`bridge_surplus_ratio = None`): on real-2017 it put grid energy into
  cars the sun would have filled anyway and won less solar than it cost grid
  (benchmarks/policy_results.md).

  It also *follows the taper*: near full a car accepts less than the charger's
  minimum current (the constant-voltage taper), and a surplus below the minimum
  power can still pay for that whole draw, yet exclusive-PV mode stops below the
  minimum power. The policy learns from its readings what the car accepts (it
  draws less than the charger offers, below the minimum current: `CarAcceptance`)
  and, while the surplus covers that draw with a margin, switches the charger to
  PV+min, which offers the minimum current; the car takes only what it accepts, all
  of it from the sun. Meanwhile it reads every `taper_read_interval_s` while the
  surplus is below the minimum power (a shadow then makes the grid pay until the
  next reading, so each costs at most the car's draw for one interval), and goes
  back to exclusive-PV at the first reading whose surplus no longer covers the car.
  While the car tapers below the minimum it reads every
  `taper_watch_read_interval_s` otherwise, to see the surplus come into reach. A
  full car (no draw though offered the minimum) ends it. On by default: on
  real-2017 it won more solar than the grid it cost (benchmarks/policy_results.md).
A *price limit* (`price_limit_eur_per_kwh`, evcc's "smart cost limit"; off by default)
lets the grid in while it is cheap: while the import price in force (the site's prices,
`PolicyContext.import_eur_per_kwh`) is at or below the limit, a plugged-in car charges
at the maximum current in maximum-power mode, sun and grid alike (the limits still cut
it: fuse, grid import allowed); above the limit, or with no price known, the policy
does exactly what it does without one. Prices change on quarter hours at most, so with
a limit the policy asks to decide again at the next quarter hour.

* ``"controller"``: the controller regulates in maximum-power mode: starts when
  the surplus covers the minimum current (plus a threshold) for an enable
  delay, stops when it falls below for a disable delay or when a dip has drawn
  more than a deficit budget from the grid; in between the current is
  floor(surplus / (phases * V)) clamped to the limits. With a steady sky it may
  still hand the regulation to the charger (`handover_max_variability`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import Field

from optimizer.interfaces import Decision, PvForecast, PvMode
from optimizer.policies.base import (
    FOREVER,
    Policy,
    PolicyContext,
    charge_at,
    hand_over,
    pause,
    surplus_current_a,
)
from optimizer.policies.hysteresis import StartStopGate, WindowMinimum
from optimizer.policies.regulation import RegulationParams


class SolarOnlyParams(RegulationParams):
    """Parameters of `solar_only` (`[policy.solar_only]`); the charger's own mode is
    exclusive PV."""

    threshold_w: float = Field(
        default=0.0, ge=0.0, description="Surplus above minimum power to start (W)"
    )
    enable_delay_s: float = Field(
        default=60.0, ge=0.0, description="Surplus must hold this long to start (s)"
    )
    disable_delay_s: float = Field(
        default=300.0, ge=0.0, description="Deficit must last this long to stop (s)"
    )
    deficit_budget_wh: float | None = Field(
        default=50.0,
        ge=0.0,
        description="Grid energy a dip may draw before stopping early (Wh); None: delay only",
    )
    bridge_surplus_ratio: float | None = Field(
        default=None,
        gt=0.0,
        description="(charger regulation) bridge cloud shadows in PV+min mode when the "
        "expected surplus is at least this multiple of the minimum power; None: never",
    )
    bridge_min_variability: float = Field(
        default=0.2, ge=0.0, le=1.0, description="Bridge only when the sky is at least this broken"
    )
    bridge_horizon_s: float = Field(
        default=1800.0, gt=0.0, description="Expected surplus = forecast mean over this (s)"
    )
    bridge_max_deficit_wh: float = Field(
        default=40.0, ge=0.0, description="Stop bridging once a shadow drew this much (Wh)"
    )
    bridge_read_interval_s: float = Field(
        default=120.0, gt=0.0, description="Reads wanted while bridging (s)"
    )
    bridge_cooldown_s: float = Field(
        default=900.0, ge=0.0, description="No new bridge this long after one ended on a deficit"
    )
    bridge_only_below_target: bool = Field(
        default=True,
        description="Bridge only while the session has less than its energy wanted (when known)",
    )
    taper_follow: bool = Field(
        default=True,
        description="(charger regulation) PV+min while the car tapers below the minimum current "
        "and the surplus covers what it draws",
    )
    taper_margin_w: float = Field(
        default=50.0,
        ge=0.0,
        description="Switch to PV+min once the surplus exceeds the tapering car's draw by this (W)",
    )
    taper_read_interval_s: float = Field(
        default=60.0,
        gt=0.0,
        description="Reads wanted in PV+min for the taper while the surplus is below the minimum "
        "power (s): a shadow then makes the grid pay until the next reading",
    )
    taper_watch_read_interval_s: float = Field(
        default=120.0,
        gt=0.0,
        description="Reads wanted otherwise while the car tapers below the minimum (s), to see "
        "the surplus fall into reach of PV+min",
    )
    price_limit_eur_per_kwh: float | None = Field(
        default=None,
        ge=-1.0,
        le=10.0,
        description="Charge from the grid too, at the maximum current, while the import price "
        "is at or below this (EUR/kWh); None: surplus only",
    )


PRICE_STEP_S = 900.0
"""Prices change at most every quarter hour (15-minute day-ahead intervals)."""


ACCEPTANCE_TOLERANCE_A = 0.5
"""A car drawing this much (A) less than the charger offers is limiting the draw itself."""


class CarAcceptance:
    """What the plugged-in car accepts at most (W), learnt from one session's readings.

    A car draws min(offer, what it accepts). A reading with the car drawing clearly
    less than the charger offers (`ACCEPTANCE_TOLERANCE_A`) shows what it accepts;
    near full (the constant-voltage taper) that only falls as the battery fills, so
    the latest such draw bounds what it takes from above until the next reading,
    charging or not. A draw of the whole offer above the bound means the car accepts
    more than thought (it woke up, another car): the bound is forgotten.
    """

    def __init__(self) -> None:
        self.bound_w: float | None = None
        self.full = False

    def reset(self) -> None:
        """Forget the bound (unplug, unknown state)."""
        self.bound_w = None
        self.full = False

    def observe(self, ctx: PolicyContext) -> None:
        """Take in a fresh reading's car power (W) against what was offered.

        No power while the charger surely offered at least the minimum (PV+min or
        maximum-power mode, or exclusive-PV with a surplus above the minimum power;
        started) means the car takes nothing: full. (Exclusive-PV waiting out its
        restart delay looks the same; the next draw clears it.)
        """
        car_w = ctx.car_power_w
        if car_w <= 0.0:
            if _surely_offered(ctx):
                self.full = True
            return  # otherwise paused or stopped by exclusive-PV: nothing learnt
        self.full = False
        limits = ctx.limits
        if car_w < offered_w(ctx) - ACCEPTANCE_TOLERANCE_A * limits.watts_per_amp:
            self.bound_w = car_w
        elif self.bound_w is not None and car_w > self.bound_w:
            self.bound_w = None

    def below_minimum(self, ctx: PolicyContext) -> bool:
        """Whether the car is known to accept less than the charger's minimum current."""
        bound = self.bound_w
        limits = ctx.limits
        return (
            not self.full
            and bound is not None
            and bound < limits.min_power_w - ACCEPTANCE_TOLERANCE_A * limits.watts_per_amp
        )


def _surely_offered(ctx: PolicyContext) -> bool:
    """Whether the charger offered the car at least the minimum current at the reading."""
    c = ctx.commanded
    if c.charging is not True or c.pv_mode is None:
        return False
    if c.pv_mode is not PvMode.EXCLUSIVE_PV:
        return True
    limits = ctx.limits
    margin_w = ACCEPTANCE_TOLERANCE_A * limits.watts_per_amp
    return ctx.surplus_w is not None and ctx.surplus_w >= limits.min_power_w + margin_w


def offered_w(ctx: PolicyContext) -> float:
    """What the charger offered the car at the reading in `ctx` (W), as commanded.

    Maximum-power mode offers the setpoint; the PV modes floor(surplus / (phases * V))
    whole amps, at least the minimum, at most the setpoint. Unknown mode: the minimum,
    which every charging offer reaches.
    """
    limits = ctx.limits
    c = ctx.commanded
    cap = limits.max_current_a if c.current_a is None else min(c.current_a, limits.max_current_a)
    if c.pv_mode is PvMode.MAX_POWER:
        amps = cap
    elif c.pv_mode is None or ctx.surplus_w is None:
        amps = limits.min_current_a
    else:
        amps = min(max(surplus_current_a(ctx, ctx.surplus_w), limits.min_current_a), cap)
    return limits.power_w(amps)


class SolarOnlyPolicy(Policy):
    """Charge only from surplus: the charger's own PV modes plus forecast-led bridging,
    or the controller's own regulation with hysteresis and smoothing."""

    budget_handover_mode: PvMode | None = PvMode.EXCLUSIVE_PV

    def __init__(self, params: SolarOnlyParams | None = None, *, name: str = "solar_only") -> None:
        self.params = params or SolarOnlyParams()
        self._name = name
        p = self.params
        self.gate = StartStopGate(p.enable_delay_s, p.disable_delay_s, p.deficit_budget_wh)
        self._window = WindowMinimum(p.current_window_s)
        self._handed_over = False
        self._bridging = False
        self._bridge_deficit_wh = 0.0
        self._last_fresh: datetime | None = None
        self._no_bridge_until: datetime | None = None
        self.acceptance = CarAcceptance()
        self._tapering = False
        self._read_surplus_w: float | None = None
        self._cheap = False
        self._bridge_horizon = timedelta(seconds=p.bridge_horizon_s)
        self._mean_pv: tuple[PvForecast, tuple[int, int], float | None] | None = None
        """The last forecast window's mean PV (W) per forecast and window (`expected_surplus_w`)."""

    @property
    def name(self) -> str:
        return self._name

    @property
    def bridging(self) -> bool:
        """Whether the charger is in PV+min mode to bridge cloud shadows."""
        return self._bridging

    @property
    def following_taper(self) -> bool:
        """Whether the charger is in PV+min mode for a car tapering below the minimum."""
        return self._tapering

    def preferred_read_interval_s(self, ctx: PolicyContext) -> float | None:
        """Few reads while the charger regulates itself, more while bridging or following
        the taper; else no hint."""
        if self._bridging:
            return self.params.bridge_read_interval_s
        p = self.params
        if self._tapering:
            read_w = self._read_surplus_w  # not ctx's: the hint must hold between readings
            if read_w is None or read_w < ctx.limits.min_power_w:
                return p.taper_read_interval_s
            return p.taper_watch_read_interval_s
        if p.taper_follow and ctx.plugged_in is True and self.acceptance.below_minimum(ctx):
            return p.taper_watch_read_interval_s
        return self.params.handover_read_interval_s if self._handed_over else None

    def next_decision_at(self, ctx: PolicyContext) -> datetime | None:
        """`FOREVER` where only a reading can change the decision, else None (see
        `Policy.next_decision_at`): without a car the charger waits in exclusive-PV mode, and in
        charger regulation without bridging the mode (exclusive-PV, or PV+min while
        following the taper) changes only on a fresh reading; the controller's own
        regulation and bridging follow the clock (delays, forecast windows)."""
        if ctx.plugged_in is not True or ctx.surplus_w is None:
            return FOREVER
        p = self.params
        if p.price_limit_eur_per_kwh is not None:
            return next_price_step(ctx.now)
        if p.regulation == "charger" and p.bridge_surplus_ratio is None:
            return FOREVER
        return None

    def decide(self, ctx: PolicyContext) -> Decision:
        """Desired state for the surplus in `ctx` (see the module docstring)."""
        if ctx.plugged_in is not True or ctx.surplus_w is None:
            self._handed_over = False
            self._end_bridge(ctx, cooldown=False)
            self._tapering = False
            self.acceptance.reset()
            self.gate.reset()
            self._window.clear()
            self._cheap = False
            return hand_over(
                ctx,
                self.name,
                PvMode.EXCLUSIVE_PV,
                "no car (or state unknown): charger waits in exclusive-PV mode so an arriving "
                "car starts from the sun without a call",
            )
        if self._grid_is_cheap(ctx):
            return self.charge_cheap(ctx)
        if self.params.regulation == "charger":
            self._handed_over = True
            return self.follow_by_charger(ctx, ctx.surplus_w)
        if self._steady_sky(ctx):
            if not self._handed_over:
                self._handed_over = True
            return hand_over(
                ctx,
                self.name,
                PvMode.EXCLUSIVE_PV,
                f"steady sky (variability {ctx.variability:.2f}): the charger's exclusive-PV mode "
                "follows the sun at no call cost, reading rarely",
            )
        if self._handed_over:
            # Coming back from the charger's own regulation: continue from what it did.
            self._handed_over = False
            self.gate.reset(on=ctx.charging)
            self._window.clear()
        return self.follow_surplus(ctx, ctx.surplus_w)

    # ----- the price limit ------------------------------------------------------------

    def _grid_is_cheap(self, ctx: PolicyContext) -> bool:
        """Whether the import price is known and at or below the limit; leaving the cheap
        spell starts the surplus regulation afresh from what the charger is doing."""
        limit = self.params.price_limit_eur_per_kwh
        price = ctx.import_eur_per_kwh
        cheap = limit is not None and price is not None and price <= limit
        if self._cheap and not cheap:
            self._handed_over = False
            self.gate.reset(on=ctx.charging)
            self._window.clear()
        self._cheap = cheap
        return cheap

    def charge_cheap(self, ctx: PolicyContext) -> Decision:
        """Maximum current from sun and grid while the import price is within the limit."""
        self._end_bridge(ctx, cooldown=False)
        self._tapering = False
        amps = ctx.limits.max_current_a
        return charge_at(
            ctx,
            self.name,
            amps,
            f"import price {ctx.import_eur_per_kwh:.4f} EUR/kWh is at or below the limit "
            f"{self.params.price_limit_eur_per_kwh:.4f}: charging at {amps} A from sun and grid",
        )

    # ----- regulation by the charger ---------------------------------------------------

    def follow_by_charger(self, ctx: PolicyContext, surplus_w: float) -> Decision:
        """Exclusive-PV mode, or PV+min while bridging broken clouds or following a
        tapering car (see the module doc)."""
        min_w = ctx.limits.min_power_w
        self._track_deficit(ctx, surplus_w, min_w)
        if ctx.fresh:
            self.acceptance.observe(ctx)
            self._read_surplus_w = surplus_w
        expected_w = self.expected_surplus_w(ctx)
        why_not = self._bridge_blocker(ctx, expected_w, min_w)
        if self._bridging and why_not is not None:
            self._end_bridge(ctx, cooldown=why_not.startswith("a shadow"))
        elif not self._bridging and why_not is None:
            self._bridging = True
            self._bridge_deficit_wh = 0.0
        if self._bridging:
            self._tapering = False
            return hand_over(
                ctx,
                self.name,
                PvMode.PV_MIN,
                f"broken clouds (variability {ctx.variability or 0.0:.2f}) over an expected "
                f"{expected_w or 0.0:.0f} W surplus: PV+min keeps charging through shadows "
                f"(grid drawn so far {self._bridge_deficit_wh:.0f} Wh)",
                expected_surplus_w=expected_w,
                bridge_deficit_wh=self._bridge_deficit_wh,
            )
        taper_why_not = self._update_taper(ctx, surplus_w)
        if self._tapering:
            return hand_over(
                ctx,
                self.name,
                PvMode.PV_MIN,
                f"the car tapers to {self.acceptance.bound_w or 0.0:.0f} W, below the minimum "
                f"power, and the {surplus_w:.0f} W surplus covers it: PV+min offers the minimum, "
                "the car takes what it accepts, all from the sun",
                car_accepts_w=self.acceptance.bound_w,
            )
        return hand_over(
            ctx,
            self.name,
            PvMode.EXCLUSIVE_PV,
            f"the charger's exclusive-PV mode follows the {surplus_w:.0f} W surplus by itself at "
            f"no call cost ({why_not}; {taper_why_not})",
            expected_surplus_w=expected_w,
        )

    def _update_taper(self, ctx: PolicyContext, surplus_w: float) -> str:
        """Enter or leave taper following on a fresh reading; why not following (a phrase).

        Between readings the state holds: the surplus then is only an extrapolation.
        """
        if not ctx.fresh:
            return "following the taper" if self._tapering else "no fresh reading"
        why_not = self._taper_blocker(ctx, surplus_w)
        self._tapering = why_not is None
        return why_not or "following the taper"

    def _taper_blocker(self, ctx: PolicyContext, surplus_w: float) -> str | None:
        """Why not to follow the taper in PV+min now (a short phrase), None to follow it."""
        p = self.params
        if not p.taper_follow:
            return "taper following off"
        if self.acceptance.full:
            return "the car is full"
        if not self.acceptance.below_minimum(ctx):
            return "the car takes at least the minimum current"
        if ctx.budget_nearly_out:
            return "call budget nearly out"
        if self._tapering and ctx.car_power_w > max(surplus_w, 0.0):
            return f"the grid paid part of the car's {ctx.car_power_w:.0f} W: back to exclusive PV"
        # Enter with a margin over the car's draw, stay while the surplus covers it.
        need_w = (self.acceptance.bound_w or 0.0) + (0.0 if self._tapering else p.taper_margin_w)
        if surplus_w < need_w:
            return f"surplus {surplus_w:.0f} W below the {need_w:.0f} W the tapering car needs"
        return None

    def expected_surplus_w(self, ctx: PolicyContext) -> float | None:
        """Mean forecast PV minus the household over the bridge horizon (W), None if unknown."""
        fc = ctx.forecast
        if fc is None or ctx.household_w is None:
            return None
        i0 = fc.index_at(ctx.now)
        i1 = max(fc.index_at(ctx.now + self._bridge_horizon), i0 + 1)
        cached = self._mean_pv
        if cached is not None and cached[0] is fc and cached[1] == (i0, i1):
            mean_w = cached[2]
        else:  # a new forecast or forecast step: the mean as np.mean computes it
            window = fc.central_w[i0:i1]
            mean_w = float(window.sum()) / window.shape[0] if window.shape[0] else None
            self._mean_pv = (fc, (i0, i1), mean_w)
        return None if mean_w is None else mean_w - ctx.household_w

    def _bridge_blocker(
        self, ctx: PolicyContext, expected_w: float | None, min_w: float
    ) -> str | None:
        """Why not to bridge now (a short phrase), None when bridging is worth it."""
        p = self.params
        if p.bridge_surplus_ratio is None:
            return "bridging off"
        if self._bridging and self._bridge_deficit_wh > p.bridge_max_deficit_wh:
            return f"a shadow drew {self._bridge_deficit_wh:.0f} Wh: stop bridging"
        if ctx.budget_nearly_out:
            return "call budget nearly out"
        if self._no_bridge_until is not None and ctx.now < self._no_bridge_until:
            return "after a long shadow, no bridging for a while"
        if ctx.variability is None or ctx.variability < p.bridge_min_variability:
            return "steady sky, nothing to bridge"
        if expected_w is None or expected_w < p.bridge_surplus_ratio * min_w:
            return "expected surplus too small to bridge"
        if (
            p.bridge_only_below_target
            and ctx.target_wh is not None
            and ctx.session_energy_wh >= ctx.target_wh
        ):
            return "the session has its energy: no grid for bridging"
        return None

    def _track_deficit(self, ctx: PolicyContext, surplus_w: float, min_w: float) -> None:
        """Integrate the grid a bridge draws, from fresh readings only (Wh)."""
        if not ctx.fresh:
            return
        last, self._last_fresh = self._last_fresh, ctx.now
        if not self._bridging:
            return
        if surplus_w >= min_w:
            self._bridge_deficit_wh = 0.0
        elif last is not None:
            dt_h = max((ctx.now - last).total_seconds(), 0.0) / 3600.0
            self._bridge_deficit_wh += (min_w - max(surplus_w, 0.0)) * dt_h

    def _end_bridge(self, ctx: PolicyContext, *, cooldown: bool) -> None:
        if self._bridging and cooldown:
            self._no_bridge_until = ctx.now + timedelta(seconds=self.params.bridge_cooldown_s)
        self._bridging = False
        self._bridge_deficit_wh = 0.0

    # ----- regulation by the controller ------------------------------------------------

    def follow_surplus(self, ctx: PolicyContext, surplus_w: float) -> Decision:
        """Fine regulation by the controller: hysteresis on/off, current from the surplus."""
        limits = ctx.limits
        keep_w = limits.min_power_w
        why = self.gate.update(ctx.now, surplus_w, keep_w + self.params.threshold_w, keep_w)
        smoothed_w = self._window.add(ctx.now, surplus_w)
        if not self.gate.on:
            return pause(ctx, self.name, why)
        amps = limits.clamp_current(surplus_current_a(ctx, smoothed_w))
        return charge_at(
            ctx,
            self.name,
            amps,
            f"{why}; {amps} A from {smoothed_w:.0f} W surplus",
            deficit_wh=self.gate.deficit_wh,
        )

    def _steady_sky(self, ctx: PolicyContext) -> bool:
        return self.params.steady_sky(ctx.variability)


def next_price_step(now: datetime) -> datetime:
    """The next quarter hour after `now` (UTC), when the import price may change."""
    epoch_s = now.timestamp()
    return datetime.fromtimestamp(epoch_s - epoch_s % PRICE_STEP_S + PRICE_STEP_S, tz=UTC)
