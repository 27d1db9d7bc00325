"""The import price in force (EUR/kWh): what each decision sees and records.

Read from the site's `PriceSource` as it stands: at home that is the price feed's
memory, filled by the daemon's background refresh (`optimizer.prices.feed`), so a
cycle never waits on a provider; in a backtest the replayed price column. The
interval found is kept and reused until the clock leaves it (one lookup per price
interval, not per cycle); an unknown price is asked again next cycle, since the
refresh may have brought it meanwhile.
"""

from __future__ import annotations

from datetime import datetime

from optimizer.prices.port import PriceSource, PriceSourceError
from optimizer.prices.series import PriceSlot


class ImportPrice:
    """The import price at the clock's time, from `source` (None: no prices at all)."""

    def __init__(self, source: PriceSource | None) -> None:
        self.source = source
        self._slot: PriceSlot | None = None

    def at(self, now: datetime) -> float | None:
        """The import price in force at `now` (EUR/kWh), None when none is known."""
        slot = self._slot
        if slot is not None and slot.start <= now < slot.end:
            return slot.import_eur_per_kwh
        if self.source is None:
            return None
        try:
            slot = self.source.slot_at(now)
        except PriceSourceError:  # a source that may fetch: never stop a decision for it
            slot = None
        self._slot = slot
        return None if slot is None else slot.import_eur_per_kwh
