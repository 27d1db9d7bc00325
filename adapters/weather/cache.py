"""`DiskWeatherCache`: a provider's last forecast and call times, one JSON file per provider.

`<dir>/<provider>.json` holds `{"calls": [epoch s...], "series": {"source", "issued_s",
"times_s", "central_w", "pessimistic_w"} | null}`. An unreadable file is ignored (one
log line); a disk that cannot be written is logged once and the forecast stays in memory.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from adapters.json_files import JsonFileWriter
from optimizer.forecast.weather import WeatherCache, WeatherSeries

log = logging.getLogger(__name__)


def _series_to_json(series: WeatherSeries) -> dict[str, Any]:
    low = series.pessimistic_w
    return {
        "source": series.source,
        "issued_s": series.issued_s,
        "times_s": series.times_s.tolist(),
        "central_w": series.central_w.tolist(),
        "pessimistic_w": None if low is None else low.tolist(),
    }


def _series_from_json(data: dict[str, Any]) -> WeatherSeries:
    low = data["pessimistic_w"]
    return WeatherSeries(
        source=str(data["source"]),
        issued_s=float(data["issued_s"]),
        times_s=np.asarray(data["times_s"], dtype=np.float64),
        central_w=np.asarray(data["central_w"], dtype=np.float64),
        pessimistic_w=None if low is None else np.asarray(low, dtype=np.float64),
    )


class DiskWeatherCache(WeatherCache):
    """One file per provider under `directory` (`~` expanded)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).expanduser()
        self._writer = JsonFileWriter("weather forecasts")

    def path(self, provider: str) -> Path:
        """Where `provider`'s forecast and calls are kept."""
        return self.directory / f"{provider}.json"

    def load(self, provider: str) -> tuple[WeatherSeries | None, list[float]]:
        path = self.path(provider)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            calls = [float(t) for t in data["calls"]]
            raw = data["series"]
            return (None if raw is None else _series_from_json(raw)), calls
        except FileNotFoundError:
            return None, []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("weather: ignoring unreadable cache file %s (%s)", path, exc)
            return None, []

    def save(self, provider: str, series: WeatherSeries | None, calls: Iterable[float]) -> None:
        data = {"calls": list(calls), "series": None if series is None else _series_to_json(series)}
        self._writer.write(self.path(provider), data)
