"""What the controller asks of a read scheduler, and what it tells it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from optimizer.budget.ledger import CallLedger
from optimizer.budget.plan import BudgetPlan
from optimizer.interfaces import ApiCall, Quota


@dataclass(frozen=True, slots=True)
class ReadContext:
    """What the controller knows about one charger right now.

    `plugged_in` is None when the charger was never read; `pv_expected_w` is the
    forecast PV power now (W, 0 at night); `variability` 0 for a steady sky,
    rising to 1 with broken clouds; `last_read` the time of the last
    `currentstatecharge` of this charger (tz-aware UTC) or None.
    """

    device_id: str
    plugged_in: bool | None
    charging: bool
    pv_expected_w: float
    variability: float
    last_read: datetime | None


@runtime_checkable
class ReadScheduler(Protocol):
    """Decides when the controller may read and write; the controller knows only this."""

    def record_call(self, call: ApiCall) -> None:
        """Count every attempted call, reads and writes (use as the adapters' CallListener),
        and take in the server's count it carries (`call.quota`), as `observe_quota` does."""
        ...

    def observe_quota(self, quota: Quota, at: datetime) -> None:
        """Take in the server's count; re-plans when it differs from ours."""
        ...

    def read_due(self, now: datetime, ctx: ReadContext) -> bool:
        """Whether to read `ctx.device_id` now (never past the read budget)."""
        ...

    def next_read_at(self, now: datetime, ctx: ReadContext) -> datetime:
        """When the next read of this charger is due (>= now)."""
        ...

    def can_write(self, now: datetime, n: int = 1) -> bool:
        """Whether `n` commands fit in today's quota (the reserve is for these)."""
        ...

    def nearly_out(self, now: datetime) -> bool:
        """True when the policy should hand the charger to its own exclusive-PV mode."""
        ...

    def remaining(self, now: datetime) -> int:
        """Calls left in the quota day (0 while blocked by a 429)."""
        ...

    def spent(self, now: datetime) -> int:
        """Calls spent in the quota day."""
        ...

    def steady_until(self, now: datetime, ctx: ReadContext, dark_until: datetime) -> datetime:
        """Until when `read_due` stays False and `next_read_at` keeps its answer (>= now).

        Lets a controller whose policy's decision cannot change sleep past its routine
        check-ins without changing a single read. Assumes no call is made meanwhile and
        this charger's contexts keep `ctx`'s plug state, last read and charging flag,
        with no expected PV before `dark_until`. `now` means "no promise": the default,
        for a scheduler that cannot tell.
        """
        return now

    def check_ins_shared(self) -> bool:
        """Whether this charger's check-ins move other chargers' read plans.

        A scheduler that plans several chargers' reads from what each last told it (the
        context passed at every `next_read_at` and `read_due`) answers True: a charger
        must then check in as usual even where its policy's read hint refuses every read
        (the controller's `WakePlanner`). True by default: a scheduler that cannot tell.
        """
        return True


class LedgeredScheduler(ReadScheduler, Protocol):
    """A `ReadScheduler` that keeps the account's call ledger.

    The daemon closes quota days by the ledger's window, which starts at the
    configured boundary and follows what `RateLimit-Reset` teaches it.
    """

    @property
    def ledger(self) -> CallLedger:
        """The call ledger (read-only use: windows, server count, calls of the day)."""
        ...

    def restore(self, calls: Iterable[ApiCall], now: datetime) -> None:
        """Rebuild the ledger after a restart from the stored calls (ideally the last 48 h).

        By default nothing: a scheduler that plans no budget starts each run afresh.
        """
        return None

    def reads_left(self, now: datetime) -> int:
        """Calls a read may use now; by default all that remain (no reserve for commands)."""
        return self.remaining(now)

    def day_plan(self, now: datetime) -> BudgetPlan | None:
        """The rest of the quota day of `now` as planned (for the status and `/api/plan`).

        By default None: a scheduler that reads on a fixed rhythm makes no plan.
        """
        return None
