"""Build a `Daemon` from a wired site (`optimizer.composition.build_site`).

The live daemon, the demo, the backtest and the tests all schedule the same
thing: the site's controllers, its one read scheduler and its one store, the
scheduler's ledger restored from the store's calls on start.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import time

from optimizer.composition import SiteParts
from optimizer.controller import CycleResult
from optimizer.daemon.core import Daemon, Reconciler
from optimizer.interfaces import PvMode
from optimizer.status.board import StatusBoard
from optimizer.status.control import SiteControl


def build_daemon(
    site: SiteParts,
    *,
    safe_mode: PvMode = PvMode.EXCLUSIVE_PV,
    reconciler: Reconciler | None = None,
    reconcile_at: time = time(0, 20),
    on_cycle: Callable[[CycleResult], None] | None = None,
    restore: bool = True,
    board: StatusBoard | None = None,
    control: SiteControl | None = None,
    target_poll_s: float | None = None,
) -> Daemon:
    """The daemon scheduling `site`'s controllers; with `restore` the budget's ledger
    is rebuilt from the store's last 48 h, the sessions left open go on (no-ops on an
    empty store) and the policy chosen from home before a restart is restored (while
    the configured one is the same).

    With a `board` the daemon publishes its status there (a first one at once);
    `control` (default: the daemon's own) is how other threads steer it; a switch
    builds the policy through the composition root (`site.make_policy`). The site's
    `jobs` (price and weather refreshes) run beside the cycles. With `target_poll_s`
    it looks that often for targets another process wrote (`optimizer.daemon.targets`;
    `run` and `demo`, not the backtest).
    """
    daemon = Daemon(
        site.controllers,
        site.scheduler,
        site.store,
        site.clock,
        reconciler=reconciler,
        reconcile_at=reconcile_at,
        safe_mode=safe_mode,
        min_interval_s=site.config.controller.min_cycle_interval_s,
        on_cycle=on_cycle,
        board=board,
        control=control,
        make_policy=site.make_policy,
        charger_names={c.device_id: c.name for c in site.config.chargers},
        background=site.jobs,
        target_poll_s=target_poll_s,
    )
    if restore:
        daemon.restore_budget()
        daemon.restore_policy()
        daemon.restore_sessions()
    daemon.publish_status()
    return daemon
