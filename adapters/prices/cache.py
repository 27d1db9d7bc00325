"""`DiskPriceCache`: one JSON file per provider and local day, under a directory.

`<dir>/<provider>/<YYYY-MM-DD>.json` holds `{"source", "interval_s", "starts"
(ISO 8601 UTC), "imports", "exports"}` in EUR/kWh, exactly what the provider
said (the retail formula is applied on the way out). A file that cannot be
read or does not form a series is ignored (fetched again); a disk that
cannot be written is logged once and the prices stay in memory.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.json_files import JsonFileWriter
from optimizer.prices.feed import PriceCache
from optimizer.prices.series import PriceSeries, PriceSeriesError

log = logging.getLogger(__name__)


def series_to_json(series: PriceSeries) -> dict[str, Any]:
    """A series as plain JSON data."""
    return {
        "source": series.source,
        "interval_s": series.interval.total_seconds(),
        "starts": [s.isoformat() for s in series.starts],
        "imports": list(series.imports),
        "exports": None if series.exports is None else list(series.exports),
    }


def series_from_json(data: dict[str, Any]) -> PriceSeries:
    """The series `series_to_json` wrote; ValueError/KeyError/TypeError if it is not one."""
    return PriceSeries.from_slots(
        [datetime.fromisoformat(s) for s in data["starts"]],
        data["imports"],
        data["exports"],
        interval=timedelta(seconds=float(data["interval_s"])),
        source=str(data["source"]),
    )


class DiskPriceCache(PriceCache):
    """Whole days of prices on disk, one file each."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).expanduser()
        self._writer = JsonFileWriter("prices")

    def path(self, provider: str, day: date) -> Path:
        """Where `provider`'s prices of `day` are kept."""
        return self.directory / provider / f"{day.isoformat()}.json"

    def load(self, provider: str, day: date) -> PriceSeries | None:
        path = self.path(provider, day)
        try:
            return series_from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, PriceSeriesError) as exc:
            log.warning("prices: ignoring unreadable cache file %s (%s)", path, exc)
            return None

    def save(self, provider: str, day: date, series: PriceSeries) -> None:
        self._writer.write(self.path(provider, day), series_to_json(series))
