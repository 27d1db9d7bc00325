"""The 2017 day-ahead prices of the German-Austrian zone, shipped with the package.

`data/day_ahead_de_at_2017.csv`: hourly EPEX day-ahead prices of DE-AT-LU for
2017 (EUR/MWh), Source: Energinet (Energi Data Service, "Elspot prices", area
DE), CC BY 4.0; see `data/README.md`. Read through the validated price-file
reader, so a damaged copy fails with the file and row.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from adapters.prices.csv_file import read_price_csv
from optimizer.prices.series import PriceSeries

DE_AT_2017_CSV = Path(__file__).parent / "data" / "day_ahead_de_at_2017.csv"
ATTRIBUTION = "Source: Energinet (Energi Data Service, Elspot prices, area DE), CC BY 4.0"


@lru_cache(maxsize=1)
def day_ahead_de_at_2017() -> PriceSeries:
    """Every hour of 2017: the DE-AT-LU day-ahead spot price (EUR/kWh), UTC."""
    series = read_price_csv(DE_AT_2017_CSV)
    return PriceSeries.from_slots(
        series.starts, series.imports, interval=series.interval, source=ATTRIBUTION
    )
