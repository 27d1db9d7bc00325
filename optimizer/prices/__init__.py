"""Prices as inputs: what grid energy costs and earns, interval by interval.

`PriceSeries` (EUR/kWh, UTC intervals), the `PriceSource` port, the
`RetailFormula`, static tariffs (flat, time of use with holiday calendars,
Spain's 2.0TD, day/night) and the `PriceFeed` that decides when to fetch a
provider's day-ahead prices and keeps the last known ones through an outage.
Providers (ESIOS, ENTSO-E, aWATTar, Tibber, Nord Pool, files, JSON URLs) are
adapters in `adapters/prices/`.
"""

from optimizer.prices.port import PriceSource, PriceSourceError
from optimizer.prices.retail import RetailFormula, eur_per_mwh_to_kwh
from optimizer.prices.series import PriceSeries, PriceSeriesError, PriceSlot, concat

__all__ = [
    "PriceSeries",
    "PriceSeriesError",
    "PriceSlot",
    "PriceSource",
    "PriceSourceError",
    "RetailFormula",
    "concat",
    "eur_per_mwh_to_kwh",
]
