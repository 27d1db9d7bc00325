"""Build a `Daemon` from the app config and the chargers of one world.

The same function wires the live daemon (cloud chargers, wall clock, SQL
store), the demo (cloud chargers against the HTTP simulator, scaled clock)
and the tests (anything implementing the ports): one `Controller` per
configured charger, one `BudgetPlanner` and one `Store` shared by all, the
planner's ledger restored from the store's calls on start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import time

from optimizer.budget.planner import BudgetPlanner
from optimizer.config import AppConfig
from optimizer.controller import Controller, CycleResult
from optimizer.daemon.core import Daemon, Reconciler
from optimizer.forecast import ClearSkyDays, PvForecaster, in_process
from optimizer.interfaces import CallListener, Charger, Clock, PvMode, Store
from optimizer.policies.registry import build_policy


def build_daemon(
    config: AppConfig,
    chargers: Mapping[str, Charger],
    clock: Clock,
    store: Store,
    *,
    policy: str | None = None,
    safe_mode: PvMode = PvMode.EXCLUSIVE_PV,
    reconciler: Reconciler | None = None,
    reconcile_at: time = time(0, 20),
    on_cycle: Callable[[CycleResult], None] | None = None,
    restore: bool = True,
    clear_sky_days: ClearSkyDays = in_process,
) -> Daemon:
    """One controller per `[[chargers]]` entry, sharing one planner and `store`.

    `chargers` maps each configured device id to its `Charger`; a configured
    charger without one (or an extra one) is a `ValueError`. `policy` overrides
    the configured policy's name. The planner's PV profile is the site's clear
    sky, and with `restore` its ledger is rebuilt from the store's last 48 h.
    Route the adapters' call reports to `ledger_listener(daemon)`.
    `clear_sky_days` runs the clear-sky model (`InChildProcess` keeps pvlib and
    pandas out of a long-running daemon); the planner shares the forecaster's days.
    """
    configured = [c.device_id for c in config.chargers]
    missing = [d for d in configured if d not in chargers]
    extra = [d for d in chargers if d not in configured]
    if missing or extra:
        raise ValueError(
            f"chargers do not match the config: missing {missing or '-'}, unknown {extra or '-'}"
        )
    # h-memory: the clear-sky strategy, one cache shared by the forecaster and the planner.
    forecaster = PvForecaster(config.site, clear_sky_days=clear_sky_days)
    clear_sky = forecaster.clear_sky
    planner = BudgetPlanner(
        config.budget,
        devices=len(configured),
        pv_profile=lambda t: clear_sky.power_at_or_dark(t.timestamp()),
    )
    controllers = [
        Controller(
            chargers[c.device_id],
            clock,
            store,
            forecaster,
            build_policy(config.policy, policy, config.tariff),
            planner,
            c.limits,
            settings=config.controller,
            timezone=config.site.tz,
            tariff=config.tariff,
        )
        for c in config.chargers
    ]
    daemon = Daemon(
        controllers,
        planner,
        store,
        clock,
        reconciler=reconciler,
        reconcile_at=reconcile_at,
        safe_mode=safe_mode,
        min_interval_s=config.controller.min_cycle_interval_s,
        on_cycle=on_cycle,
    )
    if restore:
        daemon.restore_budget()
    return daemon


def ledger_listener(daemon: Daemon) -> CallListener:
    """The `CallListener` for the adapters: every attempt into the shared planner and store.

    The same bookkeeping as `Controller.on_call`; one listener serves a client
    shared by all chargers of the account (and its statistics calls).
    """
    return next(iter(daemon.controllers.values())).on_call
