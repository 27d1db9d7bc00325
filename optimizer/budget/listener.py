"""The adapters' `CallListener`: every attempted call into the read scheduler and the store.

One listener serves every charger of an account (a cloud client shared by all
chargers, its statistics calls included; the in-process chargers of a
backtest): the scheduler counts the call against the day's quota and learns
the server's count from it, the store keeps it in the call ledger a restart
rebuilds the budget from. The composition root builds it; nothing borrows it
from a controller.
"""

from __future__ import annotations

from optimizer.budget.scheduler import ReadScheduler
from optimizer.interfaces import ApiCall, CallListener, Store


def call_listener(scheduler: ReadScheduler, store: Store) -> CallListener:
    """The listener recording each `ApiCall` into `scheduler` (count, server quota) and `store`."""

    def record(call: ApiCall) -> None:
        scheduler.record_call(call)  # takes in `call.quota` too (see `record_call`)
        store.record_call(call)

    return record
